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

import functools
import os
import re
from dataclasses import dataclass

from ckpt_tui.sources.merge import TierResult, canonical_metric

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
_METRIC_DASH = re.compile(r"(?<![a-z])(hmean|precision|recall|val_loss)[-_](\d+\.\d+|\d+)(?![\d.])")
_METRIC_WORDS = ("hmean", "precision", "recall", "val_loss")
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


@functools.lru_cache(maxsize=8192)
def parse_name(name: str) -> NameFacts:
    """Epoch, step and metrics from a checkpoint name (see the module docstring).

    Remembered: the same names (``epoch=3-step=300``, ``last``) recur in every run of a tree.
    """
    lowered = _VERSION_SUFFIX.sub("", name.lower()) if "-v" in name.lower() else name.lower()
    # Substring checks first: most names hold only some of the patterns.
    epoch_match = _EPOCH.search(lowered) if "epoch" in lowered else None
    step_match = _STEP.search(lowered) if "step" in lowered else None
    metrics: dict[str, float] = {}
    if "=" in lowered:
        for key, text in _PAIR.findall(lowered):
            if key.rpartition("/")[2] in ("epoch", "step", "global_step"):
                continue
            metrics[key] = float(text)
    if any(word in lowered for word in _METRIC_WORDS):
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
_DECODER_WORDS = frozenset({"decoder", "neck", "fpn", "head"})


def _index(
    known: list[tuple[str, tuple[str, ...]]],
) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    # first word → names starting with it, longer names first
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for name, seq in sorted(known, key=lambda item: -len(item[1])):
        out.setdefault(seq[0], []).append((name, seq))
    return out


_ARCH_INDEX = _index(_ARCH_WORDS)
_ENCODER_INDEX = _index(_ENCODER_WORDS)


def find_name(parts: list[str], known: list[tuple[str, tuple[str, ...]]]) -> tuple[str, str] | None:
    """The first known name found as whole words in ``parts``: ``(name, the part holding it)``.

    Parts are searched in order; within a part, the earliest match wins, longer names first.
    ``pan`` directly before ``decoder``/``neck``/``fpn``/``head`` names a decoder, not the
    architecture.
    """
    for part in parts:
        name = _find_in_part(part, known is _ARCH_WORDS)
        if name is not None:
            return name, part
    return None


@functools.lru_cache(maxsize=8192)
def _find_in_part(part: str, architectures: bool) -> str | None:
    # Folder names repeat for every checkpoint in a run: remembered per (part, list).
    index = _ARCH_INDEX if architectures else _ENCODER_INDEX
    tokens = words(part)
    for start, token in enumerate(tokens):
        for name, seq in index.get(token, ()):
            end = start + len(seq)
            if tuple(tokens[start:end]) != seq:
                continue
            if name == "pan" and end < len(tokens) and tokens[end] in _DECODER_WORDS:
                continue
            return name
    return None


CHECKPOINT_FOLDERS: frozenset[str] = frozenset(
    ("checkpoints", "checkpoint", "ckpt", "ckpts", "weights", "models", "saved_models")
)
"""Folder names that hold a run's checkpoints: the run folder is the one above. The one list:
the path tier's experiment name, prune's experiments and the best of an experiment use it."""


def is_sweep_list(segment: str) -> bool:
    """Whether a path segment is a sweep list (``sweep_model=[dbnet,craft]``): it names several
    values, so nothing is taken from it. A bracket alone is not one: hostile or odd folder names
    hold brackets too."""
    return _SWEEP_LIST.search(segment) is not None


_SWEEP_LIST = re.compile(r"\[[^\[\]]*,[^\[\]]*\]")
"""A bracketed list of two or more values, as Hydra's multirun names its folders."""


