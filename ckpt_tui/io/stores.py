"""The object stores behind remote roots: URLs, filesystems, errors in words, retries, the
conditional create.

fsspec (and s3fs, gcsfs) are imported on first use only: ``import ckpt_tui`` never needs them.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

RETRY_ATTEMPTS = 4
"""Attempts of one request when the store throttles or the connection drops."""
RETRY_FIRST_DELAY = 0.2
"""Seconds before the first retry; doubled each time."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_T = TypeVar("_T")


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
