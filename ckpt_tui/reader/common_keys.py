"""The common top-level keys of checkpoints written outside Lightning, as plain data.

Training scripts other than Lightning save a plain dict with a few well-known keys:

* PyTorch's ImageNet example: ``epoch``, ``arch``, ``state_dict``, ``best_acc1`` (older forks:
  ``best_prec1``), ``optimizer``, ``scheduler``;
* timm's ``CheckpointSaver``: ``epoch``, ``arch``, ``state_dict``, ``optimizer``, ``version``,
  ``args`` (an ``argparse.Namespace``), ``metric``;
* mmcv / mmengine: ``meta`` (``epoch``, ``iter``, ``hook_msgs``, ``config`` / ``cfg``,
  ``mmcv_version``, ``time``, ...), ``state_dict``, ``optimizer``; mmengine's ``message_hub``
  (``runtime_info.best_score``, ``best_ckpt``).

Here they are only copied out as plain data (bounded); what they mean is decided by the
checkpoint tier (:mod:`ckpt_tui.sources.known_keys`). Nothing is called or imported.
"""

from __future__ import annotations

from typing import Any

from ckpt_tui.model.entry import Issue
from ckpt_tui.reader.unpickle.plain import ScalarReader, TooComplex, to_plain

COMMON_KEYS: tuple[str, ...] = (
    "epoch",
    "arch",
    "best_acc1",
    "best_prec1",
    "metric",
    "version",
    "args",
    "meta",
    "message_hub",
)
"""The top-level keys copied into :attr:`CheckpointInspection.common_keys`."""

_MAX_DEPTH = 12
_MAX_NODES = 20_000
_MAX_CHARS = 1024 * 1024  # a config text stays readable, a string shared many times not


def read_common_keys(
    root: dict[Any, Any], scalar: ScalarReader | None, issues: list[Issue]
) -> dict[str, Any]:
    """The :data:`COMMON_KEYS` present in ``root``, each as plain data (one-element tensors as
    their value, a ``Namespace`` as a dict, long strings cut); a value too large or too deep to
    walk is left out with a warning."""
    found: dict[str, Any] = {}
    for key in COMMON_KEYS:
        if key not in root:
            continue
        value = root[key]
        if key == "message_hub":
            # Only its runtime_info says anything here; its logged scalars can be long.
            inner = value.get("runtime_info") if isinstance(value, dict) else None
            value = {"runtime_info": inner}
        try:
            value = to_plain(
                value, scalar, max_depth=_MAX_DEPTH, max_nodes=_MAX_NODES, max_chars=_MAX_CHARS
            )
        except TooComplex as exc:
            issues.append(
                Issue(severity="warning", code="checkpoint.too-complex", message=f"{key}: {exc}")
            )
            continue
        found[key] = value
    return found