def run_folder_parts(folders: list[str]) -> list[str]:
    """The run folder among ``folders`` (the checkpoint's folders below the scanned root, the
    nearest last), as its folders: ``[]`` for the scanned root itself.

    The folder above a ``checkpoints``-like folder holding the checkpoint (directly, or one
    folder down as in ``checkpoints/best/``), else the checkpoint's own folder.
    """
    for depth in (1, 2):
        if len(folders) >= depth and folders[-depth].lower() in CHECKPOINT_FOLDERS:
            return folders[:-depth]
    return folders


def run_folder(checkpoint_path: str) -> str:
    """The run folder (the experiment) of a checkpoint, "/"-separated relative to the scanned
    root: ``""`` when it is the root itself. ``checkpoint_path`` is the entry's relative path
    (a folder checkpoint's own folder); folders a "/" in a metric name made are part of the
    checkpoint's name, not run folders."""
    parts = checkpoint_path.split("/")
    folders = parts[:-1]
    name_folders = checkpoint_name(parts).count("/")
    if name_folders:
        folders = folders[:-name_folders]
    return "/".join(run_folder_parts(folders))


def exp_name_from_path(folders: list[str]) -> tuple[str, str] | None:
    """The name of the run folder among ``folders`` (:func:`run_folder_parts`): ``(name,
    rule)``, or ``None`` when it is the root itself or a sweep list."""
    run = run_folder_parts(folders)
    if not run or is_sweep_list(run[-1]):
        return None
    if len(run) < len(folders):
        return run[-1], "path parent of checkpoints folder"
    return run[-1], "path checkpoint's folder"


def path_tier(rel_path: str, abs_path: str, link_target: str | None = None) -> TierResult:
    """The path tier for one checkpoint: ``rel_path`` is "/"-separated from the root.

    ``link_target`` is the real path of the file when the checkpoint is a symbolic link
    (``last.ckpt`` → ``epoch=3-step=120-val_acc=0.4688.ckpt``): what the target's name says
    completes what the link's own name says, and ``details["link_to"]`` names the target
    (relative to the link's folder).
    """
    tier = TierResult(kind="path")
    rel_dir, _, file_name = rel_path.rpartition("/")
    facts = _name_facts(rel_path)
    _put_name_facts(tier, facts, f"path {facts.name}")
    if link_target is not None:
        here = os.path.realpath(os.path.dirname(abs_path))
        tier.details["link_to"] = os.path.relpath(link_target, here).replace(os.sep, "/")
        target = parse_name(_stem(os.path.basename(link_target)))
        _put_name_facts(tier, target, f"path link target {target.name}")
    exp, arch, backbone = _folder_facts(rel_dir, facts.name.count("/"))
    if exp is not None:
        tier.put("exp_name", exp[0], exp[1])
    # Folder words first (the experiment folder, which may sit above the root, then the relative
    # folders), then the file name.
    stem = [_stem(file_name)]
    for field_name, found, known in (
        ("architecture", arch, _ARCH_WORDS),
        ("backbone", backbone, _ENCODER_WORDS),
    ):
        if found is None:
            found = find_name(stem, known)
        if found is not None:
            tier.put(field_name, found[0], f"path {found[1]}")
    return tier


def _put_name_facts(tier: TierResult, facts: NameFacts, where: str) -> None:
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


def _name_facts(rel_path: str) -> NameFacts:
    return parse_name(checkpoint_name(rel_path.split("/")))


_Found = tuple[str, str] | None


@functools.lru_cache(maxsize=4096)
def _folder_facts(rel_dir: str, name_folders: int) -> tuple[_Found, _Found, _Found]:
    # Shared by every checkpoint of a folder: experiment name, architecture, encoder. The last
    # ``name_folders`` folders are pieces of the checkpoint's name (a "/" in a metric name).
    folders = rel_dir.split("/") if rel_dir else []
    if name_folders:
        folders = folders[:-name_folders]
    exp = exp_name_from_path(folders)
    search = [part for part in folders if not is_sweep_list(part)]
    return exp, find_name(search, _ARCH_WORDS), find_name(search, _ENCODER_WORDS)


def _stem(name: str) -> str:
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name
