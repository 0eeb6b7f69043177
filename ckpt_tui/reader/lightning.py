"""Turn the unpickled checkpoint (plain data and inert records) into the inspection summary.

Reads Lightning's keys (``epoch``, ``global_step``, ``pytorch-lightning_version``, ``state_dict``,
``callbacks``, ``optimizer_states``, ``hyper_parameters``, ...) and the common plain-torch layouts
(``model_state_dict``, ``model``, a bare state dict, a whole pickled ``nn.Module``).
"""

from __future__ import annotations

import os
import re
from math import prod
from operator import mul
from pathlib import Path
from typing import Any

from ckpt_tui.model.entry import Issue
from ckpt_tui.reader.common_keys import read_common_keys
from ckpt_tui.reader.results import (
    CheckpointInspection,
    Mode,
    ModelCheckpointState,
    TensorInfo,
)
from ckpt_tui.reader.unpickle.objects import DTYPE_ITEMSIZE, TensorRef
from ckpt_tui.reader.unpickle.plain import ScalarReader, TooComplex, label, scalar_value, to_plain
from ckpt_tui.reader.weights import find_weights

_MODE = re.compile(r"""['"]mode['"]\s*:\s*['"](min|max)['"]""")
_NAMED_METRICS = ("hmean", "precision", "recall")
_MAX_GROUPS = 64


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mode_from_scores(best: float | None, scores: dict[str, float]) -> Mode | None:
    values = set(scores.values())
    if best is None or len(values) < 2:
        return None
    if best == max(values):
        return "max"
    if best == min(values):
        return "min"
    return None


def checkpoint_states(
    root: dict[str, Any], scalar: ScalarReader | None
) -> list[ModelCheckpointState]:
    """Every ModelCheckpoint(-like) state in ``callbacks``."""
    callbacks = root.get("callbacks")
    if not isinstance(callbacks, dict):
        return []
    found = []
    for key, state in callbacks.items():
        if not isinstance(state, dict) or not (
            "best_k_models" in state or "best_model_path" in state
        ):
            continue
        state_key = key if isinstance(key, str) else label(key)
        scores: dict[str, float] = {}
        best_k = state.get("best_k_models")
        if isinstance(best_k, dict):
            for path, score in list(best_k.items())[:10_000]:
                value = scalar_value(score, scalar)
                if isinstance(path, str) and value is not None:
                    scores[path] = value
        best = scalar_value(state.get("best_model_score"), scalar)
        match = _MODE.search(state_key)
        mode: Mode | None = _mode_from_scores(best, scores)
        if match:
            mode = "max" if match.group(1) == "max" else "min"
        found.append(
            ModelCheckpointState(
                state_key=state_key[:1000],
                monitor=_str(state.get("monitor")),
                mode=mode,
                current_score=scalar_value(state.get("current_score"), scalar),
                best_model_score=best,
                best_k_models=scores,
                best_model_path=_str(state.get("best_model_path")),
                last_model_path=_str(state.get("last_model_path")),
                dirpath=_str(state.get("dirpath")),
            )
        )
    return found


def _suffix_match(recorded: str, here: Path) -> int:
    """How many trailing path parts ``recorded`` (training machine) shares with ``here``."""
    theirs = recorded.replace("\\", "/").rstrip("/").split("/")
    ours = list(here.parts)
    count = 0
    while count < min(len(theirs), len(ours)) and theirs[-1 - count] == ours[-1 - count]:
        count += 1
    return count


def own_score(state: ModelCheckpointState, path: Path) -> tuple[float | None, int]:
    """This file's score from ``state`` and how well its path matched (0: fell back)."""
    if not state.best_k_models:
        return state.current_score, 0
    here = Path(os.path.realpath(path))
    best_value, best_match = None, 0
    for recorded, score in state.best_k_models.items():
        matched = _suffix_match(recorded, here)
        if matched > best_match:
            best_value, best_match = score, matched
    if best_match:
        return best_value, best_match
    return state.current_score, 0


