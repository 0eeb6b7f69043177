"""The zip container of torch checkpoints: its directory, checked, and the reading of one member.

The directory is parsed here by hand so that every size is checked against the file before
anything is read: a lying size, a truncated file, a deflated member that expands without end, or
absurd member counts give a :class:`~ckpt_tui.reader.source.FormatError`, never a large read.
Member names are only looked up, never used as paths, so names like ``../../x`` are harmless (and
reported).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ckpt_tui.model.entry import Issue
from ckpt_tui.reader.source import CheckpointFile, FormatError
from ckpt_tui.reader.unpickle.machine import Limits

ZIP_MAGIC = b"PK\x03\x04"
_EOCD = struct.Struct("<4s4H2LH")
_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
# Central directory entry: signature, flags, method, crc, sizes, name/extra/comment lengths,
# local header offset (the "x" codes skip versions, times, disk and attributes).
_CENTRAL = struct.Struct("<I4xHH4xLLLHHH8xL")
_CENTRAL_SIG = 0x02014B50  # b"PK\x01\x02", read as a little-endian int (no bytes object)
_LOCAL = struct.Struct("<4s5H3L2H")
_TAIL = 64 * 1024 + _EOCD.size + _LOCATOR.size + _EOCD64.size


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on the zip container."""

    max_directory_bytes: int = 64 * 1024 * 1024
    max_members: int = 1_000_000
    max_pickle_bytes: int = Limits().max_bytes


# A directory entry is the tuple _CENTRAL unpacks (signature, flags, method, crc, compressed
# size, size, name/extra/comment lengths, header offset), with zip64 sizes filled in.
Entry = tuple[int, int, int, int, int, int, int, int, int, int]
METHOD, CRC, COMPRESSED, SIZE, OFFSET = 2, 3, 4, 5, 9


class Directory:
    """The zip directory: member name → :data:`Entry`.

    Entries stay the plain tuples the parser read (a checkpoint has thousands); :meth:`get`
    wraps one in a Member. ``pickles`` lists the names ending in ``data.pkl`` (see
    :func:`~ckpt_tui.reader.zipformat.find_pickle`).
    """

    __slots__ = ("entries", "pickles")

    def __init__(self, entries: dict[str, Entry], pickles: list[str]) -> None:
        self.entries = entries
        self.pickles = pickles

    def get(self, name: str) -> Member | None:
        """The member called ``name``, if any."""
        e = self.entries.get(name)
        return (
            None
            if e is None
            else Member(name, e[OFFSET], e[COMPRESSED], e[SIZE], e[METHOD], e[CRC])
        )


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
    clean = _parse_clean(directory, count, end)
    if clean is not None:
        return clean, []
    return _parse_checked(directory, count, end, duplicates_ok)


def _parse_clean(directory: bytes, count: int, end: int) -> Directory | None:
    """The directory of a well-formed zip, or ``None`` at the first thing that is not.

    The loop per member (a checkpoint has one per storage) only walks the entries and checks
    their bounds; names are decoded, checked and indexed all at once by C code. Anything unusual
    (a short or corrupt directory, zip64 sizes, a member past the end, a non-ASCII, suspicious
    or repeated name) goes to :func:`_parse_checked`, which reports it exactly.
    """
    raw_names: list[bytes] = []
    rows: list[Entry] = []
    pos = 0
    unpack = _CENTRAL.unpack_from
    size = _CENTRAL.size
    limit = len(directory) - size
    # Below 4 GB, a zip64 marker (0xFFFFFFFF) as offset or compressed size fails the bound too.
    bound = end - 30
    for _ in range(count):
        if pos > limit:
            return None
        row = unpack(directory, pos)
        if (
            row[0] != _CENTRAL_SIG
            or row[OFFSET] + row[COMPRESSED] > bound
            or row[SIZE] == 0xFFFFFFFF
        ):
            return None
        start = pos + size
        pos = start + row[6] + row[7] + row[8]
        raw_names.append(directory[start : start + row[6]])
        rows.append(row)
    if bound >= 0xFFFFFFFF and any(
        row[OFFSET] == 0xFFFFFFFF or row[COMPRESSED] == 0xFFFFFFFF for row in rows
    ):
        return None
    joined_raw = b"\x00".join(raw_names)
    if not joined_raw.isascii():
        return None
    joined = joined_raw.decode("ascii")
    names = joined.split("\x00")
    if (
        len(names) != count  # a name holds a NUL
        or ".." in joined
        or joined.startswith(("/", "\\"))
        or "\x00/" in joined
        or "\x00\\" in joined
    ):
        return None
    members = dict(zip(names, rows, strict=True))
    if len(members) != count or len(set(fold_case(joined).split("\x00"))) != count:
        return None  # a repeated name, or two names torch's lookup takes for one
    return Directory(members, _ending(joined, "data.pkl"))


