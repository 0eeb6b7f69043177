"""The checkpoint tier: what the file itself says, read by the safe reader.

This is the slow tier; the catalog runs it on a bounded thread pool, only for entries without a
valid sidecar. :func:`ckpt_tui.reader.inspect_checkpoint` reads the file without running
anything in it (no torch, no pickle), and :func:`ckpt_tui.sources.statedict.infer_model_from_shapes`
names the model from the state dict's shapes; :func:`tier_from_inspection` turns both into a tier
result. The checkpoint's ``hyper_parameters`` count as a config (provenance
``checkpoint hyper_parameters <key path>``).
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ckpt_tui.model.entry import Issue
from ckpt_tui.model.placeholders import known
from ckpt_tui.sources.config import HPARAMS_LABEL, read_config_fields
from ckpt_tui.sources.known_keys import put_known_keys
from ckpt_tui.sources.merge import TierResult, canonical_metric

CheckpointTier = Callable[[str], TierResult]
"""A checkpoint tier: the path of a checkpoint → what it says about itself. The catalog's build
takes one (default :func:`checkpoint_tier`), so a caller can choose how files are read."""


def checkpoint_tier(path: str | Path, *, details: bool = True) -> TierResult:
    """What the checkpoint file at ``path`` says about itself. Never raises for a bad file.

    ``details=False`` leaves out what only a person reads (format, state-dict summary, a copy of
    the hyper-parameters, the ModelCheckpoint state: :func:`inspection_details`); ``convert``
    writes sidecars from the fields alone.
    """
    if os.path.isdir(path):  # a folder checkpoint (Trainer, sharded, DCP, DeepSpeed)
        from ckpt_tui.sources.folder import folder_tier

        return folder_tier(os.fspath(path), details=details)
    # Imported here: the reader is only needed by builds that inspect checkpoints.
    from ckpt_tui.reader import inspect_checkpoint
    from ckpt_tui.sources.statedict import infer_model_from_shapes

    inspection = inspect_checkpoint(Path(path))
    guess = None
    if inspection.tensors:
        guess = infer_model_from_shapes({k: t.shape for k, t in inspection.tensors.items()})
    return tier_from_inspection(inspection, guess, details=details)


def checkpoint_tier_or_issue(path: str, tier: CheckpointTier | None = None) -> TierResult:
    """``tier(path)`` (default :func:`checkpoint_tier`), an unexpected exception turned into an
    error issue."""
    try:
        return (tier or checkpoint_tier)(path)
    except Exception as exc:  # the tier must never raise, but one file must never stop a build
        return TierResult(
            kind="checkpoint",
            values={"safety": "unreadable"},
            provenance={"safety": "the file, read by the safe reader"},
            issues=[
                Issue(
                    severity="error",
                    code="checkpoint.inspect-failed",
                    message=f"reading the checkpoint failed: {type(exc).__name__}: {exc}",
                )
            ],
        )


def tier_from_inspection(inspection: Any, guess: Any = None, *, details: bool = True) -> TierResult:
    """Map the safe reader's ``CheckpointInspection`` (and a state-dict ``ModelGuess``) to a tier.

    Reads ``epoch``, ``global_step``, ``monitor``, ``monitor_mode``, ``monitor_value``,
    ``metrics`` (hmean/precision/recall and any other scalars), ``lightning_version`` and
    ``issues``; ``hyper_parameters`` become a config-kind result (they count as a config, with
    provenance ``checkpoint hyper_parameters <key path>``). The guess (a ``ModelGuess``) gives
    architecture and encoder/decoder/head when the file holds a state dict, with its evidence
    per field as provenance. ``details`` adds :func:`inspection_details` for ``show`` and the
    TUI's detail pane.
    """
    from ckpt_tui.reader import CheckpointInspection

    tier = TierResult(kind="checkpoint")
    put = tier.put
    # The verdict is the file's own: only this tier sets it, so no sidecar can hide it.
    put("safety", getattr(inspection, "safety", None), "the file, read by the safe reader")
    put("unsafe_globals", list(getattr(inspection, "unsafe_globals", [])), "the file's pickles")
    put("format", getattr(inspection, "entry_format", None), "the file's contents")
    extra: dict[str, float] = {}
    # Known writers' keys first: they decide what their epoch means (see sources.known_keys).
    claimed = put_known_keys(tier, inspection, extra)
    if "epoch" not in claimed:
        put("epoch", _int(getattr(inspection, "epoch", None)), "checkpoint epoch")
    if "global_step" not in claimed:
        put("global_step", _int(getattr(inspection, "global_step", None)), "checkpoint global_step")
    where_cb = "checkpoint callbacks ModelCheckpoint"
    put("monitor", known(getattr(inspection, "monitor", None)), f"{where_cb} monitor")
    mode = getattr(inspection, "monitor_mode", None)
    if known(getattr(inspection, "monitor", None)) is None:
        mode = None  # Lightning keeps mode="min" even with no monitor: it says nothing then
    put("monitor_mode", mode if mode in ("min", "max") else None, f"{where_cb} mode")
    put("monitor_value", _float(getattr(inspection, "monitor_value", None)), f"{where_cb} score")
    metrics = getattr(inspection, "metrics", None) or {}
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
        names = ", ".join(sorted(extra))
        put("additional_metrics", dict(sorted(extra.items())), f"checkpoint metrics {names:.200}")
    if guess is not None:
        reasons = getattr(guess, "provenance", None) or {}
        for field_name, attribute in (
            ("architecture", "architecture"),
            ("backbone", "encoder"),
            ("decoder", "decoder"),
            ("head", "head"),
        ):
            reason = reasons.get(attribute) if isinstance(reasons, Mapping) else None
            where = f"checkpoint state_dict: {reason}" if reason else "checkpoint state_dict shapes"
            put(field_name, known(getattr(guess, attribute, None)), where)
    if details and isinstance(inspection, CheckpointInspection):
        from ckpt_tui.sources.details import inspection_details

        tier.details.update(inspection_details(inspection))
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
    return _shortest_float32(number) if math.isfinite(number) else None


def _shortest_float32(number: float) -> float:
    """``0.8652999997138977`` → ``0.8653`` when the value is a float32 widened to float64.

    Lightning stores scores as float32 tensors; their float64 reading carries noise digits that
    a float32 never had. Values that are not exact float32s are returned unchanged.
    """
    try:
        packed = struct.pack("<f", number)
    except OverflowError:
        return number
    if struct.unpack("<f", packed)[0] != number:
        return number
    for digits in range(1, 10):
        candidate = float(f"{number:.{digits}g}")
        if struct.pack("<f", candidate) == packed:
            return candidate
    return number
