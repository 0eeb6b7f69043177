"""``.safetensors``: an 8-byte header length, a JSON header, then raw tensor bytes.

Only the header is read (bounded); every entry's dtype, shape and byte range is checked against
the file before it is reported.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from ckpt_tui.reader.source import CheckpointFile, FormatError, ParsedFile
from ckpt_tui.reader.unpickle.objects import TensorRef

MAX_HEADER_BYTES = 64 * 1024 * 1024

# safetensors dtype codes → torch dtype names.
DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U64": "uint64",
    "U32": "uint32",
    "U16": "uint16",
    "U8": "uint8",
    "BOOL": "bool",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "C64": "complex64",
}


def looks_like_safetensors(head: bytes, file_size: int) -> bool:
    """An 8-byte little-endian length that fits the file, followed by ``{``."""
    if len(head) < 9:
        return False
    (length,) = struct.unpack_from("<Q", head)
    return 2 <= length <= file_size - 8 and head[8:9] == b"{"


def parse_safetensors(f: CheckpointFile) -> ParsedFile:
    """The header's tensors (as :class:`TensorRef` without storage) and ``__metadata__``."""
    head = f.read_exact(0, 8, "the safetensors header length")
    (length,) = struct.unpack("<Q", head)
    if length > MAX_HEADER_BYTES:
        raise FormatError("checkpoint.too-large", f"safetensors header of {length} bytes")
    raw = f.read_exact(8, length, "the safetensors header")
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FormatError("checkpoint.corrupt", f"safetensors header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise FormatError("checkpoint.corrupt", "safetensors header is not a JSON object")
    data_size = f.size - 8 - length
    metadata = header.pop("__metadata__", None)
    tensors: dict[str, TensorRef] = {}
    for name, entry in header.items():
        tensors[name] = _tensor(name, entry, data_size)
    parsed = ParsedFile("safetensors", root=tensors)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise FormatError("checkpoint.corrupt", "safetensors __metadata__ is not str → str")
        parsed.extra["metadata"] = metadata
    return parsed


def _tensor(name: str, entry: Any, data_size: int) -> TensorRef:
    if not isinstance(entry, dict):
        raise FormatError("checkpoint.corrupt", f"safetensors entry {name!r:.60} is not an object")
    dtype = DTYPES.get(entry.get("dtype"))  # type: ignore[arg-type]
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if (
        dtype is None
        or not isinstance(shape, list)
        or len(shape) > 64
        or not all(type(s) is int and s >= 0 for s in shape)
        or not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int for o in offsets)
    ):
        raise FormatError("checkpoint.corrupt", f"safetensors entry {name!r:.60} is malformed")
    tensor = TensorRef(None, 0, tuple(shape), (), dtype)
    begin, end = offsets
    if not 0 <= begin <= end <= data_size or end - begin != tensor.nbytes:
        raise FormatError(
            "checkpoint.corrupt",
            f"safetensors entry {name!r:.60} claims bytes {begin}-{end} for shape {shape!s:.60} "
            f"(the data section has {data_size})",
        )
    return tensor
