"""What the prune plan needs to know from the filesystem, read once at planning time.

- :class:`FileState` — a file's identity as ``lstat`` gives it (size, mtime, ctime, inode,
  device): execution deletes a file only if it is still the one planned.
- :func:`through_link` — whether a path under the root passes through a link (or leaves the
  root): such a checkpoint is never deleted.
- :func:`links_in` — the symbolic links in a folder and the real paths they lead to: every
  link target stays.
- :func:`best_model_paths` — the ``best_model_path`` of each ModelCheckpoint state a
  checkpoint holds (from its details, else read with the safe reader).
- :func:`folder_members` — the files that make up a folder checkpoint, or why it is refused
  (the files and sub-folders :mod:`ckpt_tui.sources.layout` says a folder checkpoint holds).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.sources.layout import is_folder_checkpoint_file, is_nested_run_folder

Kind = Literal["file", "link", "folder", "other"]

MAX_FOLDER_DEPTH = 2
"""A folder checkpoint's files lie at most this deep (``tag/shard``: DeepSpeed, FSDP)."""
MAX_FOLDER_MEMBERS = 100_000
"""More files than this and the folder is not a checkpoint prune deletes."""


@dataclass(frozen=True, slots=True)
class FileState:
    """One name's identity as ``lstat`` gives it (links not followed)."""

    kind: Kind
    """What the name is."""
    size: int
    """Bytes (of the link itself, for a link)."""
    mtime_ns: int
    """Modification time."""
    ctime_ns: int
    """Inode change time: a copy over the file changes it, whatever the mtime says."""
    ino: int
    """Inode: a file renamed over this one has another."""
    dev: int
    """Device."""
    nlink: int = 1
    """Hard links: the space is freed only when the last name goes."""

    @classmethod
    def of(cls, info: os.stat_result) -> FileState:
        """The state of a ``lstat`` result."""
        mode = info.st_mode
        kind: Kind
        if stat.S_ISLNK(mode):
            kind = "link"
        elif stat.S_ISREG(mode):
            kind = "file"
        elif stat.S_ISDIR(mode):
            kind = "folder"
        else:
            kind = "other"
        return cls(
            kind, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev,
            info.st_nlink,
        )  # fmt: skip

    def same_file(self, other: FileState) -> bool:
        """Whether ``other`` is this very file, unchanged (the link count may differ)."""
        return (self.kind, self.size, self.mtime_ns, self.ctime_ns, self.ino, self.dev) == (
            other.kind, other.size, other.mtime_ns, other.ctime_ns, other.ino, other.dev,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The state as JSON data."""
        return {
            "kind": self.kind, "size": self.size, "mtime_ns": self.mtime_ns,
            "ctime_ns": self.ctime_ns, "ino": self.ino, "dev": self.dev, "nlink": self.nlink,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> FileState:
        """The state :meth:`to_json` gave; ``ValueError`` for anything else."""
        if not isinstance(data, dict) or data.get("kind") not in ("file", "link", "folder"):
            raise ValueError("a file state must be an object with a kind: file, link or folder")
        names = ("size", "mtime_ns", "ctime_ns", "ino", "dev", "nlink")
        numbers: dict[str, Any] = {n: data.get(n, 1 if n == "nlink" else None) for n in names}
        if not all(type(n) is int and n >= 0 for n in numbers.values()):
            raise ValueError("a file state's size, times, inode and device must be integers")
        return cls(kind=data["kind"], **numbers)


def lstat_state(path: str) -> FileState | None:
    """The state of ``path`` itself (not following a link); ``None`` when it does not exist."""
    try:
        return FileState.of(os.lstat(path))
    except OSError:
        return None


def through_link(root: str, rel: str, known: dict[str, str | None]) -> str | None:
    """Why ``rel`` (under the real folder ``root``) cannot be deleted safely, or ``None``.

    Every folder between the root and the name must be a real folder (``lstat``): a checkpoint
    reached through a folder link may live outside the root, so it is never deleted. ``known``
    remembers the answer per folder across calls.
    """
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "not a plain path under the root"
    path = root
    folder_rel = ""
    for part in parts[:-1]:
        folder_rel = f"{folder_rel}/{part}" if folder_rel else part
        path = os.path.join(path, part)
        if folder_rel not in known:
            state = lstat_state(path)
            if state is None:
                known[folder_rel] = f"folder {folder_rel} is gone"
            elif state.kind != "folder":
                known[folder_rel] = f"reached through the link {folder_rel}: never deleted"
            else:
                known[folder_rel] = None
        if known[folder_rel] is not None:
            return known[folder_rel]
    return None


def links_in(folder: str) -> list[tuple[str, str]]:
    """``(name, real target path)`` of each symbolic link in ``folder`` (none when unreadable)."""
    found: list[tuple[str, str]] = []
    try:
        with os.scandir(folder) as listing:
            for item in listing:
                if item.is_symlink():
                    found.append((item.name, os.path.realpath(item.path)))
    except OSError:
        return found
    return found


def best_model_paths(entry: CheckpointCatalogEntry) -> list[str]:
    """Every ``best_model_path`` in the checkpoint's ModelCheckpoint states.

    From the entry's details when the checkpoint tier read the file; otherwise (a sidecar
    described it) the file is read with the safe reader, pickles only, nothing executed.
    """
    states = entry.details.get("model_checkpoint")
    if states is None and "format" not in entry.details and entry.abs_path:
        from ckpt_tui.reader import inspect_checkpoint

        if os.path.isfile(entry.abs_path):
            inspection = inspect_checkpoint(Path(entry.abs_path))
            states = [
                {"best_model_path": s.best_model_path} for s in inspection.checkpoint_callbacks
            ]
    paths: list[str] = []
    for state in states or ():
        value = state.get("best_model_path") if isinstance(state, dict) else None
        if isinstance(value, str) and value and "\x00" not in value:
            paths.append(value)
    return paths


def folder_members(folder: str) -> tuple[list[tuple[str, FileState]], str | None]:
    """The files and sub-folders that make up the folder checkpoint ``folder``, deepest first.

    Returns ``(members, None)``, or ``([], reason)`` when the folder holds anything a checkpoint
    folder does not: a link, a special file, a file of an unexpected kind, a folder too deep, or
    a folder that looks like another checkpoint or another run. Links are never followed.
    """
    members: list[tuple[str, FileState]] = []
    pending: list[tuple[str, str, int]] = [(folder, "", 1)]
    while pending:
        path, rel, depth = pending.pop()
        try:
            with os.scandir(path) as listing:
                items = sorted(listing, key=lambda item: item.name)
        except OSError as exc:
            return [], f"cannot read {rel or 'the folder'}: {exc.strerror or exc}"
        for item in items:
            item_rel = f"{rel}/{item.name}" if rel else item.name
            try:
                state = FileState.of(item.stat(follow_symlinks=False))
            except OSError as exc:
                return [], f"cannot stat {item_rel}: {exc.strerror or exc}"
            if state.kind == "link":
                return [], f"holds a link ({item_rel}): not deleted"
            if state.kind == "other":
                return [], f"holds a special file ({item_rel}): not deleted"
            if state.kind == "folder":
                if depth >= MAX_FOLDER_DEPTH:
                    return [], f"holds nested folders ({item_rel}): not deleted"
                if is_nested_run_folder(item.name):
                    return [], f"holds another checkpoint or run ({item_rel}): not deleted"
                pending.append((item.path, item_rel, depth + 1))
            elif not is_folder_checkpoint_file(item.name):
                return [], f"holds an unexpected file ({item_rel}): not deleted"
            members.append((item_rel, state))
            if len(members) > MAX_FOLDER_MEMBERS:
                return [], f"holds more than {MAX_FOLDER_MEMBERS:,} files: not deleted"
    # Deepest first, so each folder is empty when its turn comes.
    members.sort(key=lambda member: (-member[0].count("/"), member[0]))
    return members, None
