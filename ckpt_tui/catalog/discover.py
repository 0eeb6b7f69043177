"""Finding checkpoints: one ``os.scandir`` walk of the tree, each folder read once.

- Patterns (:data:`DEFAULT_PATTERNS`) are matched case-insensitively against file names.
- Links to files are followed (``last.ckpt`` is often one); only regular files are checkpoints,
  so a FIFO, socket or device named ``x.ckpt`` is reported and never opened.
- Folder links are followed once: every folder walked is remembered by ``(st_dev, st_ino)``,
  real folders are walked before linked ones (so a file is reported under its real path), and a
  link to the root or one of its ancestors is refused, so no link can make the walk loop or
  escape to the whole filesystem.
- ``.git``, ``__pycache__``, ``wandb``, ``.venv``, ``node_modules`` and hidden folders other than
  ``.hydra`` are skipped; ``lightning_logs`` is not (Lightning puts checkpoints there).
- A folder that cannot be read becomes an issue and the walk goes on. A folder checkpoint
  (``sources.layout``) is one entry; a writer's temp file is none. Paths stay ``str`` as ``os``
  gives them (undecodable bytes as lone surrogates); whoever displays them escapes them.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ckpt_tui.io.atomic import is_temp_name
from ckpt_tui.model.entry import Issue
from ckpt_tui.sidecar.files import shared_stems
from ckpt_tui.sources.layout import folder_kind, read_latest, starts_like_checkpoint

DEFAULT_PATTERNS: tuple[str, ...] = (
    "*.ckpt", "*.pt", "*.pth", "*.pth.tar", "*.bin", "*.safetensors", "*.pt2",
)  # fmt: skip
"""File names that are checkpoints (a ``.bin`` only when its first bytes are a checkpoint's)."""
SKIP_DIRS: frozenset[str] = frozenset({".git", "__pycache__", "wandb", ".venv", "node_modules"})
ALLOWED_HIDDEN_DIRS: frozenset[str] = frozenset({".hydra"})
"""Folders never walked (``SKIP_DIRS``), and hidden folders that are walked anyway."""

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
    parent: Folder | None = None
    """The folder above in the walk (``None`` for the root)."""
    listing: list[os.DirEntry[str]] | None = None
    """Its entries, when read before its turn in the walk (then not read again)."""
    checked: bool = False
    """Whether the walk already knows if it is a folder checkpoint (from the folder above)."""
    parts: set[str] | None = None
    """The names that are parts of the checkpoint it is, when it is one."""
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
    kind: str | None = None
    """The format of a folder checkpoint (``hf-trainer``, ``hf-model``, ``dcp``, ``deepspeed``);
    ``None`` for a file."""
    folder_state: str | None = None
    """A folder checkpoint's cache state: the folder's own stat, then its files' (count, bytes,
    newest mtime and ctime)."""
    path: str = field(init=False)
    """Absolute path as walked."""
    rel: str = field(init=False)
    """Path relative to the root, "/"-separated."""

    def __post_init__(self) -> None:
        folder = self.folder
        self.path = os.path.join(folder.path, self.name)
        self.rel = f"{folder.rel}/{self.name}" if folder.rel else self.name

    @property
    def is_folder(self) -> bool:
        """Whether this checkpoint is a folder of files."""
        return self.kind is not None

    def real_path(self) -> str:
        """The real path of the file (resolving a link to its target)."""
        if self.is_link:
            return os.path.realpath(self.path)
        return self.folder.real_prefix + self.name


_FORMAT_BY_SUFFIX = {".safetensors": "safetensors", ".pt2": "exported-program"}


def format_by_name(found: FoundFile) -> tuple[str, str] | None:
    """The entry's ``format`` and its provenance when the walk alone tells it: the marker files
    of a folder checkpoint, or a suffix only one format uses; ``None`` until the file is read."""
    if found.kind is not None:
        return found.kind, "the folder's files"
    dot = found.name.rfind(".")
    suffix = found.name[dot:].lower() if dot > 0 else ""
    guessed = _FORMAT_BY_SUFFIX.get(suffix)
    return None if guessed is None else (guessed, f"file name suffix {suffix}")


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
    patterns = tuple(patterns)
    matcher = compile_patterns(patterns).match
    any_folder = patterns == DEFAULT_PATTERNS  # else a folder checkpoint's name must match
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
        entries = folder.listing if folder.listing is not None else _listing(folder, issues)
        folder.listing = None
        if entries is None:
            continue
        parts = folder.parts
        if not folder.checked:  # the root, or a folder reached through a link
            checkpoint = _folder_checkpoint(folder, entries, any_folder, matcher, issues)
            if checkpoint is not None:
                yield checkpoint[0].folder, [checkpoint[0]]
                parts = checkpoint[1]
        if parts is not None:
            # A folder checkpoint's own files are parts of it, never rows; its subfolders
            # (a Trainer's output folder holds checkpoint-N folders) are walked.
            entries = [e for e in entries if e.name not in parts and _is_dir(e)]
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
                    # Listed now (once): a folder checkpoint is an entry of this folder.
                    child.listing = _listing(child, issues)
                    if child.listing is None:
                        continue  # unreadable: reported once, by _listing
                    child.checked = True
                    checkpoint = _folder_checkpoint(
                        child, child.listing, any_folder, matcher, issues
                    )
                    if checkpoint is not None:
                        files.append(checkpoint[0])
                        child.parts = checkpoint[1]
                    subfolders.append(child)
                continue
            if name.endswith(_AUX_SUFFIXES) or name in _AUX_NAMES:
                folder.aux[name] = entry
                if name.endswith(_CONFIG_SUFFIXES):
                    folder.own_configs = True
            if matcher(name) and not is_temp_name(name):  # a writer's temp file is no entry
                found = _found_file(folder, entry, issues)
                if found is None:
                    continue
                bin_file = name.lower().endswith(".bin")
                if found.error is None and bin_file and not starts_like_checkpoint(found.path):
                    continue
                files.append(found)
        if len(files) > 1:
            folder.shared_stems = shared_stems(found.name for found in files)
        yield folder, files
        stack.extend(reversed(subfolders))


def _listing(folder: Folder, issues: list[Issue]) -> list[os.DirEntry[str]] | None:
    """The folder's entries by name, or ``None`` (with a scan issue) when it cannot be read."""
    try:
        with os.scandir(folder.path) as listing:
            return sorted(listing, key=lambda item: item.name)
    except OSError as exc:
        issues.append(
            _scan_issue("scan.unreadable", folder.rel, f"cannot read folder: {_why(exc)}")
        )
        return None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _folder_checkpoint(
    folder: Folder,
    entries: list[os.DirEntry[str]],
    any_folder: bool,
    matcher: Callable[[str], object],
    issues: list[Issue],
) -> tuple[FoundFile, set[str]] | None:
    """The checkpoint ``folder`` is, as a found file of the folder above, and the names of its
    listing that are its parts; ``None`` when it is no folder checkpoint."""
    files = {e.name: e for e in entries if not _is_dir(e)}
    dirs = {e.name: e for e in entries if e.name not in files}
    kind = folder_kind(files, dirs, lambda: read_latest(files["latest"].path))
    name = os.path.basename(folder.path.rstrip(os.sep)) or folder.path
    if kind is None or not (any_folder or matcher(name)):
        return None
    parent = folder.parent
    if parent is None:  # the root itself: listed under its own name
        parent = Folder(os.path.dirname(folder.path), "", os.path.dirname(folder.real))
    found = FoundFile(parent, name, kind=kind[0])
    parts = set(files)
    members: list[tuple[str, int, int, int]] = []
    listings = [("", list(files.values()))]
    if kind[0] == "deepspeed":
        tag = read_latest(files["latest"].path) or ""
        parts.add(tag)
        try:
            with os.scandir(dirs[tag].path) as listing:
                listings.append((tag + "/", sorted(listing, key=lambda e: e.name)))
        except OSError as exc:
            issues.append(_scan_issue("scan.unreadable", f"{folder.rel}/{tag}", _why(exc)))
    for prefix, listed in listings:
        for entry in listed:
            try:
                info = entry.stat()
            except OSError:
                continue  # a dangling link among the parts: the folder's reader reports it
            if stat.S_ISREG(info.st_mode):
                members.append(
                    (prefix + entry.name, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
                )
    try:
        own = os.stat(folder.path)
    except OSError as exc:
        issues.append(_scan_issue("scan.unreadable", folder.rel, _why(exc)))
        return None
    found.size = sum(size for _n, size, _m, _c in members)
    found.mtime_ns = max((m for _n, _s, m, _c in members), default=own.st_mtime_ns)
    found.ctime_ns = max((c for _n, _s, _m, c in members), default=own.st_ctime_ns)
    found.mtime = found.mtime_ns / 1e9
    found.ino = own.st_ino
    found.folder_state = (
        f"{own.st_size}:{own.st_mtime_ns}:{own.st_ctime_ns}:{own.st_ino}|"
        f"{len(members)}:{found.size}:{found.mtime_ns}:{found.ctime_ns}"
    )
    return found, parts


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
        linked.append((Folder(entry.path, rel, real, parent=parent), key))
        return None
    if key in visited:
        return None  # a bind mount of a folder already walked
    visited.add(key)
    return Folder(entry.path, rel, os.path.join(parent.real, entry.name), parent=parent)


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


def _ancestors(real: str) -> set[tuple[int, int]]:
    keys: set[tuple[int, int]] = set()
    path = real
    while True:
        try:
            info = os.stat(path)
        except OSError:
            info = None  # an ancestor we cannot stat guards no loop
        if info is not None:
            keys.add((info.st_dev, info.st_ino))
        parent = os.path.dirname(path)
        if parent == path:
            return keys
        path = parent


def _scan_issue(code: str, rel: str, message: str) -> Issue:
    return Issue(severity="warning", code=code, message=f"{rel or '.'}: {message}")


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
