"""What the common keys of checkpoints written outside Lightning mean, as entry fields.

The safe reader copies the keys out as plain data (:mod:`ckpt_tui.reader.common_keys`); this
module decides what each one says, with provenance:

* **PyTorch's ImageNet example** (``arch`` + ``best_acc1``, or ``best_prec1`` in older forks):
  ``arch`` → architecture and backbone; ``best_acc1`` → monitor ``best_acc1``, mode ``max``, its
  value; ``epoch`` is saved as ``epoch + 1`` (epochs completed), so the entry's epoch is one less.
* **timm's CheckpointSaver** (``args`` a Namespace, ``version``): ``args.model`` / ``arch`` →
  architecture and backbone; ``metric`` → monitor value, named by ``args.eval_metric`` (mode
  ``min`` for ``loss``, else ``max``); ``epoch`` is the epoch index from ``version`` 2 on (before,
  timm saved ``epoch + 1``); ``args.epochs`` → max_epochs.
* **mmcv / mmengine** (``meta``): ``meta.epoch`` is epochs completed (one more than the index);
  mmengine keeps the best score in ``message_hub.runtime_info`` instead of ``meta.hook_msgs``;
  ``meta.iter`` → global_step; ``meta.hook_msgs.best_score`` → monitor ``best_score``, in the
  mode mmcv's rule gives the key named by ``hook_msgs.best_ckpt`` (``best_bbox_mAP_epoch_11.pth``);
  ``meta.config`` (Python config text, never run) → the model's and backbone's ``type=``;
  ``meta.time`` → created_at.
* **safetensors ``__metadata__``**: ``epoch``, ``global_step`` (or ``step``) when the strings are
  whole numbers, an architecture name, validation metrics.

The entry's ``epoch`` always means the index of the last epoch trained, counted from 0 (what
Lightning saves and writes in ``epoch=N`` names): a file that records epochs *completed* is
converted, and its provenance says so. Values of the wrong type (a dict as ``arch``, ``"x"`` as
``epoch``, NaN as a metric, names with control characters) are ignored, with a note.
"""

from __future__ import annotations

import math
import os
import re
import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from ckpt_tui.model.entry import Issue
from ckpt_tui.sources.merge import TierResult, canonical_metric

MAX_EPOCH = 10_000_000
"""Above this an ``epoch`` is not believed (a corrupt or hostile value, not a training run)."""
MAX_STEP = 2**53
"""Above this a step count is not believed."""
_MAX_NAME = 200
_IMAGENET_METRICS = ("best_acc1", "best_prec1")
_NUMBER = re.compile(r"\s*\d{1,18}\s*")
_MODEL_TYPE = re.compile(r"^model\s*=\s*dict\(\s*type\s*=\s*['\"]([\w.-]{1,100})['\"]", re.M)
_BACKBONE = re.compile(
    r"\bbackbone\s*=\s*dict\(\s*type\s*=\s*['\"]([\w.-]{1,100})['\"]"
    r"(?:\s*,\s*depth\s*=\s*(\d{1,4})\b)?"
)
_BEST_CKPT = re.compile(r"best_(.{1,100}?)_(?:epoch|iter)_\d{1,12}\.pth")
# mmcv's EvalHook: the key parts that make "greater is better" or "less is better".
_MMCV_GREATER = ("acc", "top", "AR@", "auc", "precision", "mAP", "mDice", "mIoU", "mAcc", "aAcc")
_MMCV_LESS = ("loss",)
_TIME_FORMATS = ("%a %b %d %H:%M:%S %Y", "%Y%m%d_%H%M%S")
_SAFETENSORS_NAMES = ("architecture", "arch", "model_name", "modelspec.architecture")
_METRIC_PREFIXES = ("val", "valid", "validation", "eval", "test", "best")


def layout_of(common: Mapping[str, Any]) -> str | None:
    """Which known writer saved a dict with these top-level keys, or ``None``."""
    if isinstance(common.get("args"), dict) and ("version" in common or "metric" in common):
        return "timm CheckpointSaver"
    if type(common.get("version")) is int and "arch" in common and "args" not in common:
        return "timm CheckpointSaver"  # saved without args: arch is the model's class name
    if any(key in common for key in _IMAGENET_METRICS) and "arch" in common:
        return "ImageNet example"
    if isinstance(common.get("meta"), dict):
        return "mmcv"
    return None


