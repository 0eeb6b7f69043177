"""torch's legacy (non-zip) format: a run of pickles, then the raw storages.

Written by torch < 1.6 and by ``torch.save(..., _use_new_zipfile_serialization=False)``:

1. the magic number ``0x1950a86a20f9469cfc6c``; 2. the protocol version ``1001``;
3. ``sys_info`` (byte order, type sizes); 4. the object, whose storages are persistent ids
``('storage', type, key, location, numel, view)``; 5. the sorted list of storage keys;
6. for each key in that order: an int64 element count, then the storage's bytes.

Only the pickles are read. The storage area is never read, except the few bytes of a one-element
tensor whose value is wanted (a score); its position follows from the sizes in the pickle, and the
sizes must add up to the file size exactly, which catches truncated files without reading them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from ckpt_tui.model.entry import Issue
from ckpt_tui.reader.source import (
    CheckpointFile,
    FormatError,
    ParsedFile,
    PickleFailure,
    decode_scalar,
)
from ckpt_tui.reader.unpickle.machine import Limits, TruncatedPickle, UnpicklingError, unpickle
from ckpt_tui.reader.unpickle.objects import (
    DTYPE_ITEMSIZE,
    GlobalRef,
    StorageRef,
    StorageType,
    TensorRef,
)
from ckpt_tui.reader.unpickle.resolve import PickleDataError, Resolver

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
_FIRST_READ = 256 * 1024
_MAX_SCALAR_READS = 1024


def looks_like_pickle(head: bytes) -> bool:
    """Whether ``head`` starts like a binary pickle (``PROTO n``) or a protocol-0/1 one."""
    if len(head) >= 2 and head[0] == 0x80:
        return 2 <= head[1] <= 5
    # Protocols 0/1 have no PROTO opcode; torch's magic number is then a text LONG ("L...L").
    return head[:1] in (b"L", b"I", b"(", b"}", b"]", b"c")


def parse_legacy(f: CheckpointFile, limits: Limits | None = None) -> ParsedFile:
    """Read the pickles of a legacy checkpoint; the storages stay on disk.

    Every pickle is judged: a format error after a pickle that named unsafe globals keeps them
    (on the :class:`FormatError`'s ``parsed``).
    """
    limits = limits or Limits()
    cap = min(f.size, limits.max_bytes + 4096)
    length = min(cap, _FIRST_READ)
    while True:
        buffer = f.read(0, length)
        parsed = ParsedFile("legacy")
        try:
            return _parse(f, buffer, limits, parsed)
        except FormatError as exc:
            exc.parsed = parsed
            raise
        except TruncatedPickle:
            if length >= f.size:
                raise FormatError(
                    "checkpoint.truncated", "file ends inside a pickle", parsed
                ) from None
            if length >= cap:
                raise FormatError(
                    "checkpoint.too-large", f"pickles longer than {limits.max_bytes} bytes", parsed
                ) from None
            length = min(cap, length * 4)


def _parse(f: CheckpointFile, buffer: bytes, limits: Limits, parsed: ParsedFile) -> ParsedFile:
    resolver = Resolver()
    # The resolver fills these lists in place, so whatever ends the read, they hold every
    # unsafe global of the pickles read so far.
    parsed.unsafe = resolver.unsafe
    parsed.unsafe_calls = resolver.unsafe_calls

    def step(pos: int, persistent: Callable[[Any], Any] | None = None) -> tuple[Any, int]:
        try:
            return unpickle(buffer, resolver, persistent, start=pos, limits=limits)
        except (UnpicklingError, PickleDataError) as exc:
            raise PickleFailure(parsed, str(exc)) from None

    magic, pos = step(0)
    if magic != LEGACY_MAGIC or type(magic) is not int:
        raise PickleFailure(parsed, "a pickle without torch's magic number (not a checkpoint)")
    version, pos = step(pos)
    if version != PROTOCOL_VERSION:
        raise FormatError("checkpoint.unsupported", f"legacy protocol version {version!r:.40}")
    sys_info, pos = step(pos)
    little = not (isinstance(sys_info, dict) and sys_info.get("little_endian") is False)
    parsed.root, pos = step(pos, _legacy_loader(resolver))
    keys, pos = step(pos)
    parsed.extra["unknown_globals"] = sorted(resolver.unknown)
    if type(keys) is not list or not all(type(k) is str for k in keys):
        raise FormatError("checkpoint.corrupt", "the storage key list is malformed")
    offsets = _layout(f, resolver, keys, pos, parsed.issues)
    # The layout check above already proved every storage's size; views are checked on use.
    parsed.scalar = _ScalarReader(f, offsets, little)
    return parsed


def _legacy_loader(resolver: Resolver) -> Callable[[Any], Any]:
    storages = resolver.storages

    def persistent_load(pid: Any) -> Any:
        if type(pid) is tuple and len(pid) == 4 and pid[0] == "module":
            # A whole nn.Module was saved; torch would check its source. The class is enough.
            return pid[1] if isinstance(pid[1], GlobalRef) else None
        if type(pid) is not tuple or len(pid) != 6 or pid[0] != "storage":
            raise PickleDataError("persistent id is not a storage reference")
        _kind, storage_type, key, location, numel, view = pid
        if not isinstance(storage_type, StorageType):
            raise PickleDataError("persistent id names an unknown storage type")
        if type(key) is not str or len(key) > 128 or type(numel) is not int or numel < 0:
            raise PickleDataError("persistent id has a malformed key or size")
        root = storages.get(key)
        if root is None:
            itemsize = DTYPE_ITEMSIZE[storage_type.dtype]
            location = location if type(location) is str else "?"
            root = storages[key] = StorageRef(key, storage_type.dtype, itemsize, location, numel)
        if view is None:
            return root
        if type(view) is not tuple or len(view) != 3:
            raise PickleDataError("malformed storage view")
        _view_key, offset, size = view
        if type(offset) is not int or type(size) is not int or offset < 0 or size < 0:
            raise PickleDataError("malformed storage view")
        if offset + size > root.numel:
            raise PickleDataError("storage view extends past its storage")
        return StorageRef(key, root.dtype, root.itemsize, root.location, size, base=offset)

    return persistent_load


def _layout(
    f: CheckpointFile, resolver: Resolver, keys: list[str], start: int, issues: list[Issue]
) -> dict[str, int]:
    """Where each storage's bytes start; the sizes must add up to the file size."""
    offsets: dict[str, int] = {}
    pos = start
    for key in keys:
        storage = resolver.storages.get(key)
        if storage is None:
            raise FormatError("checkpoint.corrupt", f"storage {key!r:.40} is never used")
        offsets[key] = pos + 8
        pos += 8 + storage.nbytes
    if pos > f.size:
        raise FormatError(
            "checkpoint.truncated",
            f"the storages need {pos - start} bytes after the pickles; the file has "
            f"{f.size - start}",
        )
    if pos < f.size:
        issues.append(
            Issue(
                severity="warning",
                code="checkpoint.trailing-data",
                message=f"{f.size - pos} bytes after the last storage",
            )
        )
    return offsets


class _ScalarReader:
    """Reads a one-element tensor's value: its storage header (element count) and its bytes."""

    def __init__(self, f: CheckpointFile, offsets: dict[str, int], little: bool) -> None:
        self._f = f
        self._offsets = offsets
        self._little = little
        self._reads = 0

    def __call__(self, tensor: TensorRef) -> float | int | bool | None:
        storage = tensor.storage
        if storage is None or tensor.numel != 1 or tensor.itemsize == 0:
            return None
        start = self._offsets.get(storage.key)
        if start is None or self._reads >= _MAX_SCALAR_READS:
            return None
        self._reads += 1
        element = storage.base + tensor.offset
        head = self._f.read(start - 8, 8)
        if len(head) != 8:
            return None
        count = struct.unpack("<q" if self._little else ">q", head)[0]
        if (element + 1) * tensor.itemsize > count * storage.itemsize:
            return None
        raw = self._f.read(start + element * tensor.itemsize, tensor.itemsize)
        return decode_scalar(raw, tensor.dtype, self._little)
