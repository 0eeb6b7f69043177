"""A folder checkpoint's files, listed and read once: the input of :mod:`ckpt_tui.sources.folder`.

Every file that holds a pickle is read by the safe reader for its verdict; safetensors files for
their headers; DCP's ``.metadata`` as the plain pickle it is. Nothing is loaded or run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_tui.io.text import plural
from ckpt_tui.model.entry import Issue
from ckpt_tui.reader import CheckpointInspection
from ckpt_tui.sources.layout import folder_kind, read_latest

if TYPE_CHECKING:
    from ckpt_tui.reader.dcp import DcpObjects

_PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")
_WEIGHTS = re.compile(
    r"(?:.*/)?(?:(?:model|pytorch_model|adapter_model|diffusion_pytorch_model)(?:-\d+-of-\d+)?"
    r"\.(?:safetensors|bin)|mp_rank_\d+_model_states\.pt)$"
)
_NOTES = {
    "training_args.bin": (
        "the Trainer's TrainingArguments, a transformers class: torch.load with weights_only "
        "refuses it, and loading it without imports transformers and runs its code"
    ),
    "rng_state.pth": "the random number generator states (numpy arrays among them)",
    "optimizer.pt": "the optimizer state",
    "scheduler.pt": "the learning-rate scheduler state",
    "scaler.pt": "the mixed-precision grad scaler state",
}

Verdict = tuple[str, list[str], list[Issue]]


@dataclass
class FolderFiles:
    """The files of one folder checkpoint and what the safe reader found in each."""

    path: str
    """The folder."""
    name: str
    """Its name (``checkpoint-500``)."""
    kind: str | None = None
    """Its format, or ``None`` when it is no folder checkpoint."""
    why: str = ""
    """The marker files that make it one."""
    problem: str = ""
    """Why it is no folder checkpoint (when ``kind`` is ``None``)."""
    tag: str | None = None
    """DeepSpeed's tag folder."""
    members: list[tuple[str, int]] = field(default_factory=list)
    """``(path inside the folder, size)`` of every file."""
    names: set[str] = field(default_factory=set)
    """The members' paths."""
    indexes: list[str] = field(default_factory=list)
    """``*.index.json`` shard lists."""
    weight_files: set[str] = field(default_factory=set)
    """Members that hold the model's weights."""
    inspections: dict[str, CheckpointInspection] = field(default_factory=dict)
    """The safe reader's inspection of each torch or safetensors member."""
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    """``(safety, unsafe globals, issues)`` of each member that holds a pickle."""
    dcp_root: Any = None
    """DCP's ``Metadata`` record, as inert data."""
    dcp_objects: DcpObjects | None = None
    """The objects (not tensors) DCP saved as bytes in its shards, read for the verdict."""
    read_files: bool = True
    """Whether the files were read (``False``: the quick listing, names only)."""


def pickle_note(name: str) -> str:
    """What the member ``name`` holds, said after its SECURITY message (empty if unknown)."""
    base = name.rpartition("/")[2]
    note = _NOTES.get(base) or (_NOTES["rng_state.pth"] if base.startswith("rng_state") else None)
    return f" ({base} holds {note})" if note else ""


def list_folder(path: str, *, read_files: bool = True) -> FolderFiles:
    """List the folder checkpoint at ``path`` and read each of its files (with ``read_files``:
    its JSON files are read by their callers either way); never raises."""
    from ckpt_tui.reader import inspect_checkpoint
    from ckpt_tui.reader.dcp import read_dcp_objects, read_pickle_file

    files = FolderFiles(path, os.path.basename(os.path.normpath(path)), read_files=read_files)
    try:
        top = _listing(path)
    except OSError as exc:
        files.problem = f"cannot read the folder: {exc.strerror or exc}"
        return files
    regular = {name for name, is_dir in top.items() if not is_dir}
    folders = {name for name, is_dir in top.items() if is_dir}
    kind = folder_kind(regular, folders, lambda: _latest(path))
    if kind is None:
        files.problem = "not a checkpoint folder (no trainer_state.json, config.json and "
        files.problem += "weights, *.index.json, DCP .metadata or DeepSpeed latest)"
        return files
    files.kind, files.why = kind
    names = sorted(regular)
    if files.kind == "deepspeed":
        files.tag = _latest(path)
        try:
            inner = _listing(os.path.join(path, files.tag or ""))
        except OSError:
            inner = {}
        names += [f"{files.tag}/{name}" for name, is_dir in sorted(inner.items()) if not is_dir]
    for name in names:
        full = os.path.join(path, name)
        if read_files:  # sizes are for the details; the quick read needs the names only
            try:
                size = os.stat(full).st_size
            except OSError:
                continue
            files.members.append((name, size))
        files.names.add(name)
        lowered = name.lower()
        if _WEIGHTS.match(name):
            files.weight_files.add(name)
        if lowered.endswith(".index.json"):
            files.indexes.append(name)
        if not read_files:
            continue
        if name == ".metadata" and files.kind == "dcp":
            plain = read_pickle_file(Path(full))
            files.dcp_root = plain.root
            files.verdicts[name] = (plain.safety, plain.unsafe_globals, plain.issues)
        elif lowered.endswith(".safetensors") or lowered.endswith(_PICKLE_SUFFIXES):
            inspection = inspect_checkpoint(Path(full))
            files.inspections[name] = inspection
            # A safetensors file runs nothing, unless it is also a pickle (torch.load's view).
            if inspection.format != "safetensors" or inspection.safety != "safe":
                files.verdicts[name] = (
                    inspection.safety,
                    list(inspection.unsafe_globals),
                    [i for i in inspection.issues if i.severity != "info"],
                )
    if files.dcp_root is not None:  # once every shard's name is known
        objects = read_dcp_objects(Path(path), files.dcp_root, files.names)
        if objects is not None:
            files.dcp_objects = objects
            label = f"{plural(objects.count, 'object')} in the .distcp shards"
            files.verdicts[label] = (objects.safety, objects.unsafe_globals, objects.issues)
    return files


def _listing(path: str) -> dict[str, bool]:
    out: dict[str, bool] = {}
    with os.scandir(path) as listing:
        for entry in listing:
            try:
                out[entry.name] = entry.is_dir()
            except OSError:
                out[entry.name] = False
    return out


def _latest(path: str) -> str | None:
    return read_latest(os.path.join(path, "latest"))
