"""torch's zip checkpoint format: read the zip directory and ``data.pkl``, never the tensors.

A zip-format checkpoint (torch >= 1.6) holds ``<prefix>/data.pkl`` (a pickle that describes every
object and refers to storages by key), ``<prefix>/data/<key>`` (the raw bytes of each storage),
``<prefix>/byteorder`` and ``<prefix>/version``. The zip directory is parsed here by hand so that
every size is checked against the file before anything is read: a lying size, a truncated file,
a deflated ``data.pkl`` that expands without end, or absurd member counts give a
:class:`~ckpt_tui.core.reader.source.FormatError`, never a large read. Member names are only
looked up, never used as paths, so names like ``../../x`` are harmless (and reported).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ckpt_tui.core.entry import Issue
from ckpt_tui.core.reader.objects import DTYPE_ITEMSIZE, StorageRef, StorageType, TensorRef
from ckpt_tui.core.reader.resolve import PickleDataError, Resolver
from ckpt_tui.core.reader.source import (
    CheckpointFile,
    FormatError,
    ParsedFile,
    PickleFailure,
    decode_scalar,
)
from ckpt_tui.core.reader.unpickler import Limits, TruncatedPickle, UnpicklingError, unpickle

ZIP_MAGIC = b"PK\x03\x04"
_EOCD = struct.Struct("<4s4H2LH")
_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
# Central directory entry: signature, flags, method, crc, sizes, name/extra/comment lengths,
# local header offset (the "x" codes skip versions, times, disk and attributes).
_CENTRAL = struct.Struct("<4s4xHH4xLLLHHH8xL")
_LOCAL = struct.Struct("<4s5H3L2H")
_TAIL = 64 * 1024 + _EOCD.size + _LOCATOR.size + _EOCD64.size
_MAX_SCALAR_READS = 1024


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on the zip container."""

    max_directory_bytes: int = 64 * 1024 * 1024
    max_members: int = 1_000_000
    max_pickle_bytes: int = Limits().max_bytes


class Directory:
    """The zip directory: name → (header offset, compressed size, size, method, crc).

    Entries stay plain tuples (a checkpoint has thousands); :meth:`get` wraps one in a Member.
    """

    __slots__ = ("entries",)

    def __init__(self, entries: dict[str, tuple[int, int, int, int, int]]) -> None:
        self.entries = entries

    def get(self, name: str) -> Member | None:
        """The member called ``name``, if any."""
        entry = self.entries.get(name)
        return None if entry is None else Member(name, *entry)


class Member:
    """One entry of the zip directory."""

    __slots__ = ("compressed_size", "crc", "header_offset", "method", "name", "size")

    def __init__(
        self, name: str, header_offset: int, compressed_size: int, size: int, method: int, crc: int
    ) -> None:
        self.name = name
        self.header_offset = header_offset
        self.compressed_size = compressed_size
        self.size = size
        self.method = method
        self.crc = crc


