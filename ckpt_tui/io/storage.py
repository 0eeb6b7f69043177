"""Byte-range sources: what the safe reader reads a checkpoint through, local or remote.

A :class:`ByteSource` is a size, ``read_at(offset, length)`` and an identity for the cache. Two
implementations: :class:`LocalFileSource` (``pread`` on one open descriptor) and
:class:`RemoteObjectSource` (ranged GETs of one object in an fsspec store: S3, GCS, ...).

A remote object is read in a few large, exact ranges instead of fsspec's read-ahead blocks: a
speculative read at the start (a torch zip's ``data.pkl`` is its first member), a suffix read of
the zip directory, and one more only when the pickle is longer than the first read. Every fetched
range is kept, so the many small reads of a parser cost no extra request.

fsspec (and s3fs, gcsfs) are imported on first use only: ``import ckpt_tui`` never needs them.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

HEAD_FETCH_BYTES = 256 * 1024
"""The first read of a remote object fetches at least this much from its start."""
MIN_FETCH_BYTES = 16 * 1024
"""Any other read that misses fetches at least this much (a member's header and its value)."""
WHOLE_FETCH_BYTES = 384 * 1024
"""An object this small is fetched whole by its first read: one request instead of two."""
MAX_REQUESTS = 32
"""Ranged requests one remote checkpoint may cost; past it, reads come back empty (a hostile
file naming a thousand scattered scalar values is read as truncated there, never fetched)."""
RETRY_ATTEMPTS = 4
"""Attempts of one request when the store throttles or the connection drops."""
RETRY_FIRST_DELAY = 0.2
"""Seconds before the first retry; doubled each time."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_T = TypeVar("_T")


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


class StorageError(OSError):
    """A request to an object store failed; ``code`` is the issue code, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


def is_url(text: str | os.PathLike[str]) -> bool:
    """Whether ``text`` is a storage URL (``s3://``, ``gs://``, ...) rather than a local path."""
    return isinstance(text, str) and _URL.match(text) is not None and not text.startswith("file:")


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


class RemoteObjectSource:
    """One object of an fsspec store, read with a few exact ranged GETs; fetched ranges are kept.

    ``size`` and ``etag`` come from the listing, so opening costs no request. ``requests`` and
    ``bytes_fetched`` count what really went over the network.
    """

    def __init__(self, fs: Any, path: str, size: int, etag: str, url: str) -> None:
        self._fs = fs
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
            return self._fetch(offset, end)

    def _fetch(self, offset: int, end: int) -> bytes:
        if self.requests >= MAX_REQUESTS:
            return b""
        if not self._ranges:
            first = self.size if self.size <= WHOLE_FETCH_BYTES else HEAD_FETCH_BYTES
            want = max(end - offset, first)
        else:
            want = max(end - offset, MIN_FETCH_BYTES)
        stop = min(self.size, offset + want)
        data = retrying(lambda: self._fs.cat_file(self._path, start=offset, end=stop), self.url)
        self.requests += 1
        self.bytes_fetched += len(data)
        if len(data) < stop - offset:
            # The object changed since the listing, or the server misbehaves: asking again
            # could go on for ever.
            raise StorageError(
                "storage.short-read",
                f"{self.url}: the store sent {len(data)} bytes of the {stop - offset} asked",
            )
        # A server that ignores the range sends more than asked: keep only what was asked.
        data = bytes(data[: stop - offset])
        self._ranges.append((offset, data))
        return data[: end - offset]

    def close(self) -> None:
        """Forget the kept ranges."""
        self._ranges = []


# -- errors and retries ---------------------------------------------------------------------------

_THROTTLED = (
    "slowdown",
    "slow down",
    "reduce your request rate",
    "throttl",
    "requestlimitexceeded",
    "toomanyrequests",
    "too many requests",
    "rate limit",
    " 503",
    " 429",
)
_DENIED = ("accessdenied", "access denied", "forbidden", " 403")
_SIGNATURE = (
    "signaturedoesnotmatch",
    "invalidaccesskeyid",
    "expiredtoken",
    "invalidtoken",
    "does not exist in our records",
    "signature we calculated does not match",
)
_CONNECTION = ("connect", "connection", "timed out", "timeout", "unreachable", "closed")


def describe_error(exc: BaseException, where: str) -> StorageError:
    """A :class:`StorageError` saying in words what went wrong with ``where`` (a URL)."""
    if isinstance(exc, StorageError):
        return exc
    kind = type(exc).__name__
    text = " ".join(f"{kind} {exc}".split())
    low = _chain_text(exc).lower()
    if kind == "NoCredentialsError" or "unable to locate credentials" in low:
        return StorageError(
            "storage.no-credentials",
            f"{where}: no credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, "
            "or --storage-option)",
        )
    if any(word in low for word in _SIGNATURE):
        return StorageError("storage.bad-credentials", f"{where}: the credentials were refused")
    if isinstance(exc, PermissionError) or any(word in low for word in _DENIED):
        return StorageError("storage.access-denied", f"{where}: access denied")
    if "nosuchbucket" in low or "bucket does not exist" in low or "no such bucket" in low:
        return StorageError("storage.no-bucket", f"{where}: no such bucket")
    if isinstance(exc, FileNotFoundError):
        return StorageError("storage.not-found", f"{where}: not found")
    if any(word in low for word in _THROTTLED):
        return StorageError("storage.throttled", f"{where}: the store keeps throttling requests")
    if any(word in low for word in _CONNECTION) or isinstance(exc, ConnectionError):
        return StorageError(
            "storage.unreachable", f"{where}: cannot reach the store ({text[:160]})"
        )
    return StorageError("storage.failed", f"{where}: request failed ({text[:200]})")


def _chain_text(exc: BaseException) -> str:
    """The names, messages and error codes of ``exc`` and the exceptions it was raised from
    (store libraries translate errors and keep the original as the cause)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        parts.append(f"{type(current).__name__} {current}")
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            parts.append(str(response.get("Error", {}).get("Code", "")))
        current = current.__cause__ or current.__context__
    return " ".join(parts)


def retrying(call: Callable[[], _T], where: str, attempts: int = RETRY_ATTEMPTS) -> _T:
    """``call()``, retried with exponential backoff while the store throttles or the connection
    drops (at most ``attempts`` times); any failure comes out as a :class:`StorageError`."""
    delay = RETRY_FIRST_DELAY
    for attempt in range(attempts):
        try:
            return call()
        except FileExistsError:
            raise  # an answer (a conditional create found something), not a failure
        except Exception as exc:  # every store library has its own errors: judged by words
            error = describe_error(exc, where)
            transient = error.code in ("storage.throttled", "storage.unreachable")
            if not transient or attempt == attempts - 1:
                raise error from None
        time.sleep(delay)
        delay *= 2
    raise StorageError("storage.failed", f"{where}: no attempt made")


# -- filesystems ----------------------------------------------------------------------------------


def parse_storage_options(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs (``--storage-option``) as fsspec options; ``true``/``false``/numbers
    become booleans and numbers, a dotted key (``client_kwargs.region_name``) a nested dict.

    Raises ``ValueError`` for a pair without ``=``.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--storage-option wants key=value, got {pair!r:.80}")
        value: Any = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        elif re.fullmatch(r"-?\d+", raw):
            value = int(raw)
        elif re.fullmatch(r"-?\d+\.\d*", raw):
            value = float(raw)
        target = options
        *parents, last = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return options


def open_filesystem(url: str, options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path inside it (``bucket/prefix``).

    Credentials and endpoints come from the store's usual settings (for S3 the ``AWS_*``
    variables, ``AWS_ENDPOINT_URL`` included, and profiles); ``options`` adds anything else.
    Raises :class:`StorageError` when the extra is missing or the URL's store is unknown.
    """
    try:
        import fsspec.core
    except ImportError:
        raise StorageError(
            "storage.missing-extra",
            "remote roots need the remote extra: pip install 'ckpt-tui[remote]'",
        ) from None
    settings = dict(options or {})
    if url.startswith(("s3://", "s3a://")):
        settings.setdefault("skip_instance_cache", True)
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint and "endpoint_url" not in settings:
            settings["endpoint_url"] = endpoint
    try:
        fs, path = fsspec.core.url_to_fs(url, **settings)
    except ImportError as exc:
        raise StorageError(
            "storage.missing-extra",
            f"{url}: this store needs a package that is not installed ({exc})",
        ) from None
    except ValueError as exc:
        raise StorageError("storage.bad-url", f"{url}: {exc}") from None
    return fs, str(path).rstrip("/")


def create_if_absent(fs: Any, path: str, data: bytes, where: str) -> bool:
    """Write ``data`` at ``path`` only if nothing is there; ``False`` when something was.

    On S3 this is one conditional PUT (``If-None-Match: *``): two writers cannot both create.
    Stores without a conditional create get fsspec's check-then-put, which a writer racing
    between the check and the put can defeat (the later write wins).
    """
    try:
        retrying(lambda: fs.pipe_file(path, data, mode="create"), where)
    except FileExistsError:
        return False
    return True


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
