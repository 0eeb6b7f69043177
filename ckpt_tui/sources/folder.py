"""The checkpoint tier of a folder checkpoint: what its files say, read without running them.

One folder is one checkpoint (:mod:`ckpt_tui.sources.layout`). Its values come from what the
formats record, each with provenance:

- ``trainer_state.json`` (Hugging Face Trainer): ``epoch`` (epochs completed, rounded down),
  ``global_step``, ``max_steps``, ``num_train_epochs``, ``best_metric``,
  ``best_model_checkpoint`` and the eval metrics of ``log_history``;
- ``training_args.bin``: ``metric_for_best_model`` and ``greater_is_better`` (the monitor);
- ``config.json``: ``architectures`` (else ``model_type``) → architecture;
- ``*.index.json``: the shard list (a missing shard is an error);
- safetensors headers (tensors and ``__metadata__``), the pickles of ``.bin``/``.pt`` files;
- DCP ``.metadata``: tensor names, shapes and dtypes;
- DeepSpeed ``latest`` and its model-states file (Lightning's keys when Lightning saved it).

The safety verdict covers every pickle the folder holds (``training_args.bin``, ``optimizer.pt``,
``rng_state.pth``, ``.bin`` shards, DCP ``.metadata``...): each unsafe file gets a SECURITY error
naming it, and ``unsafe_globals`` lists the globals of all of them.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from pathlib import Path
from typing import Any

from ckpt_tui.io.safe_yaml import UnsafeDocumentError, parse_json, read_bounded_text
from ckpt_tui.io.text import plural
from ckpt_tui.model.entry import Issue
from ckpt_tui.sources.folder_files import FolderFiles, list_folder, pickle_note
from ckpt_tui.sources.merge import TierResult

MAX_JSON_BYTES = 8 * 1024 * 1024
"""``trainer_state.json`` and ``config.json`` larger than this are not read."""
MAX_JSON_NODES = 1_000_000
"""Values a JSON file may hold (a long run's ``log_history`` has hundreds of thousands)."""
QUICK_JSON_BYTES = 256 * 1024
"""JSON files larger than this are left out of the quick read (``pickles=False``)."""
MAX_HISTORY = 200
"""Eval points kept in the details (the newest)."""
MAX_FILES_KEPT = 500
"""Files listed in the details (the cache keeps them); the count is always whole."""
MAX_INDEXES_READ = 4
"""``*.index.json`` shard lists read per folder (a sharded save has one, seldom two)."""
_TRAINER_STATE = "trainer_state.json"
_MAX_COUNT = 2**63  # an epoch or step beyond a 64-bit count is no real one


def folder_tier(path: str, *, details: bool = True, pickles: bool = True) -> TierResult:
    """What the folder checkpoint at ``path`` says about itself; never raises for bad files.

    ``pickles=False`` reads only its JSON files (``trainer_state.json``, ``config.json``, the
    shard indexes): as cheap as a sidecar, so the catalog runs it with the fast tiers; it gives
    no verdict (the entry stays ``unchecked`` until the whole tier has run).
    """
    tier = TierResult(kind="checkpoint")
    files = list_folder(path, read_files=pickles)
    if files.kind is None:
        tier.put("safety", "unreadable", "the folder's files")
        tier.issues.append(
            Issue(severity="error", code="checkpoint.not-a-checkpoint", message=files.problem)
        )
        return tier
    tier.put("format", files.kind, f"the folder's files ({files.why})")
    info: dict[str, Any] = {
        "format": files.kind,
        "file_count": len(files.members),
        "files": [list(member) for member in files.members[:MAX_FILES_KEPT]],
    }
    if files.kind == "deepspeed":
        info["deepspeed_tag"] = files.tag
        states = next((n for n in files.inspections if n.endswith("model_states.pt")), None)
        _lightning_state(files, states, tier, info)
    if files.kind == "dcp":
        # Lightning's sharded saves (FSDP, model parallel) keep all but the tensors in meta.pt.
        _lightning_state(files, "meta.pt" if "meta.pt" in files.inspections else None, tier, info)
        _dcp_objects(files, tier)
    if _TRAINER_STATE in files.names:
        _trainer_state(files, tier, info)
    if "training_args.bin" in files.names and pickles:
        _training_args(files, tier)
    if "config.json" in files.names:
        _model_config(files, tier, info)
    _weights(files, tier, info)
    if pickles:
        _verdict(files, tier)
    if details:
        tier.details["folder"] = info
    return tier


def _json(files: FolderFiles, name: str, tier: TierResult) -> Any:
    if not files.read_files:
        # The quick read runs on the walk's thread: a long run's large trainer_state.json waits
        # for the whole tier instead of delaying the first rows.
        try:
            if os.stat(os.path.join(files.path, name)).st_size > QUICK_JSON_BYTES:
                return None
        except OSError:
            return None
    try:
        text = read_bounded_text(Path(files.path, name), MAX_JSON_BYTES)
        return parse_json(text, max_nodes=MAX_JSON_NODES)
    except (OSError, UnsafeDocumentError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        tier.issues.append(
            Issue(severity="warning", code="checkpoint.side-file", message=f"{name}: {why}")
        )
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _count(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value < _MAX_COUNT else None


def _trainer_state(files: FolderFiles, tier: TierResult, info: dict[str, Any]) -> None:
    state = _json(files, _TRAINER_STATE, tier)
    if not isinstance(state, dict):
        return
    where = _TRAINER_STATE
    epoch = _number(state.get("epoch"))
    if epoch is not None and 0 <= epoch < _MAX_COUNT:
        tier.put("epoch", int(epoch), f"{where} epoch ({epoch:g} epochs completed)")
    step = _count(state.get("global_step"))
    tier.put("global_step", step, f"{where} global_step")
    epochs = _number(state.get("num_train_epochs"))
    if epochs is not None and 0 < epochs < _MAX_COUNT and epochs == int(epochs):
        tier.put("max_epochs", int(epochs), f"{where} num_train_epochs")
    best = _number(state.get("best_metric"))
    best_path = state.get("best_model_checkpoint")
    trainer: dict[str, Any] = {"best_metric": best}
    if isinstance(best_path, str):
        trainer["best_model_checkpoint"] = best_path
        trainer["best_is_this"] = os.path.basename(best_path.rstrip("/")) == files.name
    history = state.get("log_history")
    evals = [row for row in history if isinstance(row, dict)] if isinstance(history, list) else []
    evals = [row for row in evals if any(str(k).startswith("eval_") for k in row)]
    points = []
    for row in evals[-MAX_HISTORY:]:
        point = {k: v for k, v in row.items() if _number(v) is not None and isinstance(k, str)}
        point.pop("eval_runtime", None)
        point.pop("eval_samples_per_second", None)
        point.pop("eval_steps_per_second", None)
        points.append(point)
    trainer["eval_history"] = points
    own = next((p for p in reversed(points) if step is not None and p.get("step") == step), None)
    if own is not None:
        metrics = {k: float(v) for k, v in own.items() if k.startswith("eval_")}
        if "eval_loss" in metrics:
            tier.put("validation_loss", metrics["eval_loss"], f"{where} log_history eval_loss")
        tier.put("additional_metrics", metrics or None, f"{where} log_history (step {step})")
    info["trainer"] = trainer


def _training_args(files: FolderFiles, tier: TierResult) -> None:
    from ckpt_tui.reader.dcp import read_saved_object

    args = read_saved_object(Path(files.path, "training_args.bin"))
    if not isinstance(args, dict):
        return
    metric = args.get("metric_for_best_model")
    if isinstance(metric, str) and metric:
        name = metric if metric.startswith("eval_") else f"eval_{metric}"
        where = "training_args.bin metric_for_best_model"
        tier.put("monitor", name, where)
        greater = args.get("greater_is_better")
        if isinstance(greater, bool):
            mode = "max" if greater else "min"
            tier.put("monitor_mode", mode, "training_args.bin greater_is_better")
        value = (tier.values.get("additional_metrics") or {}).get(name)
        tier.put("monitor_value", value, f"trainer_state.json log_history {name}")
    epochs = _number(args.get("num_train_epochs"))
    if epochs is not None and 0 < epochs < _MAX_COUNT and epochs == int(epochs):
        tier.put("max_epochs", int(epochs), "training_args.bin num_train_epochs")


def _model_config(files: FolderFiles, tier: TierResult, info: dict[str, Any]) -> None:
    config = _json(files, "config.json", tier)
    if not isinstance(config, dict):
        return
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        tier.put("architecture", architectures[0], "config.json architectures")
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type:
        tier.put("architecture", model_type, "config.json model_type")
        info["model_type"] = model_type


def _weights(files: FolderFiles, tier: TierResult, info: dict[str, Any]) -> None:
    from ckpt_tui.reader.dcp import dcp_tensors

    shapes: dict[str, tuple[str | None, tuple[int, ...]]] = {}
    for index_name in _indexes_to_read(files, tier):
        index = _json(files, index_name, tier)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict):
            continue
        shards = sorted({v for v in weight_map.values() if isinstance(v, str)})
        missing = [shard for shard in shards if shard not in files.names]
        info.setdefault("shards", {})[index_name] = shards[:MAX_FILES_KEPT]
        if len(shards) > MAX_FILES_KEPT:
            info.setdefault("shard_count", {})[index_name] = len(shards)
        if missing:
            message = f"{index_name} names shards that are missing: {', '.join(missing[:5])}"
            issue = Issue(severity="error", code="checkpoint.missing-shard", message=message)
            tier.issues.append(issue)
    metadata: dict[str, str] = {}
    for name, inspection in files.inspections.items():
        if inspection.safetensors_metadata:
            metadata.update(inspection.safetensors_metadata)
        if name in files.weight_files:
            for key, tensor in inspection.tensors.items():
                shapes[key] = (tensor.dtype, tensor.shape)
    if files.dcp_root is not None:
        shapes.update(dcp_tensors(files.dcp_root) or {})
    if metadata:
        info["safetensors_metadata"] = metadata
    if shapes:
        numel = {k: _numel(shape) for k, (_d, shape) in shapes.items()}
        info["state_dict"] = {
            "tensors": len(shapes),
            "parameter_count": sum(numel.values()),
            "dtypes": dict(Counter(d or "?" for d, _s in shapes.values()).most_common()),
        }


def _indexes_to_read(files: FolderFiles, tier: TierResult) -> list[str]:
    """The shard indexes worth reading: each file once (links to one index, or hard links, are
    the same shard list), at most :data:`MAX_INDEXES_READ`; an issue names the others. Each can
    be megabytes, read twice per listing (the quick and the whole tier)."""
    chosen: list[str] = []
    seen: set[tuple[int, int]] = set()
    skipped: list[str] = []
    # Real files before links, so the shard list is filed under the index's own name.
    for name in sorted(files.indexes, key=lambda name: _is_link(files.path, name)):
        if len(chosen) >= MAX_INDEXES_READ:
            skipped.append(name)
            continue
        try:
            info = os.stat(os.path.join(files.path, name))
        except OSError:
            chosen.append(name)  # _json words the error
            continue
        identity = (info.st_dev, info.st_ino)
        if identity in seen:
            skipped.append(name)
            continue
        seen.add(identity)
        chosen.append(name)
    if skipped:
        shown = ", ".join(skipped[:5]) + (
            f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        message = (
            f"{len(skipped)} *.index.json not read (the same file as another, or past the first "
            f"{MAX_INDEXES_READ}): {shown}"
        )
        tier.issues.append(Issue(severity="warning", code="checkpoint.side-file", message=message))
    return chosen


def _is_link(folder: str, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(os.path.join(folder, name)).st_mode)
    except OSError:
        return True


def _numel(shape: tuple[int, ...]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def _lightning_state(
    files: FolderFiles, member: str | None, tier: TierResult, info: dict[str, Any]
) -> None:
    """The Lightning checkpoint dictionary (all but the weights) a folder keeps in ``member``:
    DeepSpeed's ``*model_states.pt``, a sharded save's ``meta.pt``."""
    if member is None:
        return
    inspection = files.inspections[member]
    where = member
    tier.put("epoch", _count(inspection.epoch), f"{where} epoch")
    tier.put("global_step", _count(inspection.global_step), f"{where} global_step")
    if inspection.monitor:
        tier.put("monitor", inspection.monitor, f"{where} ModelCheckpoint monitor")
        tier.put("monitor_mode", inspection.monitor_mode, f"{where} ModelCheckpoint mode")
        tier.put("monitor_value", inspection.monitor_value, f"{where} ModelCheckpoint score")
    if inspection.lightning_version:
        info["lightning_version"] = inspection.lightning_version
    if isinstance(inspection.hyper_parameters, dict):
        # As for a Lightning file: its hyper-parameters count as a config.
        from ckpt_tui.sources.config import HPARAMS_LABEL, read_config_fields

        tier.extra.append(read_config_fields(inspection.hyper_parameters, HPARAMS_LABEL))


_DCP_COUNTS = (("epoch", "epoch"), ("global_step", "global_step"), ("step", "global_step"))
"""Objects a DCP checkpoint commonly saves beside its tensors, and the fields they give."""


def _dcp_objects(files: FolderFiles, tier: TierResult) -> None:
    objects = files.dcp_objects
    if objects is None:
        return
    for key, name in _DCP_COUNTS:
        tier.put(name, _count(objects.values.get(key)), f".distcp object {key}")


def _verdict(files: FolderFiles, tier: TierResult) -> None:
    unsafe: list[str] = []
    verdicts: set[str] = set()
    for name, (safety, names, issues) in files.verdicts.items():
        verdicts.add(safety)
        for global_name in names:
            if global_name not in unsafe:
                unsafe.append(global_name)
        for issue in issues:
            note = pickle_note(name) if issue.code.startswith("security.") else ""
            message = f"{name}: {issue.message}{note}"
            tier.issues.append(Issue(severity=issue.severity, code=issue.code, message=message))
    if unsafe:
        safety = "unsafe"
    elif "unreadable" in verdicts:
        safety = "unreadable"
    elif "code" in verdicts:
        safety = "code"
    else:
        safety = "safe"
    objects = files.dcp_objects
    count = len(files.verdicts) - (objects is not None)
    where = f"every pickle of the folder ({plural(count, 'file')}"
    if objects is not None:
        where += f", {plural(objects.count, 'object')} in its shards"
    where += ")"
    tier.put("safety", safety, where)
    tier.put("unsafe_globals", unsafe, where)