def _ending(joined: str, suffix: str) -> list[str]:
    """The names ending in ``suffix`` among ``joined`` (names separated by NULs)."""
    found = []
    at = joined.find(suffix)
    while at >= 0:
        stop = at + len(suffix)
        if stop == len(joined) or joined[stop] == "\x00":
            found.append(joined[joined.rfind("\x00", 0, at) + 1 : stop])
        at = joined.find(suffix, at + 1)
    return found


def _parse_checked(
    directory: bytes, count: int, end: int, duplicates_ok: bool = False
) -> tuple[Directory, list[Issue]]:
    """The directory, checked member by member: errors and warnings name the member."""
    members: dict[str, Entry] = {}
    folded: dict[str, str] = {}
    pickles: list[str] = []
    issues: list[Issue] = []
    pos = 0
    unpack = _CENTRAL.unpack_from
    size = _CENTRAL.size
    limit = len(directory) - size
    for _ in range(count):
        if pos > limit:
            raise FormatError("checkpoint.zip-invalid", "zip directory is shorter than declared")
        row = unpack(directory, pos)
        sig, flags, method, crc, csize, usize, nlen, elen, clen, offset = row
        if sig != _CENTRAL_SIG:
            raise FormatError("checkpoint.zip-invalid", "zip directory entry is corrupt")
        start = pos + size
        pos = start + nlen + elen + clen
        if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF or offset == 0xFFFFFFFF:
            usize, csize, offset = _zip64(
                directory[start + nlen : start + nlen + elen], usize, csize, offset
            )
            row = (sig, flags, method, crc, csize, usize, nlen, elen, clen, offset)
        raw_name = directory[start : start + nlen]
        try:
            name = raw_name.decode("ascii")  # the same in cp437 and utf-8, and much faster
        except UnicodeDecodeError:
            name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        if offset + 30 + csize > end:
            raise FormatError(
                "checkpoint.truncated", f"zip member {name!r:.80} extends past the end of the file"
            )
        if (".." in name or "\x00" in name or name.startswith(("/", "\\"))) and _outside(name):
            issues.append(
                Issue(
                    severity="warning",
                    code="checkpoint.suspicious-name",
                    message=f"zip member {name!r:.80} points outside the archive (ignored)",
                )
            )
            continue
        if not duplicates_ok:
            _refuse_repeated(name, members, folded)
        if name not in members and name.endswith("data.pkl"):
            pickles.append(name)
        members[name] = row
    return Directory(members, pickles), issues


_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_case(name: str) -> str:
    """``name`` as torch's zip reader (miniz) compares names: ASCII letters without case."""
    return name.translate(_ASCII_FOLD)


def _refuse_repeated(name: str, members: dict[str, Entry], folded: dict[str, str]) -> None:
    """A :class:`FormatError` when ``name`` repeats a member's name, even in another case.

    torch writes each name once, and its lookup (a binary search that ignores case) may find
    either of two such members: a harmless ``data.pkl`` could hide the ``DATA.PKL`` torch runs.
    """
    first = folded.setdefault(fold_case(name), name)
    if name in members or first != name:
        raise FormatError(
            "checkpoint.zip-invalid",
            f"two zip members named {first!r:.80} and {name!r:.80}: torch may read either "
            "(its lookup ignores case; not read)"
            if first != name
            else f"two zip members named {name!r:.80}: torch may read either (not read)",
        )


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
    start = data_start(f, member)
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


def data_start(f: CheckpointFile, member: Member) -> int:
    header = f.read_exact(member.header_offset, _LOCAL.size, f"{member.name} header")
    fields = _LOCAL.unpack(header)
    if fields[0] != ZIP_MAGIC:
        raise FormatError("checkpoint.zip-invalid", f"{member.name}: local header is corrupt")
    start = member.header_offset + _LOCAL.size + fields[9] + fields[10]
    if start + member.compressed_size > f.size:
        raise FormatError("checkpoint.truncated", f"{member.name} extends past the end of file")
    return start
