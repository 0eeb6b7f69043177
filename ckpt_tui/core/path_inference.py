"""What a checkpoint's path says: epoch, step, metrics, architecture, encoder, experiment name.

Names seen in real trees, all understood::

    epoch=67-step=18564                                   Lightning's default
    epoch_09_step_002730   epoch-9-step-1030   epoch-03_step-000103
    epoch_epoch_22_step_step_001932_20251009_015037       a template that repeats the key
    best  best-v1  last  last-v2                          no epoch: it stays unknown (null)
    best-hmean-0.8920                                     hmean 0.892
    epoch=3-step=100-val/hmean=0.8123                     "/" in a metric name makes a folder

Architecture and encoder come from whole words of the path (``pan`` is not found in
``company``); the name lists are the OCR detectors and backbones of the reference project.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ckpt_tui.core.merge import TierResult, canonical_metric

ARCHITECTURES: tuple[str, ...] = (
    "dbnetpp",
    "dbnet",
    "craft",
    "psenet",
    "fcenet",
    "panet",
    "pan",
    "east",
    "textsnake",
    "drrg",
    "maskrcnn",
)
"""Detector families recognised in paths."""

ENCODERS: tuple[str, ...] = (
    *(f"resnet{depth}" for depth in (18, 34, 50, 101, 152)),
    *(f"resnet{depth}d" for depth in (18, 34, 50, 101)),
    *(f"mobilenetv3_small_{width}" for width in ("050", "075", "100")),
    *(f"mobilenetv3_large_{width}" for width in ("075", "100")),
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "mobilenet_v2",
    "mobilenetv2_100",
    *(f"efficientnet_b{size}" for size in range(8)),
    *(f"efficientnet_v2_{size}" for size in "sml"),
    *(f"efficientnetv2_{size}" for size in "sml"),
    *(f"convnext_{size}" for size in ("tiny", "small", "base", "large")),
    "vgg16",
    "vgg16_bn",
)
"""Backbone names recognised in paths (timm/torchvision spellings)."""

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_EPOCH = re.compile(r"(?<![a-z])epoch(?:[=_-]+epoch)?[=_-]+(\d+)")
_STEP = re.compile(r"(?<![a-z])step(?:[=_-]+step)?[=_-]+(\d+)")
# key=value pairs: keys may hold "/" (folders) and "_"; values are numbers.
_PAIR = re.compile(r"(?:^|(?<=[-_/]))([a-z][\w/.]*?)=(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?=$|[-_/]|$)")
_METRIC_DASH = re.compile(
    r"(?<![a-z])(hmean|precision|recall|val_loss)[-_](\d+\.\d+|\d+)(?![\d.])"
)
_STARTS_WITH_PAIR = re.compile(r"[a-z][\w.]*=")
_VERSION_SUFFIX = re.compile(r"-v\d+$")


@dataclass(frozen=True)
class NameFacts:
    """What the checkpoint's name says."""

    name: str
    """The name read: the file stem, joined with the folders a "/" in a metric name made."""
    epoch: int | None = None
    """Epoch, when the name holds one."""
    step: int | None = None
    """Global step, when the name holds one."""
    metrics: tuple[tuple[str, float], ...] = ()
    """Metric name → value pairs written in the name (e.g. ``("val/hmean", 0.81)``)."""


def checkpoint_name(rel_parts: list[str]) -> str:
    """The name to read: the stem, plus parent folders when a metric's "/" split the name.

    ``["ckpts", "epoch=3-step=100-val", "hmean=0.81.ckpt"]`` → ``epoch=3-step=100-val/hmean=0.81``.
    """
    stem = _stem(rel_parts[-1])
    name = stem
    folders = rel_parts[:-1]
    while folders and _STARTS_WITH_PAIR.match(name.lower()) and "=" in folders[-1]:
        name = f"{folders.pop()}/{name}"
    return name