def metric_name(monitor: str) -> str | None:
    """``val/hmean`` → ``hmean``; ``val_precision`` → ``precision``; others → ``None``."""
    last = re.split(r"[/.:]", monitor)[-1].lower()
    last = re.sub(r"^(val|valid|validation|test|eval)_", "", last)
    return last if last in _NAMED_METRICS else None


def _optimizer_from_groups(group: dict[str, Any]) -> str | None:
    keys = set(group)
    if "amsgrad" in keys:
        flag = group.get("decoupled_weight_decay")
        return "Adam/AdamW" if flag is None else ("AdamW" if flag else "Adam")
    signatures = (
        ("momentum_decay", "NAdam"),
        ("ns_steps", "Muon"),
        ("nesterov", "SGD"),
        ("centered", "RMSprop"),
        ("t0", "ASGD"),
        ("initial_accumulator_value", "Adagrad"),
        ("rho", "Adadelta"),
        ("etas", "Rprop"),
        ("history_size", "LBFGS"),
        ("beta2_decay", "Adafactor"),
    )
    for key, name in signatures:
        if key in keys:
            return name
    if "betas" in keys and "decoupled_weight_decay" in keys:
        return "RAdam"
    return None


def _optimizer_from_hparams(hparams: dict[str, Any] | None) -> str | None:
    if not hparams:
        return None
    nodes = [hparams] + [v for v in hparams.values() if isinstance(v, dict)]
    for node in nodes:
        value = node.get("optimizer")
        if isinstance(value, dict):
            value = value.get("_target_") or value.get("name") or value.get("type")
        if isinstance(value, str) and re.fullmatch(r"[\w.]{2,100}", value):
            return value.rsplit(".", 1)[-1]
    return None


def optimizer_info(
    root: dict[str, Any], scalar: ScalarReader | None
) -> tuple[str | None, list[float | None]]:
    """Optimizer class name and every group's learning rate, from the saved optimizer state."""
    state: Any = None
    states = root.get("optimizer_states")
    if isinstance(states, list) and states:
        state = states[0]
    for key in ("optimizer", "optimizer_state_dict", "optim"):
        if state is None and isinstance(root.get(key), dict):
            state = root[key]
    groups = state.get("param_groups") if isinstance(state, dict) else None
    if not isinstance(groups, list) or not groups or not isinstance(groups[0], dict):
        return None, []
    rates = [
        scalar_value(group.get("lr"), scalar) if isinstance(group, dict) else None
        for group in groups[:_MAX_GROUPS]
    ]
    return _optimizer_from_groups(groups[0]), rates


def _plain_dict(value: Any, scalar: ScalarReader | None, what: str, issues: list[Issue]) -> Any:
    if value is None:
        return None
    try:
        plain = to_plain(value, scalar)
    except TooComplex as exc:
        issues.append(
            Issue(severity="error", code="checkpoint.too-complex", message=f"{what}: {exc}")
        )
        return None
    if isinstance(plain, dict):
        return plain
    return {"value": plain}


