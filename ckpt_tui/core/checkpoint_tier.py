"""The checkpoint tier: what the file itself says, read by the safe reader.

This is the slow tier; the catalog runs it on a bounded thread pool, only for entries without a
valid sidecar. Until the safe reader (``ckpt_tui.core.reader``) lands, :func:`checkpoint_tier`
answers "not inspected" as an info issue. Swapping the reader in is a few lines in
:func:`checkpoint_tier`::

    from ckpt_tui.core.reader import inspect_checkpoint
    from ckpt_tui.core.statedict import infer_model_from_shapes
    inspection = inspect_checkpoint(Path(path))
    guess = infer_model_from_shapes(...shapes of inspection.tensors...)
    return tier_from_inspection(inspection, guess)

and a bump of :data:`CHECKPOINT_TIER_VERSION` (the cache also keys on the source of this module).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ckpt_tui.core.configs import HPARAMS_LABEL, read_config_fields
from ckpt_tui.core.entry import Issue
from ckpt_tui.core.merge import TierResult, canonical_metric
from ckpt_tui.core.models import known

CHECKPOINT_TIER_VERSION = "0-not-inspected"
"""Changes whenever what this tier can read changes (part of the cache key)."""

NOT_INSPECTED = Issue(
    severity="info",
    code="checkpoint.not-inspected",
    message="checkpoint not inspected: the safe checkpoint reader is not available yet",
)


def checkpoint_tier(path: str | Path) -> TierResult:
    """What the checkpoint file at ``path`` says about itself. Never raises for a bad file."""
    return TierResult(kind="checkpoint", issues=[NOT_INSPECTED])


def tier_from_inspection(inspection: Any, guess: Any = None) -> TierResult:
    """Map the safe reader's ``CheckpointInspection`` (and a state-dict ``ModelGuess``) to a tier.

    Reads ``epoch``, ``global_step``, ``monitor``, ``monitor_mode``, ``monitor_value``,
    ``metrics`` (hmean/precision/recall and any other scalars), ``lightning_version`` and
    ``issues``; ``hyper_parameters`` become a config-kind result (they count as a config, with
    provenance ``checkpoint hyper_parameters <key path>``). The guess gives architecture and
    encoder/decoder/head when the file holds a state dict.
    """
    tier = TierResult(kind="checkpoint")
    put = tier.put
    put("epoch", _int(getattr(inspection, "epoch", None)), "checkpoint epoch")
    put("global_step", _int(getattr(inspection, "global_step", None)), "checkpoint global_step")
    where_cb = "checkpoint callbacks ModelCheckpoint"
    put("monitor", known(getattr(inspection, "monitor", None)), f"{where_cb} monitor")
    mode = getattr(inspection, "monitor_mode", None)
    put("monitor_mode", mode if mode in ("min", "max") else None, f"{where_cb} mode")
    put("monitor_value", _float(getattr(inspection, "monitor_value", None)), f"{where_cb} score")
    metrics = getattr(inspection, "metrics", None) or {}
    extra: dict[str, float] = {}
    if isinstance(metrics, Mapping):
        for name, raw in metrics.items():
            value = _float(raw)
            if value is None or not isinstance(name, str):
                continue
            field_name = canonical_metric(name)
            if field_name is not None:
                put(field_name, value, f"checkpoint metrics {name}")
            else:
                extra[name] = value
    if extra:
        put("additional_metrics", extra, "checkpoint metrics")
    if guess is not None:
        where = getattr(guess, "provenance", None) or "checkpoint state_dict shapes"
        put("architecture", known(getattr(guess, "architecture", None)), where)
        put("backbone", known(getattr(guess, "encoder", None)), where)
        put("decoder", known(getattr(guess, "decoder", None)), where)
        put("head", known(getattr(guess, "head", None)), where)
    version = getattr(inspection, "lightning_version", None)
    if isinstance(version, str):
        tier.details["lightning_version"] = version
    tier.issues.extend(i for i in getattr(inspection, "issues", None) or [] if isinstance(i, Issue))
    hyper_parameters = getattr(inspection, "hyper_parameters", None)
    if isinstance(hyper_parameters, Mapping):
        tier.extra.append(read_config_fields(hyper_parameters, HPARAMS_LABEL))
    return tier


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
