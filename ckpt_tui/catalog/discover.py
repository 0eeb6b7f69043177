"""Finding checkpoints: one ``os.scandir`` walk of the tree, each folder read once.

- Patterns (``*.ckpt``, ``*.pt``, ``*.pth``, ``*.safetensors`` by default) are matched
  case-insensitively against file names.
- Links to files are followed (``last.ckpt`` is often one); only regular files are checkpoints,
  so a FIFO, socket or device named ``x.ckpt`` is reported and never opened.
- Folder links are followed once: every folder walked is remembered by ``(st_dev, st_ino)``,
  real folders are walked before linked ones (so a file is reported under its real path), and a
  link to the root or one of its ancestors is refused, so no link can make the walk loop or
  escape to the whole filesystem.
- ``.git``, ``__pycache__``, ``wandb``, ``.venv``, ``node_modules`` and hidden folders other than
  ``.hydra`` are skipped; ``lightning_logs`` is not (Lightning puts checkpoints there).
- A folder that cannot be read becomes an issue and the walk goes on.
- Paths stay ``str`` as ``os`` gives them: bytes that are not UTF-8 are lone surrogates, which
  round-trip to the real file; whoever displays or serialises them escapes them.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ckpt_tui.io.atomic import is_temp_name
from ckpt_tui.model.entry import Issue
from ckpt_tui.sidecar.files import stem_of

DEFAULT_PATTERNS: tuple[str, ...] = ("*.ckpt", "*.pt", "*.pth", "*.safetensors")
"""File names that are checkpoints."""
SKIP_DIRS: frozenset[str] = frozenset({".git", "__pycache__", "wandb", ".venv", "node_modules"})
"""Folders never walked."""
ALLOWED_HIDDEN_DIRS: frozenset[str] = frozenset({".hydra"})
"""Hidden folders that are walked anyway."""

# Names kept from each folder's listing so sidecars and configs are found without a stat each.
_AUX_SUFFIXES = (".metadata.yaml", ".config.json", ".config.yaml", ".config.yml")
_AUX_NAMES = frozenset({"config.yaml", "hparams.yaml"})
_CONFIG_SUFFIXES = (".config.json", ".config.yaml", ".config.yml")


@dataclass(eq=False)
class Folder:
    """One folder of the walk and the listing facts the tiers need."""

    path: str
    """Absolute path as walked (through links, if any)."""
    rel: str
    """Path relative to the root, "/"-separated; ``""`` for the root itself."""
    real: str
    """The folder's real path (links resolved), used for cache keys."""
    aux: dict[str, os.DirEntry[str]] = field(default_factory=dict)
    """Sidecar and config files in the folder, by name."""
    own_configs: bool = False
    """Whether the folder holds any ``<stem>.config.*`` file (checkpoints' own configs)."""
    shared_stems: frozenset[str] = frozenset()
    """Stems of two or more checkpoints here (``a.ckpt``, ``a.pt``): each has its own sidecar."""
    real_prefix: str = field(init=False)
    """``real`` with a trailing separator, to join names cheaply."""

    def __post_init__(self) -> None:
        self.real_prefix = self.real if self.real.endswith(os.sep) else self.real + os.sep


@dataclass(eq=False)
class FoundFile:
    """One checkpoint file found by the walk."""

    folder: Folder
    """The folder holding it."""
    name: str
    """File name."""
    size: int = 0
    """Size in bytes (of the link's target for a link)."""
    mtime: float = 0.0
    """Modification time, seconds."""
    mtime_ns: int = 0
    """Modification time, nanoseconds (cache key)."""
    ctime_ns: int = 0
    """Inode change time, nanoseconds (cache key: a copy over the file changes it, whatever the
    mtime says)."""
    ino: int = 0
    """Inode number (cache key: a file renamed over this one has another)."""
    is_link: bool = False
    """Whether the name is a symbolic link."""
    error: Issue | None = None
    """Set when the file cannot be used at all (a dangling link)."""
    path: str = field(init=False)
    """Absolute path as walked."""
    rel: str = field(init=False)
    """Path relative to the root, "/"-separated."""

    def __post_init__(self) -> None:
        folder = self.folder
        self.path = os.path.join(folder.path, self.name)
        self.rel = f"{folder.rel}/{self.name}" if folder.rel else self.name

    def real_path(self) -> str:
        """The real path of the file (resolving a link to its target)."""
        if self.is_link:
            return os.path.realpath(self.path)
        return self.folder.real_prefix + self.name