def put_known_keys(tier: TierResult, inspection: Any, metrics: dict[str, float]) -> set[str]:
    """Record what the inspection's common keys say in ``tier``; scalar metrics go to
    ``metrics`` (the caller's ``additional_metrics``). Returns the fields decided here, which
    the caller must not fill from the generic keys (e.g. ``epoch`` when its convention differs).
    """
    common = getattr(inspection, "common_keys", None) or {}
    metadata = getattr(inspection, "safetensors_metadata", None)
    if isinstance(metadata, Mapping):
        _put_safetensors(tier, metadata, metrics)
    if not isinstance(common, Mapping) or not common:
        return set()
    layout = layout_of(common)
    claimed: set[str] = set()
    lightning_monitor = getattr(inspection, "monitor", None) is not None
    if layout == "ImageNet example":
        claimed |= _put_imagenet(tier, common, metrics, lightning_monitor)
    elif layout == "timm CheckpointSaver":
        claimed |= _put_timm(tier, common, metrics, lightning_monitor)
    elif layout == "mmcv":
        file_name = os.path.basename(os.path.realpath(getattr(inspection, "path", "") or "."))
        meta, hub = common["meta"], common.get("message_hub")
        claimed |= _put_mmcv(tier, meta, hub, file_name, metrics, lightning_monitor)
    if layout is None and "arch" in common:
        _put_arch(tier, common["arch"], "checkpoint arch")
    return claimed


def known_key_details(inspection: Any) -> dict[str, Any]:
    """The common keys worth showing (``show``, the detail pane), small enough to cache."""
    common = getattr(inspection, "common_keys", None) or {}
    if not isinstance(common, Mapping) or not common:
        return {}
    layout = layout_of(common)
    out: dict[str, Any] = {}
    if layout is not None:
        out["layout"] = layout
    epoch = common.get("epoch")
    if layout is not None and type(epoch) is int:
        out["recorded_epoch"] = epoch
    if type(common.get("version")) is int:
        out["version"] = common["version"]
    for key in ("arch", *_IMAGENET_METRICS, "metric"):
        if type(common.get(key)) in (str, int, float):
            out[key] = common[key] if type(common[key]) is not str else common[key][:_MAX_NAME]
    meta = common.get("meta")
    if isinstance(meta, Mapping):
        keys = ("epoch", "iter", "mmcv_version", "mmengine_version", "time")
        shown = {k: meta[k] for k in keys if k in meta}
        hook_msgs = meta.get("hook_msgs")
        if isinstance(hook_msgs, Mapping):
            shown.update({k: v for k, v in hook_msgs.items() if k in ("best_score", "best_ckpt")})
        out["meta"] = {
            k: v[:_MAX_NAME] if isinstance(v, str) else v
            for k, v in shown.items()
            if type(v) in (str, int, float)
        }
    return {"common_keys": out} if out else {}


def _put_imagenet(
    tier: TierResult, common: Mapping[str, Any], metrics: dict[str, float], has_monitor: bool
) -> set[str]:
    _put_arch(tier, common.get("arch"), "checkpoint arch")
    for key in _IMAGENET_METRICS:
        value = _metric(tier, common.get(key), key)
        if value is None:
            continue
        metrics.setdefault(key, value)
        if not has_monitor:
            tier.put("monitor", key, f"checkpoint {key} (ImageNet example)")
            tier.put("monitor_mode", "max", f"checkpoint {key} (an accuracy: higher is better)")
            tier.put("monitor_value", value, f"checkpoint {key}")
        break
    _put_completed_epochs(tier, common.get("epoch"), "epoch", "the ImageNet example")
    return {"epoch"}


