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
- An in-process layer keeps the last builds' entries (packed:
  :func:`~ckpt_tui.model.stored.pack_entry`) so a rescan re-reads nothing that did not change;
  entries handed out are copies, so callers may change them.
- A build reads the file's keys (path and rowid) up front and the rows themselves in small runs
  of rowids as lookups reach them, dropping each once used: the rows' text never sits in memory
  all at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ckpt_tui import __version__
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.model.stored import Packed, dump_entry, load_entry, pack_entry, unpack_entry

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
ROWID_RUN = 256
"""Rowids read together: rows are written in walk order, so a run holds the next lookups' rows."""


@dataclass(frozen=True, slots=True)
class _Row:
    """A row of the cache file."""

    sig: str
    inspected: bool
    data: str
    """The entry as :func:`~ckpt_tui.model.stored.dump_entry` text."""


class _Kept(NamedTuple):
    """What the in-process layer keeps of one entry (a tuple of untracked values: the garbage
    collector skips it)."""

    sig: str
    inspected: bool
    packed: Packed
    """Never handed out: :func:`~ckpt_tui.model.stored.unpack_entry` makes each caller a copy."""


CACHE_KEY_SOURCES: tuple[str, ...] = ("model", "io", "sidecar", "sources", "reader", "catalog")
"""Packages of ``ckpt_tui`` whose source is part of the cache key: everything that decides what an
entry holds. A package the catalog starts using belongs here."""

_code_version: str | None = None
_files_seen: set[str] = set()  # cache files this process has used (to notice a deleted one)
_memory: OrderedDict[str, dict[str, _Kept]] = OrderedDict()
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
        self._memory: dict[str, _Kept] = {}
        self._disk: dict[str, int] = {}  # rel -> rowid of the file's rows of this root
        self._disk_complete = False  # every row's key of the root read into _disk
        self._folders_read: set[str] = set()
        self._early_lookups = 0
        self._rows: dict[int, _Row] = {}  # rows read by rowid and not yet used
        self._runs_read: set[int] = set()  # rowid // ROWID_RUN of every run read
        self._writes: dict[str, _Row] = {}
        self._fresh: dict[str, _Kept] = {}
        self._db: sqlite3.Connection | None = None
        with _memory_lock:
            remembered = _memory.get(root_real)
            if remembered is not None:
                _memory.move_to_end(root_real)
                self._memory = remembered
        self._open()

    def lookup(self, rel: str, sig: str, *, need_inspected: bool) -> CheckpointCatalogEntry | None:
        """The cached entry for ``rel`` (a new object) if its signature still matches, else None."""
        kept = self._memory.get(rel)
        if kept is not None and kept.sig == sig and (kept.inspected or not need_inspected):
            self._fresh[rel] = kept
            return unpack_entry(kept.packed)
        row = self._disk_row(rel, keep=False)
        if row is None or row.sig != sig or (need_inspected and not row.inspected):
            return None
        try:
            entry = load_entry(row.data)
        except ValueError:
            return None  # an unreadable row is a miss; it is rewritten
        if entry.checkpoint_path == rel:
            entry.checkpoint_path = rel  # the walk's string, which the layer's key keeps anyway
        self._fresh[rel] = _Kept(row.sig, row.inspected, pack_entry(entry, row.data))
        return entry

    def stored(self, rel: str) -> tuple[str, bool] | None:
        """The signature and ``inspected`` flag of the row remembered for ``rel``, if any."""
        row: _Kept | _Row | None = self._fresh.get(rel) or self._memory.get(rel)
        if row is None:
            row = self._disk_row(rel, keep=True)
        return None if row is None else (row.sig, row.inspected)

    def store(self, rel: str, sig: str, entry: CheckpointCatalogEntry, *, inspected: bool) -> None:
        """Remember ``entry`` as it is now (written to disk by :meth:`finish`)."""
        try:
            row = _Row(sig, inspected, dump_entry(entry))
            packed = pack_entry(entry, row.data)
        except (TypeError, ValueError):
            return  # not serialisable: simply not cached
        self._fresh[rel] = _Kept(sig, inspected, packed)
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
            self._read_keys()  # to know which rows are gone
            if self._db is None:
                return
        self._rows.clear()  # rows no lookup used (their files are gone or changed)
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

    def _disk_row(self, rel: str, *, keep: bool) -> _Row | None:
        """The cache file's row of ``rel``, if any, read with the next rowids' rows; forgotten
        once taken unless ``keep`` (a build looks each file up once)."""
        if self._db is not None and not self._disk_complete:
            self._read_for(rel)
        # A taken key goes too: the keys of the rows not looked up (files gone) are what is left.
        rowid = self._disk.get(rel) if keep else self._disk.pop(rel, None)
        if rowid is None:
            return None
        run = rowid // ROWID_RUN
        if run not in self._runs_read and self._db is not None:
            self._runs_read.add(run)
            found = self._query(
                "SELECT id, sig, inspected, data FROM entries WHERE id >= ? AND id < ? "
                "AND +root = ?",  # "+": by rowid, not by the (root, rel) index
                (run * ROWID_RUN, (run + 1) * ROWID_RUN, _key(self.root)),
            )
            # A damaged or foreign file can hold rows of other types: they are misses, not
            # crashes.
            self._rows.update(
                (rowid, _Row(_text(sig), bool(inspected), data))
                for rowid, sig, inspected, data in found
                if type(sig) is bytes and type(data) is str
            )
        return self._rows.get(rowid) if keep else self._rows.pop(rowid, None)

    def _read_for(self, rel: str) -> None:
        """Make sure the stored row of ``rel`` (if any) has its key in ``_disk``."""
        if self._early_lookups >= EARLY_LOOKUPS:
            self._read_keys()
            return
        self._early_lookups += 1
        folder = rel.rpartition("/")[0]
        if folder in self._folders_read:
            return
        self._folders_read.add(folder)
        if not folder:
            self._read_keys()  # the root's own files: its subtree is everything
            return
        # The folder's subtree: rel from "folder/" up to, not including, "folder0" ("0" follows
        # "/" in byte order). Keys of deeper folders come along and are simply kept.
        self._read_keys("AND rel >= ? AND rel < ?", (_key(folder + "/"), _key(folder + "0")))

    def _read_keys(self, where: str = "", params: tuple[bytes, ...] = ()) -> None:
        """Read the paths and rowids of the root's rows (all, or those ``where`` selects)."""
        found = self._query(
            f"SELECT rel, id FROM entries WHERE root = ? {where}", (_key(self.root), *params)
        )
        self._disk.update(
            (_text(rel), rowid) for rel, rowid in found if type(rel) is bytes and type(rowid) is int
        )
        if not where and self._db is not None:
            self._disk_complete = True

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The rows ``sql`` selects, or none when the file fails.

        The same policy as opening: a locked file is skipped for this build, a corrupt one is
        deleted and started afresh, each with a warning.
        """
        assert self._db is not None
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            self.close()
            self.issues.append(_warning("cache.unavailable", f"cache not used: {exc}"))
        except sqlite3.DatabaseError as exc:
            self._remove_corrupt(exc)
            self._disk = {}
            self._rows = {}
            self._open()
            self._disk_complete = True  # a new file holds no rows
        return []

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


def _warning(code: str, message: str) -> Issue:
    return Issue(severity="warning", code=code, message=message)
