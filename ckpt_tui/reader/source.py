"""Positioned, counted reads of one checkpoint file, and decoding of small tensor values."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from ckpt_tui.io.storage import ByteSource, NotRegularFileError, open_source
from ckpt_tui.model.entry import Issue

# struct codes of the dtypes whose single values the reader decodes (bfloat16 is special-cased).
_SCALAR_CODES = {
    "float64": "d",
    "float32": "f",
    "float16": "e",
    "int64": "q",
    "int32": "i",
    "int16": "h",
    "int8": "b",
    "uint8": "B",
    "uint16": "H",
    "uint32": "I",
    "uint64": "Q",
    "bool": "?",
}


class FormatError(Exception):
    """The file is broken or hostile; ``code`` becomes the error issue's code.

    ``parsed`` keeps what the pickles read before the error showed (their unsafe globals).
    """

    def __init__(self, code: str, message: str, parsed: ParsedFile | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.parsed = parsed


class CheckpointFile:
    """A checkpoint read through a byte-range source; ``bytes_read`` counts every byte read.

    ``target`` is a path (the local file, or the remote object a mounted stand-in names: see
    :func:`~ckpt_tui.io.storage.open_source`) or a :class:`~ckpt_tui.io.storage.ByteSource`.
    """

    def __init__(self, target: Path | str | ByteSource) -> None:
        if isinstance(target, (str, os.PathLike)):
            self.path = Path(target)
            try:
                self.source: ByteSource = open_source(target)
            except NotRegularFileError:
                raise FormatError("checkpoint.unreadable", "not a regular file") from None
        else:
            self.source = target
            self.path = Path(getattr(target, "url", target.identity))
        self.size = self.source.size
        self.bytes_read = 0

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer only at the end of the file)."""
        if offset < 0 or length < 0:
            raise FormatError("checkpoint.corrupt", f"negative offset {offset} or length {length}")
        if length == 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        chunks: list[bytes] = []
        while length > 0:
            chunk = self.source.read_at(offset, length)
            if not chunk:
                break
            chunks.append(chunk)
            self.bytes_read += len(chunk)
            offset += len(chunk)
            length -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def read_exact(self, offset: int, length: int, what: str) -> bytes:
        """Exactly ``length`` bytes, or a ``checkpoint.truncated`` error naming ``what``."""
        data = self.read(offset, length)
        if len(data) != length:
            raise FormatError(
                "checkpoint.truncated",
                f"file ends inside {what} (wanted {length} bytes at {offset})",
            )
        return data

    def close(self) -> None:
        """Close the source (idempotent)."""
        self.source.close()

    def __enter__(self) -> CheckpointFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def decode_scalar(raw: bytes, dtype: str, little_endian: bool = True) -> float | int | bool | None:
    """The single value of ``dtype`` stored in ``raw`` (``None`` for dtypes not decoded)."""
    order = "<" if little_endian else ">"
    if dtype == "bfloat16" and len(raw) == 2:
        # bfloat16 is the top half of a float32.
        pair = raw + b"\x00\x00" if not little_endian else b"\x00\x00" + raw
        return float(struct.unpack(order + "f", pair)[0])
    code = _SCALAR_CODES.get(dtype)
    if code is None or len(raw) != struct.calcsize(code):
        return None
    value = struct.unpack(order + code, raw)[0]
    return float(value) if code in "def" else value


@dataclass
class ParsedFile:
    """What a format reader recovered: the unpickled root object, or why there is none."""

    format: str
    root: Any = None
    issues: list[Issue] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    """Globals outside the allowlist, from every pickle read so far."""
    unsafe_calls: list[Any] = field(default_factory=list)
    """Calls of those globals (``Call`` records), to name what getattr chains reach."""
    code: str | None = None
    """``TorchScript`` or ``torch.export`` when the file is an archive that holds code."""
    scalar: Any = None
    """``scalar(tensor) -> float | int | bool | None``: reads one small tensor's value."""
    extra: dict[str, Any] = field(default_factory=dict)


class PickleFailure(Exception):
    """A pickle could not be read; ``parsed`` keeps what was learnt before (unsafe globals)."""

    def __init__(self, parsed: ParsedFile, message: str) -> None:
        super().__init__(message)
        self.parsed = parsed