def _put_timm(
    tier: TierResult, common: Mapping[str, Any], metrics: dict[str, float], has_monitor: bool
) -> set[str]:
    args = common["args"] if isinstance(common.get("args"), dict) else {}
    if not _put_arch(tier, args.get("model"), "checkpoint args.model"):
        _put_arch(tier, common.get("arch"), "checkpoint arch")
    epochs = args.get("epochs")
    if type(epochs) is int and 1 <= epochs <= MAX_EPOCH:
        tier.put("max_epochs", epochs, "checkpoint args.epochs")
    value = _metric(tier, common.get("metric"), "metric")
    if value is not None:
        name = _name(args.get("eval_metric"))
        monitor = name or "metric"
        metrics.setdefault(monitor, value)
        if not has_monitor:
            where = "checkpoint args.eval_metric" if name else "checkpoint metric (no eval_metric)"
            tier.put("monitor", monitor, where)
            if name is not None:
                mode = "min" if name == "loss" else "max"
                tier.put("monitor_mode", mode, f"checkpoint args.eval_metric {name} (timm)")
            tier.put("monitor_value", value, "checkpoint metric")
    version = common.get("version")
    epoch = common.get("epoch")
    if type(version) is int and version >= 2:
        index = _count(epoch, MAX_EPOCH)
        tier.put("epoch", index, f"checkpoint epoch (timm CheckpointSaver version {version})")
    else:
        _put_completed_epochs(tier, epoch, "epoch", "timm before version 2")
    return {"epoch"}


def _best_messages(
    meta: Mapping[str, Any], message_hub: Any
) -> list[tuple[str, Mapping[str, Any]]]:
    """Where the best score is kept: mmcv's ``meta.hook_msgs``, mmengine's
    ``message_hub.runtime_info``."""
    found = []
    if isinstance(meta.get("hook_msgs"), Mapping):
        found.append(("meta.hook_msgs", meta["hook_msgs"]))
    runtime = message_hub.get("runtime_info") if isinstance(message_hub, Mapping) else None
    if isinstance(runtime, Mapping):
        found.append(("message_hub.runtime_info", runtime))
    return found


def _put_mmcv(
    tier: TierResult,
    meta: Mapping[str, Any],
    message_hub: Any,
    file_name: str,
    metrics: dict[str, float],
    has_monitor: bool,
) -> set[str]:
    step = _count(meta.get("iter"), MAX_STEP)
    tier.put("global_step", step, "checkpoint meta.iter")
    if "iter_" not in file_name.lower():
        # Saved by epoch: meta.epoch counts the epochs completed. An iteration-based save
        # (``iter_N.pth``) records the running epoch in another convention: left unknown.
        _put_completed_epochs(tier, meta.get("epoch"), "meta.epoch", "mmcv")
    for label, messages in _best_messages(meta, message_hub):
        value = _metric(tier, messages.get("best_score"), f"{label}.best_score")
        if value is None:
            continue
        metrics.setdefault("best_score", value)
        if not has_monitor:
            _put_mmcv_monitor(tier, label, messages.get("best_ckpt"))
            tier.put("monitor_value", value, f"checkpoint {label}.best_score")
        break
    config = meta.get("config") if isinstance(meta.get("config"), str) else meta.get("cfg")
    if isinstance(config, str):
        found = _MODEL_TYPE.search(config)
        if found:
            where = "checkpoint meta.config model type= (text, not run)"
            _put_arch(tier, found.group(1), where, backbone=False)
        backbone = _BACKBONE.search(config)
        if backbone:
            kind, depth = backbone.group(1), backbone.group(2)
            name = f"{kind.lower()}{int(depth)}" if depth else kind
            tier.put("backbone", _name(name), "checkpoint meta.config backbone type= (text)")
    created = _time(meta.get("time"))
    tier.put("created_at", created, "checkpoint meta.time")
    return {"epoch", "global_step"}


def _put_mmcv_monitor(tier: TierResult, label: str, best_ckpt: Any) -> None:
    """Monitor ``best_score`` (the best value so far, which is this file's value of it), in the
    mode mmcv's EvalHook infers from the key in its ``best_<key>_epoch_<N>.pth`` name."""
    tier.put("monitor", "best_score", f"checkpoint {label}.best_score")
    name = os.path.basename(best_ckpt) if isinstance(best_ckpt, str) else ""
    found = _BEST_CKPT.fullmatch(name)
    key = _name(found.group(1)) if found else None
    if key is None:
        return
    where = f"checkpoint {label}.best_ckpt {name}"
    if key in _MMCV_GREATER or any(part in key for part in _MMCV_GREATER):
        tier.put("monitor_mode", "max", f"{where} (mmcv's rule for {key}: greater is better)")
    elif any(part in key for part in _MMCV_LESS):
        tier.put("monitor_mode", "min", f"{where} (mmcv's rule for {key}: less is better)")