def parse_name(name: str) -> NameFacts:
    """Epoch, step and metrics from a checkpoint name (see the module docstring)."""
    lowered = _VERSION_SUFFIX.sub("", name.lower())
    epoch_match = _EPOCH.search(lowered)
    step_match = _STEP.search(lowered)
    metrics: dict[str, float] = {}
    for key, text in _PAIR.findall(lowered):
        if key.rpartition("/")[2] in ("epoch", "step", "global_step"):
            continue
        metrics[key] = float(text)
    for key, text in _METRIC_DASH.findall(lowered):
        metrics.setdefault(key, float(text))
    return NameFacts(
        name=name,
        epoch=int(epoch_match.group(1)) if epoch_match else None,
        step=int(step_match.group(1)) if step_match else None,
        metrics=tuple(metrics.items()),
    )


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words of ``text`` (``dbnet++`` reads as ``dbnetpp``)."""
    return [word for word in _WORD_SPLIT.split(text.lower().replace("++", "pp")) if word]


_ARCH_WORDS = [(name, tuple(words(name))) for name in ARCHITECTURES]
_ENCODER_WORDS = sorted(
    ((name, tuple(words(name))) for name in ENCODERS), key=lambda item: -len(item[1])
)


def find_name(parts: list[str], known: list[tuple[str, tuple[str, ...]]]) -> tuple[str, str] | None:
    """The first known name found as whole words in ``parts``: ``(name, the part holding it)``.

    Parts are searched in order; within a part, the earliest match wins, longer names first.
    ``pan`` directly before ``decoder``/``neck``/``fpn`` names a decoder, not the architecture.
    """
    for part in parts:
        tokens = words(part)
        best: tuple[int, str] | None = None
        for name, seq in known:
            for start in range(len(tokens) - len(seq) + 1):
                if tuple(tokens[start : start + len(seq)]) != seq:
                    continue
                after = tokens[start + len(seq)] if start + len(seq) < len(tokens) else ""
                if name == "pan" and after in ("decoder", "neck", "fpn", "head"):
                    continue
                if best is None or start < best[0]:
                    best = (start, name)
                break
        if best is not None:
            return best[1], part
    return None


def exp_name_from_path(abs_parts: list[str]) -> tuple[str, str] | None:
    """The parent of the nearest ``checkpoints`` folder, else the grandparent: ``(name, rule)``."""
    folders = abs_parts[:-1]
    for index in range(len(folders) - 1, 0, -1):
        if folders[index].lower() == "checkpoints" and folders[index - 1]:
            return folders[index - 1], "path parent of checkpoints folder"
    if len(folders) >= 2 and folders[-2]:
        return folders[-2], "path grandparent folder"
    return None


def path_tier(rel_path: str, abs_path: str) -> TierResult:
    """The path tier for one checkpoint: ``rel_path`` is "/"-separated from the root."""
    tier = TierResult(kind="path")
    rel_parts = rel_path.split("/")
    abs_parts = abs_path.split(os.sep)
    facts = parse_name(checkpoint_name(rel_parts))
    where = f"path {facts.name}"
    tier.put("epoch", facts.epoch, where)
    tier.put("global_step", facts.step, where)
    extra: dict[str, float] = {}
    for key, value in facts.metrics:
        field_name = canonical_metric(key)
        if field_name in ("hmean", "precision", "recall") and not 0.0 <= value <= 1.0:
            continue  # a percentage or a typo: not guessed at
        if field_name is not None:
            tier.put(field_name, value, where)
        else:
            extra[key] = value
    if extra:
        tier.put("additional_metrics", extra, where)
    exp = exp_name_from_path(abs_parts)
    if exp is not None:
        tier.put("exp_name", exp[0], exp[1])
    # Words of the experiment folder (which may sit above the root) and of the relative path.
    search = ([exp[0]] if exp else []) + rel_parts[:-1] + [_stem(rel_parts[-1])]
    for field_name, known in (("architecture", _ARCH_WORDS), ("backbone", _ENCODER_WORDS)):
        found = find_name(search, known)
        if found is not None:
            tier.put(field_name, found[0], f"path {found[1]}")
    return tier


def _stem(name: str) -> str:
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name
