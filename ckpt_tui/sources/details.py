"""The reader's findings as small plain data for ``entry.details``, ``show`` and the detail pane.

The details travel with the entry into the cache, so they stay small: a state-dict summary (not
every key), the ModelCheckpoint state, the unsafe globals, and the hyper-parameters only when they
are modest in size (``show`` always reads them afresh from the file).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ckpt_tui.reader import CheckpointInspection, inspect_checkpoint
from ckpt_tui.sources.known_keys import known_key_details

MAX_CACHED_HPARAMS_BYTES = 16 * 1024
"""Hyper-parameters bigger than this (as JSON) are left out of cached details."""
_TOP_MODULES = 12


_WRAPPERS = frozenset({"model", "module", "net", "_orig_mod"})


def top_level_module(key: str) -> str:
    """The module a state-dict key belongs to, for per-module parameter counts:
    ``encoder.layer1.0.weight`` → ``encoder``; ``model.encoder.x`` → ``model.encoder`` (one level
    below a generic ``model.`` wrapper)."""
    parts = key.split(".")
    depth = 2 if parts[0] in _WRAPPERS and len(parts) > 2 else 1
    return ".".join(parts[:depth])


def state_dict_summary(inspection: CheckpointInspection) -> dict[str, Any] | None:
    """Parameter count, bytes, dtypes and top-level modules of the weights; ``None`` if none."""
    if not inspection.tensors:
        return None
    dtypes = Counter(info.dtype for info in inspection.tensors.values())
    modules: Counter[str] = Counter()
    for key, info in inspection.tensors.items():
        modules[top_level_module(key)] += info.numel
    return {
        "weights_key": inspection.weights_key,
        "tensors": len(inspection.tensors),
        "parameter_count": inspection.parameter_count,
        "tensor_bytes": inspection.tensor_bytes,
        "dtypes": dict(dtypes.most_common()),
        "top_level_modules": dict(modules.most_common(_TOP_MODULES)),
    }


def inspection_details(
    inspection: CheckpointInspection, *, hparams_limit: int | None = MAX_CACHED_HPARAMS_BYTES
) -> dict[str, Any]:
    """Everything worth showing about one inspected file, as JSON-compatible data."""
    details: dict[str, Any] = {"format": inspection.format}
    if inspection.lightning_version:
        details["lightning_version"] = inspection.lightning_version
    summary = state_dict_summary(inspection)
    if summary is not None:
        details["state_dict"] = summary
    for name in ("hyper_parameters", "datamodule_hyper_parameters"):
        value = getattr(inspection, name)
        if value is None:
            continue
        size = _json_size(value) if hparams_limit is not None else 0
        if hparams_limit is not None and size > hparams_limit:
            details[name] = {"(too large to keep)": f"{size:,} bytes: see ckpt-tui show"}
        else:
            details[name] = json.loads(json.dumps(value, default=repr))
    if inspection.checkpoint_callbacks:
        details["model_checkpoint"] = [
            {
                "monitor": state.monitor,
                "mode": state.mode,
                "current_score": state.current_score,
                "best_model_score": state.best_model_score,
                "best_k_models": state.best_k_models,
                "best_model_path": state.best_model_path,
                "last_model_path": state.last_model_path,
            }
            for state in inspection.checkpoint_callbacks
        ]
    if inspection.cleval_metrics:
        details["cleval_metrics"] = json.loads(json.dumps(inspection.cleval_metrics, default=repr))
    if inspection.optimizer:
        details["optimizer"] = {"type": inspection.optimizer, "lr": inspection.learning_rate}
    if inspection.safetensors_metadata:
        details["safetensors_metadata"] = dict(inspection.safetensors_metadata)
    if inspection.unsafe_globals:
        details["unsafe_globals"] = list(inspection.unsafe_globals)
    if inspection.archive_extra:
        details["archive_extra"] = json.loads(json.dumps(inspection.archive_extra, default=repr))
    if inspection.archive_contents:
        details["archive_contents"] = inspection.archive_contents
    details.update(known_key_details(inspection))
    return details


def _json_size(value: Any) -> int:
    """The length of ``value`` as JSON, counted piece by piece: only what is kept is written
    out whole (a value shares one string many times, or its JSON would be that many copies)."""
    return sum(len(chunk) for chunk in json.JSONEncoder(default=repr).iterencode(value))


def checkpoint_details(path: Path) -> dict[str, Any]:
    """Inspect ``path`` with the safe reader and return all its details (nothing left out)."""
    return inspection_details(inspect_checkpoint(path), hparams_limit=None)
