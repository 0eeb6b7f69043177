"""Hand-built zip checkpoints for the container cases ``tests/reader`` does not cover yet.

:func:`build_zip` lays out local headers, the central directory and the end record byte by byte
and returns where each part is, so a case can lie in exactly one field.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reader_pickles import Asm

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_EOCD = struct.Struct("<4s4H2LH")


def pickle_with_epoch(epoch: int) -> bytes:
    """``{"epoch": epoch}`` as a protocol-2 pickle."""
    return Asm(2).empty_dict().mark().str("epoch").int(epoch).setitems().stop()


@dataclass
class Member:
    """One member to write: name, the bytes stored, and what the headers say."""

    name: str
    data: bytes
    deflate: bool = False
    offset: int | None = None
    """Local header offset the directory claims (default: where it was written)."""


@dataclass
class Layout:
    """The bytes of a zip and where each part of it is."""

    data: bytearray
    local: list[int] = field(default_factory=list)
    central: list[int] = field(default_factory=list)
    cd_offset: int = 0
    eocd: int = 0

    def patch(self, at: int, fmt: str, *values: int) -> Layout:
        """Overwrite the struct ``fmt`` at ``at``."""
        struct.pack_into(fmt, self.data, at, *values)
        return self

    def write(self, path: Path) -> Path:
        path.write_bytes(bytes(self.data))
        return path


def build_zip(
    members: list[Member], *, comment: bytes = b"", order: list[int] | None = None
) -> Layout:
    """A stored/deflated zip of ``members``; ``order`` reorders the central directory."""
    out = bytearray()
    layout = Layout(out)
    records = []
    for member in members:
        raw = member.data
        if member.deflate:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            raw = packer.compress(raw) + packer.flush()
        crc = zlib.crc32(member.data)
        name = member.name.encode()
        layout.local.append(len(out))
        method = 8 if member.deflate else 0
        out += _LOCAL.pack(
            b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(raw), len(member.data), len(name), 0
        )
        out += name + raw
        offset = layout.local[-1] if member.offset is None else member.offset
        records.append((name, method, crc, len(raw), len(member.data), offset))
    layout.cd_offset = len(out)
    for index in order or range(len(records)):
        name, method, crc, csize, usize, offset = records[index]
        layout.central.append(len(out))
        out += _CENTRAL.pack(
            b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, csize, usize, len(name), 0, 0, 0, 0, 0,
            offset,
        )  # fmt: skip
        out += name
    cd_size = len(out) - layout.cd_offset
    layout.eocd = len(out)
    count = len(layout.central)
    out += _EOCD.pack(b"PK\x05\x06", 0, 0, count, count, cd_size, layout.cd_offset, len(comment))
    out += comment
    return layout


def torch_like(
    epoch: int = 1, prefix: str = "archive", extra: dict[str, bytes] | None = None
) -> list[Member]:
    """The members of a minimal torch zip checkpoint (plus ``extra`` name → data)."""
    members = [
        Member(f"{prefix}/data.pkl", pickle_with_epoch(epoch)),
        Member(f"{prefix}/byteorder", b"little"),
    ]
    members += [Member(name, data) for name, data in (extra or {}).items()]
    members.append(Member(f"{prefix}/version", b"3\n"))
    return members


# Offsets of fields inside the headers.
LOCAL_NAME_LEN = 26
LOCAL_EXTRA_LEN = 28
CENTRAL_CSIZE = 20
CENTRAL_USIZE = 24
CENTRAL_OFFSET = 42
EOCD_COUNT = 8  # entries on this disk, then total
EOCD_CD_SIZE = 12
EOCD_CD_OFFSET = 16


def _duplicate_pickle(path: Path) -> Path:
    members = torch_like(1)
    members.insert(1, Member("archive/data.pkl", pickle_with_epoch(2)))
    return build_zip(members).write(path)


def _duplicate_storage(path: Path) -> Path:
    members = torch_like(1, extra={"archive/data/0": b"\0" * 8})
    members.insert(2, Member("archive/data/0", b"\1" * 8))
    return build_zip(members).write(path)


def _two_prefixes(path: Path) -> Path:
    members = torch_like(1, "good") + torch_like(2, "evil")
    return build_zip(members, order=[3, 4, 5, 0, 1, 2]).write(path)


def _hidden_directory(path: Path) -> Path:
    # The comment holds a complete second zip (evil data.pkl) whose end record is followed by
    # one more byte: ours is the record that reaches the end; torch's is the last one.
    visible = build_zip(torch_like(1))
    base = len(visible.data)
    hidden = build_zip(torch_like(2))
    for at in hidden.central:  # its offsets count from the start of the whole file
        old = struct.unpack_from("<L", hidden.data, at + CENTRAL_OFFSET)[0]
        hidden.patch(at + CENTRAL_OFFSET, "<L", old + base)
    hidden.patch(hidden.eocd + EOCD_CD_OFFSET, "<L", hidden.cd_offset + base)
    comment = bytes(hidden.data) + b"X"
    return build_zip(torch_like(1), comment=comment).write(path)


def _overlapping_members(path: Path) -> Path:
    # 2,000 directory entries all pointing at the data.pkl's local header (the overlap trick of
    # non-recursive zip bombs), next to a real data.pkl.
    members = torch_like(1)
    members += [Member(f"archive/data/{i}", b"", offset=0) for i in range(2000)]
    return build_zip(members).write(path)


def _overlapping_pickle(path: Path) -> Path:
    # data.pkl's directory entry points inside another member's data.
    members = torch_like(1, extra={"archive/data/0": b"PK\x03\x04" + b"\0" * 200})
    layout = build_zip(members)
    fake_header = layout.local[2] + 30 + len("archive/data/0")
    return layout.patch(layout.central[0] + CENTRAL_OFFSET, "<L", fake_header).write(path)


def _cd_count_too_high(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return layout.patch(layout.eocd + EOCD_COUNT, "<HH", 9, 9).write(path)


def _cd_cut_short(path: Path) -> Path:
    # The directory loses its last 20 bytes; the end record still claims the full size.
    layout = build_zip(torch_like(1))
    data = layout.data
    return Layout(data[: layout.eocd - 20] + data[layout.eocd :]).write(path)


def _cd_size_past_end(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return layout.patch(layout.eocd + EOCD_CD_SIZE, "<L", 10_000).write(path)


def _cd_offset_past_end(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return layout.patch(layout.eocd + EOCD_CD_OFFSET, "<L", 2**32 - 100).write(path)


def _end_record_only(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return Layout(layout.data[layout.eocd :]).write(path)


def _local_name_length_lie(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return layout.patch(layout.local[0] + LOCAL_NAME_LEN, "<H", 65535).write(path)


def _local_extra_length_lie(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return layout.patch(layout.local[0] + LOCAL_EXTRA_LEN, "<H", 65535).write(path)


def _compressed_size_lie(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return layout.patch(layout.central[0] + CENTRAL_CSIZE, "<L", 2**31).write(path)


def _stored_sizes_disagree(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return layout.patch(layout.central[0] + CENTRAL_USIZE, "<L", 7).write(path)


def _deflated_size_too_small(path: Path) -> Path:
    layout = build_zip([Member(m.name, m.data, deflate=True) for m in torch_like(1)])
    return layout.patch(layout.central[0] + CENTRAL_USIZE, "<L", 5).write(path)


def _deflated_size_too_large(path: Path) -> Path:
    layout = build_zip([Member(m.name, m.data, deflate=True) for m in torch_like(1)])
    return layout.patch(layout.central[0] + CENTRAL_USIZE, "<L", 4000).write(path)


def _bomb_at_the_limit(path: Path) -> Path:
    # A deflated data.pkl that honestly declares 8 MiB of zeros (inside the pickle limit).
    members = torch_like(1)
    members[0] = Member("archive/data.pkl", b"\0" * (8 * 1024 * 1024), deflate=True)
    return build_zip(members).write(path)


def _bad_deflate_stream(path: Path) -> Path:
    layout = build_zip([Member(m.name, m.data, deflate=True) for m in torch_like(1)])
    start = layout.local[0] + 30 + len(b"archive/data.pkl")
    layout.data[start : start + 4] = b"\xff\xff\xff\xff"
    return layout.write(path)


def _unknown_method(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    return layout.patch(layout.central[0] + 10, "<H", 99).write(path)


def _zip64_locator_lie(path: Path) -> Path:
    layout = build_zip(torch_like(1))
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, 2**62, 1)
    data = layout.data[: layout.eocd] + locator + layout.data[layout.eocd :]
    return Layout(data).write(path)


def _traversal_pickle_only(path: Path) -> Path:
    members = [Member("../archive/data.pkl", pickle_with_epoch(1)), Member("/abs/x", b"x")]
    return build_zip(members).write(path)


def _traversal_everywhere(path: Path) -> Path:
    names = ["/etc/ckpt-tui-evil", "..\\..\\evil", "archive/../../evil", "archive/data/../../x"]
    members = torch_like(1) + [Member(name, b"x") for name in names]
    return build_zip(members).write(path)


ZipCase = tuple[Callable[[Path], Path], str | None]

#: name → (builder, expected error code; ``None``: the file reads, epoch 1)
ZIP_CASES: dict[str, ZipCase] = {
    "duplicate_data_pkl": (_duplicate_pickle, "checkpoint.zip-invalid"),
    "duplicate_storage": (_duplicate_storage, "checkpoint.zip-invalid"),
    "two_archive_folders": (_two_prefixes, "checkpoint.zip-invalid"),
    "directory_hidden_in_comment": (_hidden_directory, "checkpoint.zip-invalid"),
    "overlapping_members": (_overlapping_members, None),
    "pickle_overlaps_a_member": (_overlapping_pickle, "checkpoint.corrupt"),
    "cd_count_too_high": (_cd_count_too_high, "checkpoint.zip-invalid"),
    "cd_cut_short": (_cd_cut_short, "checkpoint.truncated"),
    "cd_size_past_end": (_cd_size_past_end, "checkpoint.truncated"),
    "cd_offset_past_end": (_cd_offset_past_end, "checkpoint.truncated"),
    "end_record_only": (_end_record_only, "checkpoint.not-a-checkpoint"),
    "local_name_length_lie": (_local_name_length_lie, "checkpoint.truncated"),
    "local_extra_length_lie": (_local_extra_length_lie, "checkpoint.truncated"),
    "compressed_size_lie": (_compressed_size_lie, "checkpoint.truncated"),
    "stored_sizes_disagree": (_stored_sizes_disagree, "checkpoint.zip-invalid"),
    "deflated_size_too_small": (_deflated_size_too_small, "checkpoint.zip-bomb"),
    "deflated_size_too_large": (_deflated_size_too_large, "checkpoint.zip-invalid"),
    "bomb_at_the_limit": (_bomb_at_the_limit, "checkpoint.pickle-invalid"),
    "bad_deflate_stream": (_bad_deflate_stream, "checkpoint.zip-invalid"),
    "unknown_compression": (_unknown_method, "checkpoint.zip-invalid"),
    "zip64_locator_lie": (_zip64_locator_lie, "checkpoint.zip-invalid"),
    "traversal_pickle_only": (_traversal_pickle_only, "checkpoint.not-a-checkpoint"),
    "traversal_everywhere": (_traversal_everywhere, None),
}