def summarize(root: Any, scalar: ScalarReader | None, result: CheckpointInspection) -> None:
    """Fill ``result`` from the unpickled ``root``."""
    result.weights_key, tensors, complete = find_weights(root)
    infos, problems = describe_weights(tensors)
    if not complete:
        message = (
            f"only the first {len(tensors)} tensors are listed: their names or nesting are too many"
        )
        result.issues.append(
            Issue(severity="error", code="checkpoint.too-complex", message=message)
        )
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        result.issues.append(
            Issue(
                severity="error", code="checkpoint.corrupt", message="; ".join(problems[:3]) + more
            )
        )
    result.tensors = infos
    result.parameter_count = sum([info.numel for info in infos.values()])
    result.tensor_bytes = sum([info.nbytes for info in infos.values()])
    if not isinstance(root, dict):
        return
    result.epoch = _int(root.get("epoch"))
    result.global_step = _int(root.get("global_step"))
    result.lightning_version = _str(root.get("pytorch-lightning_version"))
    issues = result.issues
    result.hyper_parameters = _plain_dict(
        root.get("hyper_parameters"), scalar, "hyper_parameters", issues
    )
    result.datamodule_hyper_parameters = _plain_dict(
        root.get("datamodule_hyper_parameters"), scalar, "datamodule_hyper_parameters", issues
    )
    result.cleval_metrics = _plain_dict(
        root.get("cleval_metrics"), scalar, "cleval_metrics", issues
    )
    result.common_keys = read_common_keys(root, scalar, issues)
    result.checkpoint_callbacks = checkpoint_states(root, scalar)
    _choose_monitor(result)
    if result.cleval_metrics:
        for key, value in result.cleval_metrics.items():
            if type(value) in (int, float) and isinstance(key, str):
                result.metrics.setdefault(key, float(value))
    optimizer, rates = optimizer_info(root, scalar)
    if optimizer in (None, "Adam/AdamW"):
        # The saved state does not settle it: a configured optimizer name does.
        optimizer = _optimizer_from_hparams(result.hyper_parameters) or optimizer
    result.optimizer = optimizer
    result.learning_rates = rates
    result.learning_rate = rates[0] if rates else None


def _choose_monitor(result: CheckpointInspection) -> None:
    ranked = []
    for index, state in enumerate(result.checkpoint_callbacks):
        value, matched = own_score(state, result.path)
        ranked.append((state.monitor is not None, matched, -index, state, value))
    if not ranked:
        return
    ranked.sort(key=lambda item: item[:3], reverse=True)
    _has_monitor, _matched, _index, state, value = ranked[0]
    result.monitor = state.monitor
    result.monitor_mode = state.mode
    result.monitor_value = value if state.monitor is not None else None
    if state.monitor and result.monitor_value is not None:
        result.metrics[state.monitor] = result.monitor_value
        name = metric_name(state.monitor)
        if name:
            result.metrics[name] = result.monitor_value


def tensor_info(tensor: TensorRef) -> TensorInfo:
    """The public description of one tensor."""
    numel = prod(tensor.shape)
    storage = tensor.storage
    return TensorInfo(
        tensor.dtype,
        tensor.shape,
        numel,
        numel * DTYPE_ITEMSIZE.get(tensor.dtype, 0),
        storage.key if storage is not None else None,
    )


def describe_weights(tensors: dict[str, TensorRef]) -> tuple[dict[str, TensorInfo], list[str]]:
    """Each tensor's :class:`TensorInfo`, and the tensors whose shape, strides and offset reach
    past their storage (absurd or lying).

    One pass, inlined: a model has hundreds of tensors, and this runs for every checkpoint.
    """
    infos: dict[str, TensorInfo] = {}
    problems: list[str] = []
    reach: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}  # few distinct layouts
    for name, tensor in tensors.items():
        shape = tensor.shape
        numel = prod(shape)
        itemsize = DTYPE_ITEMSIZE.get(tensor.dtype, 0)
        storage = tensor.storage
        if storage is None:
            infos[name] = TensorInfo(tensor.dtype, shape, numel, numel * itemsize, None)
            continue
        infos[name] = TensorInfo(tensor.dtype, shape, numel, numel * itemsize, storage.key)
        if not itemsize or not numel:
            continue
        # Elements reached: offset + 1 + sum((size - 1) * stride). Storage offsets count
        # elements of the storage's dtype; tensors, of their own dtype.
        layout = (shape, tensor.stride)
        span = reach.get(layout)
        if span is None:
            span = reach[layout] = sum(map(mul, *layout)) - sum(layout[1][: len(shape)])
        if (tensor.offset + 1 + span) * itemsize > storage.numel * storage.itemsize:
            problems.append(
                f"tensor {name!r:.60} of shape {list(shape)!s:.60} extends past its "
                f"{storage.nbytes}-byte storage"
            )
    return infos, problems
