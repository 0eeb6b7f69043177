"""Byte-range sources: what the safe reader reads a checkpoint through, local or remote.

A :class:`ByteSource` is a size, ``read_at(offset, length)`` and an identity for the cache. Two
implementations: :class:`LocalFileSource` (``pread`` on one open descriptor) and
:class:`RemoteObjectSource` (ranged GETs of one object in an fsspec store: S3, GCS, ...).

A remote object is read in a few large, exact ranges instead of fsspec's read-ahead blocks: a
speculative read at the start (a torch zip's ``data.pkl`` is its first member), a suffix read of
the zip directory, and one more only when the pickle is longer than the first read. Every fetched
range is kept, so the many small reads of a parser cost no extra request.

The stores themselves (URLs, filesystems, errors, retries) are in :mod:`ckpt_tui.io.stores`.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ckpt_tui.io.stores import StorageError, retrying

HEAD_FETCH_BYTES = 256 * 1024
"""The first read of a remote object fetches at least this much from its start."""
MIN_FETCH_BYTES = 16 * 1024
"""Any other read that misses fetches at least this much (a member's header and its value)."""
WHOLE_FETCH_BYTES = 384 * 1024
"""An object this small is fetched whole by its first read: one request instead of two."""
MAX_REQUESTS = 32
"""Ranged requests one remote checkpoint may cost; past it, reads come back empty (a hostile
file naming a thousand scattered scalar values is read as truncated there, never fetched)."""


class ByteSource(Protocol):
    """Bytes that can be read at any offset: a local file or a remote object."""

    size: int
    """Size in bytes."""
    identity: str
    """What the cache knows the bytes by (path or URL, size, and mtime/inode or ETag)."""
    requests: int
    """Reads that reached the file or the store so far."""

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer only at the end)."""
        ...

    def close(self) -> None:
        """Release the source (idempotent)."""
        ...


class NotRegularFileError(OSError):
    """A path that is not a regular file (a FIFO, a device): never opened for reading."""


class LocalFileSource:
    """A local file read with ``pread`` on one descriptor."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        # O_NONBLOCK: a FIFO named like a checkpoint must not hang the scan (refused below).
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
        self._fd = os.open(path, flags)
        try:
            info = os.fstat(self._fd)
        except OSError:
            os.close(self._fd)
            raise
        if not stat.S_ISREG(info.st_mode):
            os.close(self._fd)
            raise NotRegularFileError("not a regular file")
        self.size = info.st_size
        self.identity = f"{os.fspath(path)}|{info.st_size}:{info.st_mtime_ns}:{info.st_ino}"
        self.requests = 0

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``."""
        self.requests += 1
        return os.pread(self._fd, length, offset)

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class ByteWindow:
    """``length`` bytes of another source, from ``offset`` on, read as a source of their own: an
    object stored inside a larger file (one of DCP's objects in a ``.distcp`` shard). Closing it
    leaves the other source open: its owner closes it. ``name`` is what messages call it."""

    def __init__(self, source: ByteSource, offset: int, length: int, name: str) -> None:
        self._source = source
        self._offset = offset
        self.size = max(0, min(length, source.size - offset))
        self.identity = f"{source.identity}@{offset}+{self.size}"
        self.url = name
        self.requests = 0

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` of the window (none past its end)."""
        if offset < 0 or offset >= self.size:
            return b""
        self.requests += 1
        return self._source.read_at(self._offset + offset, min(length, self.size - offset))

    def close(self) -> None:
        """Nothing to release: the underlying source is its owner's."""


class StoreHealth:
    """Shared by the objects of one root: after :data:`GIVE_UP_AFTER` reads in a row failed
    because the store was unreachable (the connection was lost mid-scan), the next ones fail at
    once instead of each retrying for seconds."""

    GIVE_UP_AFTER = 3

    def __init__(self) -> None:
        self.failures = 0
        self.last: StorageError | None = None

    def check(self, url: str) -> None:
        """Raise at once when the store is known to be gone."""
        if self.failures >= self.GIVE_UP_AFTER and self.last is not None:
            raise StorageError(
                "storage.unreachable",
                f"{url}: not read: the store stopped answering ({self.last.message[:160]})",
            )

    def record(self, error: StorageError | None) -> None:
        """A read's outcome: ``None`` for success."""
        if error is None:
            self.failures = 0
        elif error.code == "storage.unreachable":
            self.failures += 1
            self.last = error


class RemoteObjectSource:
    """One object of an fsspec store, read with a few exact ranged GETs; fetched ranges are kept.

    ``size`` and ``etag`` come from the listing, so opening costs no request. ``requests`` and
    ``bytes_fetched`` count what really went over the network.
    """

    def __init__(
        self, fs: Any, path: str, size: int, etag: str, url: str, health: StoreHealth | None = None
    ) -> None:
        self._fs = fs
        self._health = health or StoreHealth()
        self._path = path
        self.size = size
        self.url = url
        self.identity = f"{url}|{size}:{etag}"
        self.requests = 0
        self.bytes_fetched = 0
        self._ranges: list[tuple[int, bytes]] = []
        self._lock = threading.Lock()

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``, from the kept ranges or one more GET."""
        end = min(self.size, offset + length)
        if offset >= end:
            return b""
        with self._lock:
            for start, data in self._ranges:
                if start <= offset < start + len(data):
                    have = data[offset - start : end - start]
                    if offset + len(have) >= end:
                        return have
                    # The kept range covers a prefix: fetch only the rest.
                    return have + self._fetch(offset + len(have), end)
            return self._fetch(offset, end, around=True)

    def _fetch(self, offset: int, end: int, around: bool = False) -> bytes:
        """Bytes ``offset:end``, with one GET of at least the minimum size; ``around``: a small
        read also takes the bytes just before it (the next small read is often there: torch
        writes the one-element storages of a callback's scores next to each other)."""
        if self.requests >= MAX_REQUESTS:
            return b""
        start = offset
        if not self._ranges:
            first = self.size if self.size <= WHOLE_FETCH_BYTES else HEAD_FETCH_BYTES
            stop = min(self.size, offset + max(end - offset, first))
        else:
            if around and end - offset < MIN_FETCH_BYTES:
                start = max(0, offset - MIN_FETCH_BYTES // 2)
            stop = min(self.size, max(end, start + MIN_FETCH_BYTES))
        self._health.check(self.url)
        try:
            data = retrying(lambda: self._fs.cat_file(self._path, start=start, end=stop), self.url)
        except StorageError as exc:
            self._health.record(exc)
            raise
        self._health.record(None)
        self.requests += 1
        self.bytes_fetched += len(data)
        if len(data) < stop - start:
            # The object changed since the listing, or the server misbehaves: asking again
            # could go on for ever.
            raise StorageError(
                "storage.short-read",
                f"{self.url}: the store sent {len(data)} bytes of the {stop - start} asked",
            )
        # A server that ignores the range sends more than asked: keep only what was asked.
        data = bytes(data[: stop - start])
        self._ranges.append((start, data))
        return data[offset - start : end - start]

    def close(self) -> None:
        """Forget the kept ranges."""
        self._ranges = []


# -- mounts: local stand-ins of remote objects --------------------------------------------

SourceOpener = Callable[[str], "ByteSource | None"]
"""Maps a local path under a mount to the remote object's source (``None``: not a remote file)."""

_MOUNTS: dict[str, tuple[SourceOpener, str]] = {}
_MOUNTS_LOCK = threading.Lock()


def mount(local_dir: str, opener: SourceOpener, url: str = "") -> None:
    """Route reads of files under ``local_dir`` (a local index of the remote root ``url``) to
    ``opener``."""
    with _MOUNTS_LOCK:
        _MOUNTS[os.path.realpath(local_dir) + os.sep] = (opener, url.rstrip("/"))


def unmount(local_dir: str) -> None:
    """Undo :func:`mount`."""
    with _MOUNTS_LOCK:
        _MOUNTS.pop(os.path.realpath(local_dir) + os.sep, None)


def public_path(path: str | os.PathLike[str]) -> str:
    """What to show for ``path``: the URL of the object (or root) a mounted index path stands
    for, else the path itself."""
    text = os.fspath(path)
    if _MOUNTS:
        real = os.path.realpath(text) + os.sep
        for prefix, (_opener, url) in list(_MOUNTS.items()):
            if url and real.startswith(prefix):
                rel = real[len(prefix) : -1].replace(os.sep, "/")
                return f"{url}/{rel}" if rel else url
    return text


def open_source(path: str | os.PathLike[str]) -> ByteSource:
    """The source to read ``path`` through: the remote object when ``path`` is the stand-in of
    one (under a :func:`mount`), else the local file. Raises ``OSError`` when it cannot be
    opened (:class:`NotRegularFileError` for a FIFO or a device)."""
    if _MOUNTS:
        text = os.path.realpath(path)
        for prefix, (opener, _url) in list(_MOUNTS.items()):
            if text.startswith(prefix):
                source = opener(text[len(prefix) :])
                if source is not None:
                    return source
    return LocalFileSource(path)
