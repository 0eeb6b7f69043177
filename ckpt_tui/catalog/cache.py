"""The catalog cache: entries remembered per file, in memory and in SQLite.

Each checkpoint's entry is stored under its path relative to the root, with a signature
(:meth:`ckpt_tui.catalog.describe.Describer.prepare` makes it) of the code's version, the file's
real path, size, ``mtime_ns``, ``ctime_ns`` and inode (a file copied over another with the same
size and mtime is a new file), and the stat signatures of every sidecar and config that could
feed it. A new, changed or deleted checkpoint, sidecar or config anywhere in the tree therefore
changes or drops exactly the entries it affects — nothing depends on a folder's mtime.

- Persistent: ``$CKPT_TUI_CACHE_DIR/catalog.sqlite3``, else ``$XDG_CACHE_HOME/ckpt-tui/`` (default
  ``~/.cache/ckpt-tui/``), in WAL mode so two processes can share it.
- A corrupt cache file is deleted and rebuilt; a locked or unwritable one is skipped for the
  build. Both come back as warnings; neither ever stops a build.
- An in-process layer keeps the last builds' entries so a rescan re-reads nothing that did not
  change; entries handed out are copies, so callers may change them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckpt_tui import __version__
from ckpt_tui.model.entry import FIELD_NAMES, CheckpointCatalogEntry, Issue

CACHE_DIR_ENV = "CKPT_TUI_CACHE_DIR"
CACHE_FILE = "catalog.sqlite3"
SCHEMA_VERSION = 5
"""Bumped when the table layout changes; an older file is emptied."""
BUSY_TIMEOUT_SECONDS = 2.0
"""How long to wait for another process's lock before going on without the cache."""
MEMORY_ROOTS = 8
"""Roots whose entries the in-process layer keeps."""
EARLY_LOOKUPS = 64
"""Lookups answered from their own folder's rows (one small query per folder) before the rest of
the root's rows are read in one go: a build's first batch waits for the rows it needs, not for the
whole tree's."""


@dataclass(frozen=True)
class _Row:
    sig: str
    inspected: bool
    data: str
    """The entry as JSON: rows are never shared objects, so callers may change what they get."""


CACHE_KEY_SOURCES: tuple[str, ...] = ("model", "io", "sidecar", "sources", "reader", "catalog")
"""Packages of ``ckpt_tui`` whose source is part of the cache key: everything that decides what an
entry holds. A package the catalog starts using belongs here."""

_code_version: str | None = None
_files_seen: set[str] = set()  # cache files this process has used (to notice a deleted one)
_memory: OrderedDict[str, dict[str, _Row]] = OrderedDict()
_memory_lock = threading.Lock()


def cache_dir() -> Path:
    """Where the cache lives (``CKPT_TUI_CACHE_DIR`` overrides the XDG location)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ckpt-tui"


def code_version() -> str:
    """The package version plus a hash of the catalog's source: a code change empties the cache."""
    global _code_version
    if _code_version is None:
        digest = hashlib.sha1(__version__.encode())
        package = Path(__file__).resolve().parent.parent
        for name in CACHE_KEY_SOURCES:
            where = package / name
            files = sorted(where.rglob("*.py")) if where.is_dir() else [where]
            for path in files:
                with contextlib.suppress(OSError):
                    data = path.read_bytes()
                    digest.update(path.relative_to(package).as_posix().encode())
                    digest.update(data)
        _code_version = f"{__version__}+{digest.hexdigest()[:16]}"
    return _code_version


def clear_memory() -> None:
    """Forget the in-process layer (the persistent file is untouched)."""
    with _memory_lock:
        _memory.clear()


