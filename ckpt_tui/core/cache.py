"""The catalog cache: entries remembered per file, in memory and in SQLite.

Each checkpoint's entry is stored under its path relative to the root, with a signature made of
the code's version, the file's real path, size and ``mtime_ns``, and the stat signatures of every
sidecar and config that could feed it. A new, changed or deleted checkpoint, sidecar or config
anywhere in the tree therefore changes or drops exactly the entries it affects — nothing depends
on a folder's mtime.

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
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckpt_tui import __version__
from ckpt_tui.core.entry import CheckpointCatalogEntry, Issue

CACHE_DIR_ENV = "CKPT_TUI_CACHE_DIR"
CACHE_FILE = "catalog.sqlite3"
SCHEMA_VERSION = 2
"""Bumped when the table layout changes; an older file is emptied."""
BUSY_TIMEOUT_SECONDS = 2.0
"""How long to wait for another process's lock before going on without the cache."""
MEMORY_ROOTS = 8
"""Roots whose entries the in-process layer keeps."""


@dataclass
class _Row:
    sig: str
    inspected: bool
    entry: CheckpointCatalogEntry | None = None
    data: str | None = None


_code_version: str | None = None
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
    """The package version plus a hash of the core's source: any code change empties the cache."""
    global _code_version
    if _code_version is None:
        digest = hashlib.sha1(__version__.encode())
        core = Path(__file__).resolve().parent
        for path in sorted(core.rglob("*.py")):
            digest.update(path.relative_to(core).as_posix().encode())
            with contextlib.suppress(OSError):
                digest.update(path.read_bytes())
        _code_version = f"{__version__}+{digest.hexdigest()[:16]}"
    return _code_version


def clear_memory() -> None:
    """Forget the in-process layer (the persistent file is untouched)."""
    with _memory_lock:
        _memory.clear()


class CatalogCache:
    """One build's view of the cache for one root. Not shared between threads."""

    def __init__(self, root_real: str, *, persistent: bool = True) -> None:
        self.root = root_real
        self.issues: list[Issue] = []
        """Warnings about the cache itself (rebuilt, locked, unavailable)."""
        self._rows: dict[str, _Row] = {}
        self._writes: dict[str, _Row] = {}
        self._fresh: dict[str, _Row] = {}
        self._db: sqlite3.Connection | None = None
        with _memory_lock:
            remembered = _memory.get(root_real)
            if remembered is not None:
                _memory.move_to_end(root_real)
                self._rows.update(remembered)
        if persistent:
            self._open()

    # -- lookups -----------------------------------------------------------------------------

    def lookup(self, rel: str, sig: str, *, need_inspected: bool) -> CheckpointCatalogEntry | None:
        """A copy of the cached entry for ``rel`` if its signature still matches, else ``None``."""
        row = self._rows.get(rel)
        if row is None or row.sig != sig or (need_inspected and not row.inspected):
            return None
        if row.entry is None:
            try:
                row.entry = _load_entry(row.data or "")
            except (ValueError, TypeError):
                return None  # an unreadable row is a miss; it is rewritten below
        self._fresh[rel] = row
        return _copy(row.entry)

    def store(self, rel: str, sig: str, entry: CheckpointCatalogEntry, *, inspected: bool) -> None:
        """Remember ``entry`` (written to disk by :meth:`finish`)."""
        row = _Row(sig, inspected, _copy(entry))
        self._fresh[rel] = row
        self._writes[rel] = row

    def finish(self, *, complete: bool) -> None:
        """Write what was stored; when the walk was ``complete``, forget files no longer there."""
        kept = dict(self._rows if not complete else {})
        kept.update(self._fresh)
        with _memory_lock:
            _memory[self.root] = kept
            _memory.move_to_end(self.root)
            while len(_memory) > MEMORY_ROOTS:
                _memory.popitem(last=False)
        if self._db is None:
            return
        gone = [rel for rel in self._rows if rel not in self._fresh] if complete else []
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries(root, rel, sig, inspected, data) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        (_key(self.root), _key(rel), _key(row.sig), int(row.inspected), _dump(row))
                        for rel, row in self._writes.items()
                    ),
                )
                self._db.executemany(
                    "DELETE FROM entries WHERE root = ? AND rel = ?",
                    ((_key(self.root), _key(rel)) for rel in gone),
                )
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
        for attempt in (1, 2):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self._db = self._connect(path)
                self._load_rows()
                return
            except sqlite3.OperationalError as exc:
                # Locked by another process past the timeout, read-only, out of space: go on
                # without the persistent layer this time.
                self.close()
                self.issues.append(_warning("cache.unavailable", f"cache not used: {exc}"))
                return
            except (sqlite3.DatabaseError, OSError) as exc:
                self.close()
                if attempt == 2 or isinstance(exc, OSError):
                    self.issues.append(_warning("cache.unavailable", f"cache not used: {exc}"))
                    return
                self.issues.append(
                    _warning("cache.rebuilt", f"cache file {path} was corrupt ({exc}); rebuilt")
                )
                _remove_database(path)

    def _connect(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                with db:
                    db.execute("DROP TABLE IF EXISTS entries")
                    db.execute(
                        "CREATE TABLE entries (root BLOB NOT NULL, rel BLOB NOT NULL, "
                        "sig BLOB NOT NULL, inspected INTEGER NOT NULL, data TEXT NOT NULL, "
                        "PRIMARY KEY (root, rel)) WITHOUT ROWID"
                    )
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            db.close()
            raise
        db.isolation_level = "DEFERRED"
        return db

    def _load_rows(self) -> None:
        assert self._db is not None
        cursor = self._db.execute(
            "SELECT rel, sig, inspected, data FROM entries WHERE root = ?", (_key(self.root),)
        )
        for rel_bytes, sig, inspected, data in cursor:
            rel = os.fsdecode(rel_bytes)
            sig = os.fsdecode(sig)
            remembered = self._rows.get(rel)
            if remembered is not None and remembered.sig == sig:
                continue  # the in-process copy is already parsed
            self._rows[rel] = _Row(sig, bool(inspected), None, data)


def _key(text: str) -> bytes:
    # Paths may hold undecodable bytes (lone surrogates), which SQLite's UTF-8 text refuses:
    # store the real bytes.
    return os.fsencode(text)


def _dump(row: _Row) -> str:
    assert row.entry is not None
    data: dict[str, Any] = row.entry.model_dump(
        mode="json", exclude={"display_name"}, exclude_defaults=True
    )
    data["details"] = row.entry.details
    # ensure_ascii escapes lone surrogates, which SQLite's UTF-8 text would refuse.
    return json.dumps(data, ensure_ascii=True, default=repr)


def _load_entry(data: str) -> CheckpointCatalogEntry:
    if "\\ud" in data:
        # pydantic's JSON parser refuses escaped lone surrogates; the json module keeps them.
        return CheckpointCatalogEntry.model_validate(json.loads(data))
    return CheckpointCatalogEntry.model_validate_json(data)


def _copy(entry: CheckpointCatalogEntry) -> CheckpointCatalogEntry:
    return entry.model_copy(
        update={
            "issues": list(entry.issues),
            "provenance": dict(entry.provenance),
            "additional_metrics": dict(entry.additional_metrics),
            "details": dict(entry.details),
        }
    )


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            os.unlink(f"{path}{suffix}")


def _warning(code: str, message: str) -> Issue:
    return Issue(severity="warning", code=code, message=message)
