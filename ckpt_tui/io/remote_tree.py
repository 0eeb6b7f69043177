"""A remote root (``s3://bucket/prefix``) as a local index the catalog walks like any folder.

One listing of the store (its list calls: size, ETag and date of every object in one pass, never
a HEAD per object) becomes a local tree under the cache folder:

- the small text files the tiers read (sidecars, configs: ``.yaml``, ``.yml``, ``.json`` up to
  :data:`FETCH_LIMIT` bytes) are fetched whole, concurrently;
- every other object is a sparse stand-in of the object's size and date, holding no data. While
  the tree is mounted (:func:`~ckpt_tui.io.storage.mount`), the safe reader reads a stand-in from
  the object itself, with a few ranged requests.

So every tier, the cache and every command work on remote roots exactly as on local ones. A file
is rewritten only when its object's size or ETag changed (the manifest remembers them), so the
stand-in's stat, which the catalog cache keys on, changes exactly when the object does: a warm
catalog of an unchanged bucket costs the listing and no read at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ckpt_tui.io.storage import RemoteObjectSource, StoreHealth, mount, unmount
from ckpt_tui.io.stores import StorageError, describe_error, open_filesystem, retrying
from ckpt_tui.model.entry import Issue

FETCH_LIMIT = 8 * 1024 * 1024
"""Text files up to this size (the largest limit of their readers: a folder checkpoint's JSON)
are fetched whole; a larger one is a stand-in, and a file over its reader's limit is reported
too large as a local one is."""
FETCH_SUFFIXES = (".yaml", ".yml", ".json")
"""Objects fetched whole: sidecars and configs."""
WORKERS = 8
"""Concurrent requests while fetching."""
_MANIFEST = "manifest.json"
_TREE = "tree"
_MAX_NAME_BYTES = 255


Progress = Callable[[int, int, str], None]
"""``progress(done, total, what)``: called while the root is listed (``total`` 0) and
while the index is updated, from worker threads."""


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """One object of the listing."""

    rel: str
    """Key relative to the root prefix, "/"-separated."""
    size: int
    etag: str
    """ETag (S3), generation or hash (other stores); ``""`` when the store gives none."""
    mtime: float
    """Last modified, seconds since the epoch (0 when unknown)."""

    @property
    def fetched(self) -> bool:
        """Whether the object is copied whole (a small text file) rather than a stand-in."""
        return self.size <= FETCH_LIMIT and self.rel.lower().endswith(FETCH_SUFFIXES)


@dataclass
class RemoteTree:
    """A remote root and its local index; see :func:`mounted`."""

    url: str
    """The root's URL, without a trailing ``/``."""
    local_root: str
    """The local index's root folder (walk this)."""
    fs: Any
    """The fsspec filesystem."""
    root_path: str
    """The root inside the filesystem (``bucket/prefix``)."""
    objects: dict[str, RemoteObject] = field(default_factory=dict)
    """Every usable object, by ``rel``."""
    issues: list[Issue] = field(default_factory=list)
    """Problems of the listing and of the fetches (never fatal)."""
    requests: int = 0
    """Requests made by the listing and the fetches."""
    health: StoreHealth = field(default_factory=StoreHealth)
    """Whether the store still answers (shared by every object's reads)."""

    def url_of(self, local_path: str) -> str:
        """The URL of the object a path of the local index stands for (the path itself when it
        is not under the index)."""
        real = os.path.realpath(local_path)
        prefix = os.path.realpath(self.local_root)
        if real == prefix:
            return self.url
        if not real.startswith(prefix + os.sep):
            return local_path
        return f"{self.url}/{real[len(prefix) + 1 :].replace(os.sep, '/')}"

    def source(self, rel: str) -> RemoteObjectSource | None:
        """The ranged-read source of the object at ``rel`` (``None``: not a listed object)."""
        found = self.objects.get(rel.replace(os.sep, "/"))
        if found is None:
            return None
        return RemoteObjectSource(
            self.fs,
            f"{self.root_path}/{found.rel}",
            found.size,
            found.etag,
            f"{self.url}/{found.rel}",
            self.health,
        )


def list_objects(
    fs: Any, root_path: str, url: str, progress: Progress | None = None
) -> tuple[list[RemoteObject], list[Issue], int]:
    """Every object under ``root_path``, with the problems met and the requests made.

    On S3 the listing goes page by page, so a connection lost in the middle keeps the objects
    listed so far (and says the rest is missing); elsewhere it is fsspec's ``find``.
    """
    issues: list[Issue] = []
    infos: list[dict[str, Any]] = []
    pages = 1
    if hasattr(fs, "_iterdir") and hasattr(fs, "loop") and root_path:
        pages = _list_s3(fs, root_path, url, infos, issues, progress)
    else:
        found = retrying(lambda: fs.find(root_path, detail=True, withdirs=False), url)
        infos = list(found.values())
    prefix = root_path + "/"
    objects: list[RemoteObject] = []
    for info in infos:
        name = str(info.get("name", ""))
        if info.get("type") == "directory" or name.endswith("/"):
            continue  # a "folder" marker object
        if not name.startswith(prefix):
            continue
        rel = name[len(prefix) :]
        problem = _bad_key(rel)
        if problem is not None:
            message = f"{rel[:120]!r}: {problem}: skipped"
            issues.append(Issue(severity="warning", code="scan.bad-key", message=message))
            continue
        objects.append(RemoteObject(rel, int(info.get("size") or 0), _etag(info), _mtime(info)))
    objects.sort(key=lambda item: item.rel)
    return objects, issues, pages


def _list_s3(
    fs: Any,
    root_path: str,
    url: str,
    infos: list[dict[str, Any]],
    issues: list[Issue],
    progress: Progress | None,
) -> int:
    from fsspec.asyn import sync

    bucket, _, key_prefix = root_path.partition("/")

    async def collect() -> None:
        listing = fs._iterdir(bucket, delimiter="", prefix=key_prefix + "/" if key_prefix else "")
        async for info in listing:
            infos.append(info)
            if progress is not None and len(infos) % 1000 == 0:  # a page of the listing
                progress(len(infos), 0, "listing")

    try:
        sync(fs.loop, collect)
    except Exception as exc:  # any failure of the store: judged and reported below
        error = describe_error(exc, url)
        if not infos:
            raise error from None
        message = (
            f"listing stopped after {len(infos)} objects: {error.message}; the rest is missing"
        )
        issues.append(Issue(severity="error", code="scan.listing-incomplete", message=message))
    return max(1, -(-len(infos) // 1000))  # S3 answers 1,000 keys a page


def _bad_key(rel: str) -> str | None:
    """Why a key cannot be a path of the local index (``None``: it can)."""
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "empty, '.' or '..' path segment"
    if "\x00" in rel:
        return "NUL character"
    if any(len(part.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES for part in parts):
        return "a name longer than 255 bytes"
    return None


def _etag(info: dict[str, Any]) -> str:
    for key in ("ETag", "etag", "generation", "md5Hash", "crc32c"):
        value = info.get(key)
        if value:
            return str(value).strip('"')
    return ""


def _mtime(info: dict[str, Any]) -> float:
    for key in ("LastModified", "last_modified", "mtime", "updated", "timeCreated", "created"):
        value = info.get(key)
        if isinstance(value, dt.datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return 0.0


# -- the local index ------------------------------------------------------------------------------


def sync_index(
    url: str,
    options: dict[str, Any],
    index_dir: str,
    progress: Progress | None = None,
    workers: int = WORKERS,
    fs: Any = None,
) -> RemoteTree:
    """List ``url`` and bring the local index in ``index_dir`` up to date with it.

    ``fs`` is the fsspec filesystem to use (default: a new one for ``url`` and ``options``).

    Raises :class:`~ckpt_tui.io.storage.StorageError` when the root cannot be listed at all (no
    credentials, access denied, no such bucket, unreachable store); anything later is an issue.
    """
    url = url.rstrip("/")
    if fs is None:
        fs, root_path = open_filesystem(url, options)
    else:
        root_path = str(fs._strip_protocol(url)).rstrip("/")
    objects, issues, pages = list_objects(fs, root_path, url, progress)
    os.makedirs(index_dir, exist_ok=True)
    tree = RemoteTree(url, os.path.join(index_dir, _TREE), fs, root_path, issues=issues)
    tree.requests = pages
    os.makedirs(tree.local_root, exist_ok=True)  # an empty prefix is an empty folder
    with open(os.path.join(index_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs on one URL take turns
        _update(tree, objects, os.path.join(index_dir, _MANIFEST), progress, workers)
    return tree


def _update(
    tree: RemoteTree,
    objects: list[RemoteObject],
    manifest_path: str,
    progress: Progress | None,
    workers: int,
) -> None:
    known = _read_manifest(manifest_path)
    wanted = {obj.rel: obj for obj in objects}
    _remove_unlisted(tree.local_root, wanted)
    changed = [
        obj
        for obj in objects
        if known.get(obj.rel) != [obj.size, obj.etag, obj.mtime]
        or not os.path.exists(os.path.join(tree.local_root, *obj.rel.split("/")))
    ]
    changed_rels = {obj.rel for obj in changed}
    kept = {rel: known[rel] for rel in wanted if rel in known and rel not in changed_rels}
    done = 0

    def one(obj: RemoteObject) -> tuple[RemoteObject, Issue | None]:
        try:
            _write(tree, obj)
        except StorageError as exc:
            return obj, Issue(severity="error", code=exc.code, message=exc.message)
        except OSError as exc:
            message = f"{obj.rel[:120]!r}: cannot index it locally: {exc.strerror or exc}"
            return obj, Issue(severity="warning", code="scan.bad-key", message=message)
        return obj, None

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="ckpt-remote") as pool:
        for obj, issue in pool.map(one, changed):
            done += 1
            if issue is None:
                tree.objects[obj.rel] = obj
                kept[obj.rel] = [obj.size, obj.etag, obj.mtime]
            else:
                tree.issues.append(issue)
            if progress is not None:
                progress(done, len(changed), obj.rel)
    for obj in objects:
        if obj.rel in kept and obj.rel not in tree.objects:
            tree.objects[obj.rel] = obj
    tree.requests += sum(1 for obj in changed if obj.fetched)
    _write_manifest(manifest_path, kept)


def _remove_unlisted(local_root: str, wanted: dict[str, RemoteObject]) -> None:
    """Remove every file of the index that is not a listed object: one deleted from the store,
    a sidecar a run wrote but never created in the store (interrupted), a temporary file."""
    for folder, _dirs, files in os.walk(local_root):
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, local_root).replace(os.sep, "/")
            if rel not in wanted:
                with contextlib.suppress(OSError):  # already gone: nothing to remove
                    os.remove(path)


def _write(tree: RemoteTree, obj: RemoteObject) -> None:
    path = os.path.join(tree.local_root, *obj.rel.split("/"))
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    # A hidden temporary name no key can take (keys are written concurrently).
    handle, temp = tempfile.mkstemp(dir=folder, prefix=".ckpt-tui-")
    try:
        with os.fdopen(handle, "wb") as out:
            if obj.fetched and obj.size:
                remote = f"{tree.root_path}/{obj.rel}"
                data = retrying(
                    lambda: tree.fs.cat_file(remote, start=0, end=obj.size),
                    f"{tree.url}/{obj.rel}",
                )
                out.write(bytes(data[: obj.size]))
            else:
                out.truncate(obj.size)  # sparse: no data, the object's size
        if obj.mtime:
            os.utime(temp, (obj.mtime, obj.mtime))
        os.replace(temp, path)  # a new inode: the catalog cache sees the change
    except BaseException:
        with contextlib.suppress(OSError):  # not created, or already replaced
            os.remove(temp)
        raise


def _read_manifest(path: str) -> dict[str, list[Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(path: str, data: dict[str, list[Any]]) -> None:
    temp = path + ".part"
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temp, path)


@contextlib.contextmanager
def mounted(tree: RemoteTree) -> Iterator[RemoteTree]:
    """While inside, the safe reader reads the index's stand-ins from their objects."""

    mount(tree.local_root, tree.source, tree.url)
    try:
        yield tree
    finally:
        unmount(tree.local_root)
