"""Which files make a checkpoint, from names alone: folder checkpoints and auxiliary files.

A checkpoint is a file, or a folder that holds one checkpoint as several files:

- ``hf-trainer``: a Hugging Face Trainer ``checkpoint-N/`` (``trainer_state.json`` beside the
  model, optimizer, scheduler and RNG files);
- ``hf-model``: a ``save_pretrained`` folder (``config.json`` with Hugging Face weight files, or
  an ``*.index.json`` naming shards);
- ``dcp``: a ``torch.distributed.checkpoint`` folder (``.metadata`` and ``*.distcp`` files);
- ``deepspeed``: a DeepSpeed folder (``latest`` naming a tag folder of model and optimizer
  states), as Lightning's DeepSpeed strategy saves ``epoch=1-step=8.ckpt/``.

Files a training run saves beside its model (``optimizer.pt``, ``scheduler.pt``,
``rng_state.pth``, ``training_args.bin``, ``scaler.pt``) have an :func:`auxiliary_role`.
:func:`is_folder_checkpoint_file` and :func:`is_nested_run_folder` say which files and
sub-folders a folder checkpoint is made of: prune deletes a folder checkpoint only when every
file in it is one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from ckpt_tui.sources.path import CHECKPOINT_FOLDERS

AUXILIARY_ROLES: dict[str, str] = {
    "optimizer.pt": "optimizer state",
    "optimizer.bin": "optimizer state",
    "scheduler.pt": "learning-rate scheduler state",
    "scaler.pt": "mixed-precision grad scaler state",
    "rng_state.pth": "random number generator states",
    "training_args.bin": "the Trainer's TrainingArguments",
}
"""File names that hold training state, not a model: name → what they hold."""

_RNG_STATE = re.compile(r"rng_state_\d+\.pth$")
_HF_WEIGHTS = re.compile(
    r"(?:model|pytorch_model|adapter_model|diffusion_pytorch_model)"
    r"(?:-\d+-of-\d+)?\.(?:safetensors|bin)$"
)
_INDEX_SUFFIXES = (".safetensors.index.json", ".bin.index.json")
MAX_LATEST_BYTES = 256
"""DeepSpeed's ``latest`` holds a tag name; a longer file is not that."""


FOLDER_FILE_SUFFIXES: tuple[str, ...] = (
    *(".json", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".distcp", ".model"),
    *(".txt", ".md", ".yaml", ".yml", ".py", ".jinja", ".tiktoken"),
)
"""Endings of the files a folder checkpoint holds (any case): the formats above, their weights,
shards, index and state files, tokenizers, model cards and sidecars."""
FOLDER_FILE_NAMES = frozenset(("latest", ".metadata"))
"""Whole names (any case) of the other files a folder checkpoint holds (DeepSpeed, DCP)."""
RUN_FOLDER_NAMES = frozenset((".hydra", "lightning_logs", "wandb", "runs", "output", "outputs"))
"""Sub-folder names that mean another run inside a folder: never part of a checkpoint."""
_TRAINER_FOLDER = re.compile(r"checkpoint-\d+", re.IGNORECASE)


def is_folder_checkpoint_file(name: str) -> bool:
    """Whether a file called ``name`` is one a folder checkpoint is made of
    (:data:`FOLDER_FILE_SUFFIXES`, :data:`FOLDER_FILE_NAMES`)."""
    lowered = name.lower()
    return lowered in FOLDER_FILE_NAMES or lowered.endswith(FOLDER_FILE_SUFFIXES)


def is_nested_run_folder(name: str) -> bool:
    """Whether a sub-folder called ``name`` means another checkpoint (``checkpoint-500``, a
    ``checkpoints``-like folder) or another run (:data:`RUN_FOLDER_NAMES`) inside a folder."""
    lowered = name.lower()
    return (
        lowered in CHECKPOINT_FOLDERS
        or lowered in RUN_FOLDER_NAMES
        or _TRAINER_FOLDER.fullmatch(name) is not None
    )


def auxiliary_role(name: str) -> str | None:
    """What a file called ``name`` holds when it is training state rather than a model."""
    role = AUXILIARY_ROLES.get(name)
    if role is None and _RNG_STATE.match(name):
        role = AUXILIARY_ROLES["rng_state.pth"]
    return role


def folder_kind(
    files: Collection[str], folders: Collection[str], read_latest: Callable[[], str | None]
) -> tuple[str, str] | None:
    """``(format, why)`` when a folder whose listing holds ``files`` and ``folders`` is one
    checkpoint, else ``None``. ``read_latest`` reads the folder's ``latest`` file (DeepSpeed's
    tag), called only when there is one."""
    if "trainer_state.json" in files:
        return "hf-trainer", "trainer_state.json"
    if ".metadata" in files and any(name.endswith(".distcp") for name in files):
        return "dcp", ".metadata and *.distcp files"
    if "latest" in files:
        tag = read_latest()
        if tag and tag in folders:
            return "deepspeed", f"latest names the tag folder {tag}"
    index = next((name for name in files if name.endswith(_INDEX_SUFFIXES)), None)
    if index is not None:
        return "hf-model", index
    configured = "config.json" in files or "adapter_config.json" in files
    weights = next((name for name in files if _HF_WEIGHTS.match(name)), None)
    if configured and weights is not None:
        return "hf-model", f"config.json and {weights}"
    return None


def parse_latest(raw: bytes) -> str | None:
    """The tag a DeepSpeed ``latest`` file names (one line, a plain folder name)."""
    if len(raw) > MAX_LATEST_BYTES:
        return None
    try:
        tag = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if not tag or "/" in tag or "\\" in tag or tag in (".", "..") or not tag.isprintable():
        return None
    return tag


def read_latest(path: str) -> str | None:
    """The tag named by the DeepSpeed ``latest`` file at ``path`` (``None`` if it names none)."""
    read = _read_head(path, MAX_LATEST_BYTES + 1)
    return None if read is None else parse_latest(read[0])


def _read_head(path: str, count: int) -> tuple[bytes, int] | None:
    """The first ``count`` bytes of the file at ``path`` and its size, or ``None`` when it cannot
    be read: the local file (never a FIFO swapped in since the walk's stat), or the object a
    remote root's stand-in names."""
    from ckpt_tui.io.storage import open_source

    try:
        source = open_source(path)
    except OSError:
        return None
    try:
        return source.read_at(0, count), source.size
    except OSError:
        return None
    finally:
        source.close()


def starts_like_checkpoint(path: str) -> bool:
    """Whether the file at ``path`` starts like a checkpoint (a torch zip, a pickle or
    safetensors): ``.bin`` names are too common (data shards, tokenizer files) to list them all.
    ``True`` when it cannot be read as a regular file, so its entry says why."""
    from ckpt_tui.reader.legacy import looks_like_pickle
    from ckpt_tui.reader.safetensors import looks_like_safetensors
    from ckpt_tui.reader.zipformat import ZIP_MAGIC

    read = _read_head(path, 16)
    if read is None:
        return True
    head, size = read
    return (
        head.startswith(ZIP_MAGIC) or looks_like_pickle(head) or looks_like_safetensors(head, size)
    )