def compile_patterns(patterns: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive regular expression matching any of the glob ``patterns``."""
    parts = [fnmatch.translate(pattern) for pattern in patterns]
    if not parts:
        raise ValueError("no checkpoint patterns given")
    return re.compile("|".join(f"(?:{part})" for part in parts), re.IGNORECASE)


def is_skipped_dir(name: str, skip: frozenset[str] = SKIP_DIRS) -> bool:
    """Whether a folder called ``name`` is left out of the walk."""
    if name in skip:
        return True
    return name.startswith(".") and name not in ALLOWED_HIDDEN_DIRS


def walk(
    root: str,
    issues: list[Issue],
    *,
    patterns: Iterable[str] = DEFAULT_PATTERNS,
    skip: frozenset[str] = SKIP_DIRS,
) -> Iterator[tuple[Folder, list[FoundFile]]]:
    """Yield each folder under ``root`` with the checkpoints it holds, in a stable order.

    ``root`` must be an absolute path to a folder. Problems (unreadable folders, odd files,
    refused links) are appended to ``issues``; the walk never raises for them.
    """
    matcher = compile_patterns(patterns).match
    root_real = os.path.realpath(root)
    root_stat = os.stat(root)
    visited: set[tuple[int, int]] = {(root_stat.st_dev, root_stat.st_ino)}
    # Ancestors of the root: a link to one of them would re-walk the root or climb out of it.
    ancestors = _ancestors(root_real)
    stack: list[Folder] = [Folder(root, "", root_real)]
    linked: list[tuple[Folder, tuple[int, int]]] = []
    while stack or linked:
        if not stack:
            folder, key = linked.pop(0)
            if key in visited:
                continue  # reached already, through its real path or another link
            visited.add(key)
            stack.append(folder)
            continue
        folder = stack.pop()
        try:
            with os.scandir(folder.path) as listing:
                entries = sorted(listing, key=lambda item: item.name)
        except OSError as exc:
            message = f"cannot read folder: {_why(exc)}"
            issues.append(_scan_issue("scan.unreadable", folder.rel, message))
            continue
        files: list[FoundFile] = []
        subfolders: list[Folder] = []
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if is_skipped_dir(name, skip):
                    continue
                child = _child_folder(folder, entry, visited, linked, ancestors, issues)
                if child is not None:
                    subfolders.append(child)
                continue
            if name.endswith(_AUX_SUFFIXES) or name in _AUX_NAMES:
                folder.aux[name] = entry
                if name.endswith(_CONFIG_SUFFIXES):
                    folder.own_configs = True
            if matcher(name) and not is_temp_name(name):  # a writer's temp file is no entry
                found = _found_file(folder, entry, issues)
                if found is not None:
                    files.append(found)
        if len(files) > 1:
            folder.shared_stems = _shared_stems(files)
        yield folder, files
        stack.extend(reversed(subfolders))


def _child_folder(
    parent: Folder,
    entry: os.DirEntry[str],
    visited: set[tuple[int, int]],
    linked: list[tuple[Folder, tuple[int, int]]],
    ancestors: set[tuple[int, int]],
    issues: list[Issue],
) -> Folder | None:
    rel = f"{parent.rel}/{entry.name}" if parent.rel else entry.name
    try:
        is_link = entry.is_symlink()
        info = entry.stat()  # follows the link: the key of the folder it leads to
    except OSError as exc:
        issues.append(_scan_issue("scan.unreadable", rel, f"cannot read folder: {_why(exc)}"))
        return None
    key = (info.st_dev, info.st_ino)
    if is_link:
        if key in ancestors:
            issues.append(
                _scan_issue("scan.link-loop", rel, "link to the root or above it: not followed")
            )
            return None
        real = os.path.realpath(entry.path)
        linked.append((Folder(entry.path, rel, real), key))
        return None
    if key in visited:
        return None  # a bind mount of a folder already walked
    visited.add(key)
    return Folder(entry.path, rel, os.path.join(parent.real, entry.name))


def _found_file(folder: Folder, entry: os.DirEntry[str], issues: list[Issue]) -> FoundFile | None:
    found = FoundFile(folder, entry.name)
    try:
        found.is_link = entry.is_symlink()
        info = entry.stat()
    except OSError as exc:
        if found.is_link:
            found.error = Issue(
                severity="error",
                code="checkpoint.dangling-link",
                message=f"link to a missing file: {_why(exc)}",
            )
            return found
        issues.append(_scan_issue("scan.unreadable", found.rel, f"cannot stat: {_why(exc)}"))
        return None
    if not stat.S_ISREG(info.st_mode):
        # A FIFO would block whoever opens it; sockets and devices are not checkpoints either.
        issues.append(_scan_issue("scan.not-a-file", found.rel, "not a regular file: skipped"))
        return None
    found.size = info.st_size
    found.mtime = info.st_mtime
    found.mtime_ns = info.st_mtime_ns
    found.ctime_ns = info.st_ctime_ns
    found.ino = info.st_ino
    return found


def _shared_stems(files: list[FoundFile]) -> frozenset[str]:
    seen: set[str] = set()
    shared: set[str] = set()
    for found in files:
        stem = stem_of(found.name)
        if stem != found.name:
            (shared if stem in seen else seen).add(stem)
    return frozenset(shared)


def _ancestors(real: str) -> set[tuple[int, int]]:
    keys: set[tuple[int, int]] = set()
    path = real
    while True:
        try:
            info = os.stat(path)
            keys.add((info.st_dev, info.st_ino))
        except OSError:
            pass
        parent = os.path.dirname(path)
        if parent == path:
            return keys
        path = parent


def _scan_issue(code: str, rel: str, message: str) -> Issue:
    return Issue(severity="warning", code=code, message=f"{rel or '.'}: {message}")


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