class CatalogCache:
    """One build's view of the cache for one root. Not shared between threads."""

    def __init__(self, root_real: str) -> None:
        self.root = root_real
        self.issues: list[Issue] = []
        """Warnings about the cache itself (rebuilt, locked, unavailable)."""
        self._memory: dict[str, _Row] = {}
        self._disk: dict[str, _Row] = {}
        self._disk_complete = False  # every row of the root read into _disk
        self._folders_read: set[str] = set()
        self._early_lookups = 0
        self._writes: dict[str, _Row] = {}
        self._fresh: dict[str, _Row] = {}
        self._db: sqlite3.Connection | None = None
        with _memory_lock:
            remembered = _memory.get(root_real)
            if remembered is not None:
                _memory.move_to_end(root_real)
                self._memory = remembered
        self._open()

    def lookup(self, rel: str, sig: str, *, need_inspected: bool) -> CheckpointCatalogEntry | None:
        """The cached entry for ``rel`` (a new object) if its signature still matches, else None."""
        if self._db is not None and not self._disk_complete:
            self._read_for(rel)
        for rows in (self._memory, self._disk):
            row = rows.get(rel)
            if row is None or row.sig != sig or (need_inspected and not row.inspected):
                continue
            try:
                entry = load_entry(row.data)
            except ValueError:
                continue  # an unreadable row is a miss; it is rewritten below
            self._fresh[rel] = row
            return entry
        return None

    def stored(self, rel: str) -> tuple[str, bool] | None:
        """The signature and ``inspected`` flag of the row remembered for ``rel``, if any."""
        if self._db is not None and not self._disk_complete:
            self._read_for(rel)
        row = self._fresh.get(rel) or self._memory.get(rel) or self._disk.get(rel)
        return None if row is None else (row.sig, row.inspected)

    def store(self, rel: str, sig: str, entry: CheckpointCatalogEntry, *, inspected: bool) -> None:
        """Remember ``entry`` as it is now (written to disk by :meth:`finish`)."""
        try:
            row = _Row(sig, inspected, dump_entry(entry))
        except (TypeError, ValueError):
            return  # not serialisable: simply not cached
        self._fresh[rel] = row
        self._writes[rel] = row

    def finish(self, *, complete: bool) -> None:
        """Write what was stored; when the walk was ``complete``, forget files no longer there."""
        kept = dict(self._fresh) if complete else {**self._memory, **self._fresh}
        with _memory_lock:
            _memory[self.root] = kept
            _memory.move_to_end(self.root)
            while len(_memory) > MEMORY_ROOTS:
                _memory.popitem(last=False)
        if self._db is None:
            return
        root = _key(self.root)
        if complete and not self._disk_complete:
            self._read_rows()  # to know which rows are gone
            if self._db is None:
                return
        gone = [rel for rel in self._disk if rel not in self._fresh] if complete else []
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries(root, rel, sig, inspected, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        (root, _key(rel), _key(row.sig), int(row.inspected), row.data)
                        for rel, row in self._writes.items()
                    ),
                )
                self._db.executemany(
                    "DELETE FROM entries WHERE root = ? AND rel = ?",
                    ((root, _key(rel)) for rel in gone),
                )
        except sqlite3.OperationalError as exc:  # locked, read-only, disk full: the file is fine
            self.issues.append(_warning("cache.write-failed", f"cache not updated: {exc}"))
        except sqlite3.DatabaseError as exc:
            # It opened, but its pages lie (malformed): without this every later build would
            # fail to write it again. Removed now, a fresh one is made by the next build.
            self._remove_corrupt(exc)
        except (sqlite3.Error, ValueError) as exc:
            self.issues.append(_warning("cache.write-failed", f"cache not updated: {exc}"))

    def close(self) -> None:
        """Close the database connection (safe to call twice)."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    # -- the SQLite file ---------------------------------------------------------------------

    def _open(self) -> None:
        folder = cache_dir()
        path = folder / CACHE_FILE
        try:
            deleted = str(path) in _files_seen and not path.exists()
        except OSError:  # the folder became unreadable: the open below says so
            deleted = False
        if deleted:
            message = f"cache file {path} was deleted; rebuilt"
            self.issues.append(_warning("cache.rebuilt", message))
        for attempt in (1, 2):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self._db = self._connect(path)  # its rows are read as lookups need them
                _files_seen.add(str(path))
                return
            except sqlite3.OperationalError as exc:
                # Locked by another process past the timeout, read-only, out of space: go on
                # without the persistent layer this time.
                self.close()
                self.issues.append(_warning("cache.unavailable", f"cache not used: {exc}"))
                return
            except (sqlite3.DatabaseError, OSError) as exc:
                if attempt == 2 or isinstance(exc, OSError):
                    self.close()
                    self.issues.append(_warning("cache.unavailable", f"cache not used: {exc}"))
                    return
                self._remove_corrupt(exc)

    def _connect(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                _create_schema(db)
        except BaseException:
            db.close()
            raise
        db.isolation_level = "DEFERRED"
        return db

    def _read_for(self, rel: str) -> None:
        """Make sure the stored row of ``rel`` (if any) is in ``_disk``."""
        if self._early_lookups >= EARLY_LOOKUPS:
            self._read_rows()
            return
        self._early_lookups += 1
        folder = rel.rpartition("/")[0]
        if folder in self._folders_read:
            return
        self._folders_read.add(folder)
        if not folder:
            self._read_rows()  # the root's own files: its subtree is everything
            return
        # The folder's subtree: rel from "folder/" up to, not including, "folder0" ("0" follows
        # "/" in byte order). Rows of deeper folders come along and are simply kept.
        self._read_rows("AND rel >= ? AND rel < ?", (_key(folder + "/"), _key(folder + "0")))

    def _read_rows(self, where: str = "", params: tuple[bytes, ...] = ()) -> None:
        """Read the root's rows (all, or those ``where`` selects) into ``_disk``.

        The same policy as opening: a locked file is skipped for this build, a corrupt one is
        deleted and started afresh, each with a warning.
        """
        assert self._db is not None
        try:
            cursor = self._db.execute(
                f"SELECT rel, sig, inspected, data FROM entries WHERE root = ? {where}",
                (_key(self.root), *params),
            )
            # A damaged or foreign file can hold rows of other types: they are misses, not
            # crashes.
            self._disk.update(
                (_text(rel), _Row(_text(sig), bool(inspected), data))
                for rel, sig, inspected, data in cursor
                if type(rel) is bytes and type(sig) is bytes and type(data) is str
            )
        except sqlite3.OperationalError as exc:
            self.close()
            self.issues.append(_warning("cache.unavailable", f"cache not used: {exc}"))
            return
        except sqlite3.DatabaseError as exc:
            self._remove_corrupt(exc)
            self._disk = {}
            self._open()
            self._disk_complete = True  # a new file holds no rows
            return
        if not where:
            self._disk_complete = True

    def _remove_corrupt(self, exc: sqlite3.DatabaseError) -> None:
        """Close and delete a corrupt cache file, with a warning; the next open starts afresh."""
        self.close()
        path = cache_dir() / CACHE_FILE
        message = f"cache file {path} was corrupt ({exc}); rebuilt"
        self.issues.append(_warning("cache.rebuilt", message))
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(f"{path}{suffix}")
        _files_seen.discard(str(path))  # removed here, not "deleted" by someone else


def _create_schema(db: sqlite3.Connection) -> None:
    # Two processes may get here at once: the write lock taken by BEGIN IMMEDIATE serialises
    # them, and the second finds the schema made when it looks again inside its transaction.
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            db.execute("DROP TABLE IF EXISTS entries")
            # A rowid table: rows are ~1 KB, too large for WITHOUT ROWID to pay off.
            db.execute(
                "CREATE TABLE entries (id INTEGER PRIMARY KEY, root BLOB NOT NULL, "
                "rel BLOB NOT NULL, sig BLOB NOT NULL, inspected INTEGER NOT NULL, "
                "data TEXT NOT NULL)"
            )
            db.execute("CREATE UNIQUE INDEX entries_key ON entries (root, rel)")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


def _text(key: bytes) -> str:
    # os.fsdecode without its per-call checks: this runs for every row read.
    return key.decode(_FS_ENCODING, _FS_ERRORS)


_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _key(text: str) -> bytes:
    # Paths may hold undecodable bytes (lone surrogates), which SQLite's UTF-8 text refuses:
    # store the real bytes.
    return os.fsencode(text)


# A row: two JSON texts joined by a newline (never in compact ASCII JSON): the provenance, then
# every field in FIELD_NAMES order (issues as [severity, code, message]; abs_path, mtime and
# provenance blank). An array parses faster than an object, and provenance texts repeat.
_ABS_PATH_AT = FIELD_NAMES.index("abs_path")
_MTIME_AT = FIELD_NAMES.index("mtime")
_PROVENANCE_AT = FIELD_NAMES.index("provenance")
_ISSUES_AT = FIELD_NAMES.index("issues")
_DETAILS_AT = FIELD_NAMES.index("details")
_PROVENANCE_MEMO: dict[str, dict[str, str]] = {}
_PROVENANCE_MEMO_LIMIT = 4096


def dump_entry(entry: CheckpointCatalogEntry) -> str:
    """The entry as compact JSON text, details included (``abs_path`` and ``mtime`` are not)."""
    row: list[Any] = [getattr(entry, name) for name in FIELD_NAMES]
    row[_ABS_PATH_AT] = ""
    row[_MTIME_AT] = None
    row[_PROVENANCE_AT] = None
    row[_ISSUES_AT] = [[issue.severity, issue.code, issue.message] for issue in entry.issues]
    row[_DETAILS_AT] = entry.details or None
    # ensure_ascii escapes lone surrogates (undecodable path bytes) that UTF-8 text refuses.
    provenance = json.dumps(entry.provenance, ensure_ascii=True, separators=(",", ":"))
    values = json.dumps(row, ensure_ascii=True, separators=(",", ":"), default=repr)
    return f"{provenance}\n{values}"


def load_entry(data: str) -> CheckpointCatalogEntry:
    """The entry :func:`dump_entry` wrote (``ValueError`` when the text is not one)."""
    provenance, _, text = data.partition("\n")
    row = json.loads(text)
    if type(row) is not list or len(row) != len(FIELD_NAMES):
        raise ValueError("not a cached entry row")
    row[_PROVENANCE_AT] = _provenance(provenance)
    row[_DETAILS_AT] = row[_DETAILS_AT] or {}
    try:
        row[_ISSUES_AT] = [
            Issue(severity=severity, code=code, message=message)
            for severity, code, message in row[_ISSUES_AT]
        ]
        return CheckpointCatalogEntry.from_row(row)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a cached entry: {exc}") from None


def _provenance(text: str) -> dict[str, str]:
    known = _PROVENANCE_MEMO.get(text)
    if known is None:
        known = json.loads(text)
        if type(known) is not dict:
            raise ValueError("not a cached provenance")
        if len(_PROVENANCE_MEMO) >= _PROVENANCE_MEMO_LIMIT:
            _PROVENANCE_MEMO.clear()
        _PROVENANCE_MEMO[text] = known
    return known  # shared: nothing changes a loaded entry's provenance in place (~65 MB/100k)


def _warning(code: str, message: str) -> Issue:
    return Issue(severity="warning", code=code, message=message)