def _zip64(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            fields = extra[pos + 4 : pos + 4 + length]
            values = [struct.unpack_from("<Q", fields, i)[0] for i in range(0, len(fields) - 7, 8)]
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if offset == 0xFFFFFFFF and values:
                offset = values.pop(0)
            break
        pos += 4 + length
    return usize, csize, offset


def _find_end_records(tail: bytes) -> tuple[int, int]:
    """The end-of-directory record whose comment length reaches exactly the end of the file,
    and the last signature of all (the one torch's zip reader, miniz, takes).

    (A signature inside the archive comment is not the record; torch writes no comment.)
    """
    candidates: list[int] = []
    at = tail.rfind(b"PK\x05\x06")
    while at >= 0 and len(candidates) < 64:
        if at + _EOCD.size <= len(tail):
            candidates.append(at)
            if at + _EOCD.size + _EOCD.unpack_from(tail, at)[7] == len(tail):
                return at, candidates[0]
        at = tail.rfind(b"PK\x05\x06", 0, at)
    if not candidates:
        raise FormatError("checkpoint.truncated", "zip end-of-directory record not found")
    return candidates[0], candidates[0]


def read_directory(f: CheckpointFile, limits: ZipLimits) -> tuple[Directory, list[Issue]]:
    """Parse the central directory; every size and offset is checked against the file size."""
    tail_start = max(0, f.size - _TAIL)
    tail = f.read(tail_start, f.size - tail_start)
    eocd, last = _find_end_records(tail)
    if last != eocd:
        # A record hidden in the archive comment: torch reads the directory it points to, so
        # when that directory is valid, what we would show is not what torch would load.
        try:
            _directory_at(f, tail, tail_start, last, limits, duplicates_ok=True)
        except FormatError:
            pass  # torch cannot read the file through it either; ours is the real one
        else:
            raise FormatError(
                "checkpoint.zip-invalid",
                "a second zip directory hides in the archive comment: torch would read that one",
            )
    return _directory_at(f, tail, tail_start, eocd, limits)


def _directory_at(
    f: CheckpointFile,
    tail: bytes,
    tail_start: int,
    eocd: int,
    limits: ZipLimits,
    *,
    duplicates_ok: bool = False,
) -> tuple[Directory, list[Issue]]:
    _sig, _disk, _cd_disk, _n_here, count, cd_size, cd_offset, _comment = _EOCD.unpack_from(
        tail, eocd
    )
    eocd_at = tail_start + eocd
    locator = eocd - _LOCATOR.size
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        _s, _d, record_at, _disks = _LOCATOR.unpack_from(tail, locator)
        if record_at + _EOCD64.size > eocd_at:
            raise FormatError("checkpoint.zip-invalid", "zip64 record points past the directory")
        raw = tail[record_at - tail_start :] if record_at >= tail_start else b""
        if len(raw) < _EOCD64.size:
            raw = f.read_exact(record_at, _EOCD64.size, "the zip64 record")
        fields = _EOCD64.unpack_from(raw)
        if fields[0] != b"PK\x06\x06":
            raise FormatError("checkpoint.zip-invalid", "zip64 end-of-directory record is corrupt")
        count, cd_size, cd_offset = fields[7], fields[8], fields[9]
        eocd_at = record_at
    if count > limits.max_members or cd_size > limits.max_directory_bytes:
        raise FormatError(
            "checkpoint.too-large", f"zip directory of {count} members / {cd_size} bytes"
        )
    if cd_offset + cd_size > eocd_at:
        raise FormatError("checkpoint.truncated", "zip directory extends past the end record")
    if cd_offset >= tail_start:
        directory = tail[cd_offset - tail_start : cd_offset - tail_start + cd_size]
    else:
        directory = f.read_exact(cd_offset, cd_size, "the zip directory")
    return _parse_entries(directory, count, eocd_at, duplicates_ok)


def _parse_entries(
    directory: bytes, count: int, end: int, duplicates_ok: bool = False
) -> tuple[Directory, list[Issue]]:
    members: dict[str, tuple[int, int, int, int, int]] = {}
    issues: list[Issue] = []
    pos = 0
    unpack = _CENTRAL.unpack_from
    size = _CENTRAL.size
    limit = len(directory) - size
    for _ in range(count):
        if pos > limit:
            raise FormatError("checkpoint.zip-invalid", "zip directory is shorter than declared")
        sig, flags, method, crc, csize, usize, nlen, elen, clen, offset = unpack(directory, pos)
        if sig != b"PK\x01\x02":
            raise FormatError("checkpoint.zip-invalid", "zip directory entry is corrupt")
        start = pos + size
        raw_name = directory[start : start + nlen]
        if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF or offset == 0xFFFFFFFF:
            usize, csize, offset = _zip64(
                directory[start + nlen : start + nlen + elen], usize, csize, offset
            )
        pos = start + nlen + elen + clen
        if raw_name.isascii():
            name = raw_name.decode("ascii")  # the same in cp437 and utf-8, and much faster
        else:
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if offset + 30 + csize > end:
            raise FormatError(
                "checkpoint.truncated", f"zip member {name!r:.80} extends past the end of the file"
            )
        if (".." in name or "\x00" in name or name[:1] in ("/", "\\")) and _outside(name):
            issues.append(
                Issue(
                    severity="warning",
                    code="checkpoint.suspicious-name",
                    message=f"zip member {name!r:.80} points outside the archive (ignored)",
                )
            )
            continue
        if name in members and not duplicates_ok:
            # torch writes each name once; with two, it may read either copy (its lookup is a
            # binary search), so a harmless first data.pkl could hide the one torch runs.
            raise FormatError(
                "checkpoint.zip-invalid",
                f"two zip members named {name!r:.80}: torch may read either (not read)",
            )
        members[name] = (offset, csize, usize, method, crc)
    return Directory(members), issues


def _outside(name: str) -> bool:
    return ".." in name.split("/") or "\x00" in name or name[:1] in ("/", "\\")


def read_member(f: CheckpointFile, member: Member, limit: int) -> bytes:
    """The member's bytes (stored or deflated), refusing anything over ``limit`` bytes."""
    if member.size > limit or member.compressed_size > 2 * limit + 1024:
        raise FormatError(
            "checkpoint.too-large",
            f"{member.name} declares {member.size} bytes (limit {limit})",
        )
    if member.method not in (0, 8):
        raise FormatError("checkpoint.zip-invalid", f"{member.name}: compression {member.method}")
    start = _data_start(f, member)
    raw = f.read_exact(start, member.compressed_size, member.name)
    if member.method == 0:
        if member.compressed_size != member.size:
            raise FormatError("checkpoint.zip-invalid", f"{member.name}: sizes disagree")
        data = raw
    else:
        inflater = zlib.decompressobj(-15)
        try:
            # Never inflate more than the declared size (+1 to notice a lie).
            data = inflater.decompress(raw, min(limit, member.size) + 1)
        except zlib.error as exc:
            raise FormatError("checkpoint.zip-invalid", f"{member.name}: {exc}") from None
        if len(data) > member.size or inflater.unconsumed_tail:
            raise FormatError(
                "checkpoint.zip-bomb", f"{member.name} inflates past its declared size"
            )
        if len(data) != member.size:
            raise FormatError("checkpoint.zip-invalid", f"{member.name}: size mismatch")
    if zlib.crc32(data) != member.crc:
        raise FormatError("checkpoint.corrupt", f"{member.name}: checksum mismatch")
    return data


def _data_start(f: CheckpointFile, member: Member) -> int:
    header = f.read_exact(member.header_offset, _LOCAL.size, f"{member.name} header")
    fields = _LOCAL.unpack(header)
    if fields[0] != ZIP_MAGIC:
        raise FormatError("checkpoint.zip-invalid", f"{member.name}: local header is corrupt")
    start = member.header_offset + _LOCAL.size + fields[9] + fields[10]
    if start + member.compressed_size > f.size:
        raise FormatError("checkpoint.truncated", f"{member.name} extends past the end of file")
    return start


def find_pickle(members: Directory) -> Member | None:
    """``<prefix>/data.pkl`` (torch always writes one folder level), else a bare ``data.pkl``;
    a :class:`FormatError` when there are several."""
    names = [
        n
        for n in members.entries
        if n.endswith("data.pkl") and n.count("/") <= 1 and n.rpartition("/")[2] == "data.pkl"
    ]
    if len(names) > 1:
        # torch refuses a zip whose members are not all in one folder: which one would it be?
        shown = ", ".join(repr(n) for n in names[:3])
        raise FormatError(
            "checkpoint.zip-invalid", f"several pickles ({shown:.120}): torch refuses"
        )
    return members.get(names[0]) if names else None


def parse_zip(f: CheckpointFile, limits: ZipLimits | None = None) -> ParsedFile:
    """Read the directory and ``data.pkl`` of a zip checkpoint; tensors stay on disk."""
    limits = limits or ZipLimits()
    members, issues = read_directory(f, limits)
    pickle_member = find_pickle(members)
    if pickle_member is None:
        raise FormatError("checkpoint.not-a-checkpoint", "zip file without a data.pkl")
    prefix = pickle_member.name[: -len("data.pkl")]
    data = read_member(f, pickle_member, limits.max_pickle_bytes)
    resolver = Resolver()
    parsed = ParsedFile("zip", issues=issues)
    try:
        parsed.root, _end = unpickle(data, resolver, _storage_loader(resolver))
    except (UnpicklingError, TruncatedPickle, PickleDataError) as exc:
        parsed.dangerous = resolver.dangerous
        parsed.extra["danger_calls"] = resolver.danger_calls
        raise PickleFailure(parsed, str(exc)) from None
    parsed.dangerous = resolver.dangerous
    parsed.extra["danger_calls"] = resolver.danger_calls
    parsed.extra["unknown_globals"] = sorted(resolver.unknown)
    check_storages(resolver, _storage_sizes(members, prefix), parsed.issues)
    parsed.scalar = _ScalarReader(f, members, prefix)
    return parsed


def _storage_loader(resolver: Resolver) -> Callable[[Any], StorageRef]:
    storages = resolver.storages

    def persistent_load(pid: Any) -> StorageRef:
        if type(pid) is not tuple or len(pid) != 5 or pid[0] != "storage":
            raise PickleDataError("persistent id is not a storage reference")
        _kind, storage_type, key, location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise PickleDataError("persistent id names an unknown storage type")
        if type(key) is not str or len(key) > 128 or type(numel) is not int or numel < 0:
            raise PickleDataError("persistent id has a malformed key or size")
        known = storages.get(key)
        if known is None:
            itemsize = DTYPE_ITEMSIZE[storage_type.dtype]
            location = location if type(location) is str else "?"
            known = storages[key] = StorageRef(key, storage_type.dtype, itemsize, location, numel)
        return known

    return persistent_load


def _storage_sizes(members: Directory, prefix: str) -> dict[str, int]:
    folder = f"{prefix}data/"
    cut = len(folder)
    return {name[cut:]: e[2] for name, e in members.entries.items() if name.startswith(folder)}


def check_storages(resolver: Resolver, stored: dict[str, int], issues: list[Issue]) -> None:
    """Each storage the pickle names exists in the file, with the size the pickle claims.

    (Tensor shapes are checked against their storage where they are reported: see
    :func:`~ckpt_tui.core.reader.objects.extent_problems`.)
    """
    problems: list[str] = []
    for key, storage in resolver.storages.items():
        size = stored.get(key)
        if size != storage.numel * storage.itemsize:
            problems.append(
                f"storage {key!r:.40} is missing"
                if size is None
                else f"storage {key!r:.40} holds {size} bytes, the pickle says {storage.nbytes}"
            )
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        issues.append(
            Issue(
                severity="error", code="checkpoint.corrupt", message="; ".join(problems[:3]) + more
            )
        )


class _ScalarReader:
    """Reads the value of a one-element tensor from its ``data/<key>`` member, on demand."""

    def __init__(self, f: CheckpointFile, members: Directory, prefix: str) -> None:
        self._f = f
        self._members = members
        self._prefix = prefix
        self._little: bool | None = None
        self._reads = 0
        self._cache: dict[tuple[str, int], Any] = {}

    def __call__(self, tensor: TensorRef) -> float | int | bool | None:
        storage = tensor.storage
        if storage is None or tensor.numel != 1 or tensor.itemsize == 0:
            return None
        key = (storage.key, tensor.offset)
        if key in self._cache:
            return self._cache[key]
        member = self._members.get(f"{self._prefix}data/{storage.key}")
        start = tensor.offset * tensor.itemsize
        if member is None or member.method != 0 or start + tensor.itemsize > member.size:
            return None
        if self._reads >= _MAX_SCALAR_READS:
            return None
        self._reads += 1
        try:
            raw = self._f.read_exact(
                _data_start(self._f, member) + start, tensor.itemsize, "scalar"
            )
        except FormatError:
            return None
        value = decode_scalar(raw, tensor.dtype, self._little_endian())
        self._cache[key] = value
        return value

    def _little_endian(self) -> bool:
        if self._little is None:
            member = self._members.get(f"{self._prefix}byteorder")
            order = b"little"
            if member is not None and member.size <= 16:
                try:
                    order = read_member(self._f, member, 16).strip()
                except FormatError:
                    order = b"little"
            self._little = order != b"big"
        return self._little