def _put_safetensors(
    tier: TierResult, metadata: Mapping[str, Any], metrics: dict[str, float]
) -> None:
    for key, text in metadata.items():
        if not isinstance(key, str) or not isinstance(text, str):
            continue
        where = f"safetensors __metadata__ {key}"
        lowered = key.lower()
        if lowered == "epoch":
            tier.put("epoch", _whole_number(text, MAX_EPOCH), where)
        elif lowered in ("global_step", "step"):
            tier.put("global_step", _whole_number(text, MAX_STEP), where)
        elif lowered in _SAFETENSORS_NAMES:
            _put_arch(tier, text, where, backbone=False)
        elif lowered.split("/")[0].split("_")[0] in _METRIC_PREFIXES:
            value = _finite(text)
            if value is None:
                continue
            field_name = canonical_metric(key)
            if field_name is not None:
                tier.put(field_name, value, where)
            else:
                metrics.setdefault(key, value)


def _put_arch(tier: TierResult, value: Any, where: str, *, backbone: bool = True) -> bool:
    """``value`` as the architecture (and, for a classifier's name, the backbone)."""
    name = _name(value)
    if value is not None and name is None:
        _ignored(tier, where, value)
        return False
    tier.put("architecture", name, where)
    if backbone:
        tier.put("backbone", name, f"{where} (a classifier: the model is its backbone)")
    return name is not None


def _put_completed_epochs(tier: TierResult, value: Any, key: str, writer: str) -> None:
    """An epoch saved as the number of epochs completed: the entry's epoch is one less."""
    completed = _count(value, MAX_EPOCH)
    if completed is None:
        if value is not None:
            _ignored(tier, f"checkpoint {key}", value)
        return
    if completed == 0:
        return  # no epoch completed: there is no epoch index to give
    where = f"checkpoint {key} {completed} - 1 ({writer} saves the epochs completed)"
    tier.put("epoch", completed - 1, where)


def _metric(tier: TierResult, value: Any, key: str) -> float | None:
    if value is None:
        return None
    # A pickle holds numbers as numbers: a string here is not what these writers save.
    number = None if isinstance(value, str) else _finite(value)
    if number is None:
        _ignored(tier, f"checkpoint {key}", value)
    return number


def _finite(value: Any) -> float | None:
    """A finite float from a number or a numeric string; ``None`` for NaN, inf, huge or other."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if len(value) > 40:
            return None
        try:
            number = float(value)
        except ValueError:
            return None
    elif isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
    else:
        return None
    return number if math.isfinite(number) and abs(number) < 1e300 else None


def _count(value: Any, limit: int) -> int | None:
    """A non-negative int up to ``limit``, else ``None``."""
    if type(value) is not int or not 0 <= value <= limit:
        return None
    return value


def _whole_number(text: str, limit: int) -> int | None:
    return _count(int(text), limit) if _NUMBER.fullmatch(text) else None


def _name(value: Any) -> str | None:
    """A model name: a short single-line string without control characters."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    if not name or len(name) > _MAX_NAME or name.lower() == "unknown":
        return None
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        return None
    return name


def _time(value: Any) -> str | None:
    """``Mon Dec  7 20:00:00 2026`` (mmcv) or ``20261207_200000`` (mmengine) as ISO 8601 local
    time without a zone (the training machine's zone is not recorded)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    for pattern in _TIME_FORMATS:
        try:
            parsed = time.strptime(value.strip(), pattern)
        except ValueError:
            continue
        return time.strftime("%Y-%m-%dT%H:%M:%S", parsed)
    return None


def _ignored(tier: TierResult, where: str, value: Any) -> None:
    kind = type(value).__name__
    tier.issues.append(
        Issue(
            severity="info",
            code="checkpoint.value-ignored",
            message=f"{where}: a {kind} that is not a usable value: ignored",
        )
    )
