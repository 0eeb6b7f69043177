"""Running a pickle through the restricted unpickler with and without its tensor fast path.

``outcome`` gives everything a run can show, in a canonical form: the object built (with which
objects are shared: a tensor's storage, a dict seen twice), the memo (every slot, dumped by GETs
appended to the pickle), the resolver's records (storages, unsafe names and calls, unknown
globals), the end offset; or the error's type and message. The fast path is correct when both
runs give equal outcomes, whatever the bytes.
"""

from __future__ import annotations

import io
import pickletools
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ckpt_tui.reader.unpickle import machine as unpickler
from ckpt_tui.reader.unpickle.machine import Limits, unpickle
from ckpt_tui.reader.unpickle.objects import (
    Call,
    DType,
    GlobalRef,
    NumpyDType,
    StorageRef,
    StorageType,
    TensorRef,
)
from ckpt_tui.reader.unpickle.resolve import Resolver, SafeFn
from ckpt_tui.reader.zipformat import _storage_loader

REBUILD = "torch._utils _rebuild_tensor_v2"
_PUTS = ("BINPUT", "LONG_BINPUT", "MEMOIZE")


def data_pkl(obj: Any, protocol: int = 2) -> bytes:
    """The ``data.pkl`` that real ``torch.save`` writes for ``obj``."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer, pickle_protocol=protocol)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as z:
        (name,) = [n for n in z.namelist() if n.endswith("/data.pkl")]
        return z.read(name)


class _Snapshot:
    """Canonical form of what the unpickler built; identity kept for mutable objects."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.keep: list[Any] = []  # ids stay valid while the snapshot is taken

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if value is None or kind in (bool, int, float, str, bytes, complex):
            return (kind.__name__, value)
        if kind is tuple:
            # Tuples have no identity worth keeping (the fast path shares equal size tuples).
            return ("tuple", [self(v) for v in value])
        if kind is frozenset:
            return ("frozenset", sorted(repr(self(v)) for v in value))
        if kind is SafeFn:
            return ("safefn", value.qualname)
        if kind in (DType, StorageType):
            return (kind.__name__, value.name)
        if id(value) in self.seen:
            return ("ref", self.seen[id(value)])
        self.seen[id(value)] = len(self.seen)
        self.keep.append(value)
        if kind is dict:
            return ("dict", [(self(k), self(v)) for k, v in value.items()])
        if kind is list:
            return ("list", [self(v) for v in value])
        if kind is set:
            return ("set", sorted(repr(self(v)) for v in value))
        if kind is bytearray:
            return ("bytearray", bytes(value))
        if kind in (TensorRef, StorageRef, Call, GlobalRef, NumpyDType):
            return (kind.__name__, [self(getattr(value, f)) for f in kind.__slots__])
        raise AssertionError(f"unexpected {kind.__name__} in the unpickled tree")


def _genops(data: bytes) -> list[tuple[Any, Any, int]]:
    """``pickletools.genops`` (a listing, it runs nothing), offsets typed as ints."""
    return [(op, arg, int(pos or 0)) for op, arg, pos in pickletools.genops(data)]


def memo_slots(data: bytes) -> list[int]:
    """Every memo slot a well-formed pickle writes (read by ``pickletools``, which runs nothing)."""
    slots: list[int] = []
    memoized = 0
    for op, arg, _pos in _genops(data):
        if op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
            slots.append(int(arg))
        elif op.name == "MEMOIZE":
            slots.append(memoized)
        if op.name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            memoized += 1
    return sorted(set(slots))


def with_memo_dump(data: bytes) -> bytes:
    """``data`` returning ``(its object, [every memo slot's value])`` instead of its object;
    a ValueError when ``pickletools`` cannot list its opcodes."""
    if not data.endswith(b"."):
        raise ValueError("no STOP at the end")
    gets = b"".join(b"j" + struct.pack("<I", slot) for slot in memo_slots(data))
    return data[:-1] + b"(" + gets + b"l\x86."


@contextmanager
def fast_path(enabled: bool) -> Iterator[list[int]]:
    """Turn the fast path on or off; the list yielded counts the records it read."""
    hits = [0]
    saved_flag, saved_factory = unpickler.FAST_PATH, unpickler.tensor_records

    def counting(rebuild: Any, memo: list[Any], load: Any) -> Any:
        read, forget = saved_factory(rebuild, memo, load)

        def counted(data: bytes, pos: int, budget: int) -> Any:
            done = read(data, pos, budget)
            hits[0] += done is not None
            return done

        return counted, forget

    unpickler.FAST_PATH = enabled
    unpickler.tensor_records = counting  # type: ignore[assignment]
    try:
        yield hits
    finally:
        unpickler.FAST_PATH = saved_flag
        unpickler.tensor_records = saved_factory


def outcome(data: bytes, *, fast: bool, limits: Limits | None = None) -> tuple[Any, int]:
    """What unpickling ``data`` (zip-format persistent ids) shows, and the fast path's hits."""
    resolver = Resolver()
    with fast_path(fast) as hits:
        try:
            root, end = unpickle(
                data, resolver, _storage_loader(resolver), limits=limits or Limits()
            )
        except Exception as exc:  # compared, not swallowed
            result: Any = ("error", type(exc).__name__, str(exc))
        else:
            snap = _Snapshot()
            result = (
                "ok",
                end,
                snap(root),
                snap(resolver.storages),
                snap(resolver.unsafe_calls),
                list(resolver.unsafe),
                sorted(resolver.unknown),
            )
    return result, hits[0]


def compare(data: bytes, limits: Limits | None = None) -> tuple[Any, int]:
    """Both paths' outcomes, asserted equal; the outcome and how many records went fast."""
    slow, slow_hits = outcome(data, fast=False, limits=limits)
    quick, hits = outcome(data, fast=True, limits=limits)
    assert slow_hits == 0
    assert quick == slow
    return quick, hits


def record_starts(data: bytes) -> list[int]:
    """Offsets just after each GET of the rebuild function (where the fast path starts)."""
    starts = []
    rebuild_slots: set[int] = set()
    memoized = 0
    strings: list[str] = []  # the last two, for STACK_GLOBAL (protocol 4 and up)
    previous = ""
    for op, arg, pos in _genops(data):
        if op.name in _PUTS:
            if previous == REBUILD:
                rebuild_slots.add(memoized if op.name == "MEMOIZE" else int(arg))
            memoized += 1
        if op.name in ("BINGET", "LONG_BINGET") and arg in rebuild_slots:
            starts.append(pos + (2 if op.name == "BINGET" else 5))
        if op.name in ("GLOBAL", "STACK_GLOBAL"):
            previous = str(arg) if op.name == "GLOBAL" else " ".join(strings[-2:])
        elif op.name not in _PUTS:
            previous = ""
        if isinstance(arg, str):
            strings.append(arg)
    return starts


def get_op(slot: int) -> bytes:
    """A BINGET / LONG_BINGET of ``slot``."""
    return b"h" + bytes([slot]) if slot < 256 else b"j" + struct.pack("<I", slot)


def record_ops(data: bytes, start: int) -> list[tuple[str, Any, int, int]]:
    """The opcodes of the tensor record at ``start``, up to the PUT after its last REDUCE:
    (name, argument, offset, length)."""
    found: list[tuple[str, Any, int, int]] = []
    depth = 0
    previous = ""
    listing = _genops(data[start:])
    for index, (op, arg, pos) in enumerate(listing):
        end = listing[index + 1][2] if index + 1 < len(listing) else len(data) - start
        found.append((op.name, arg, start + pos, end - pos))
        if op.name == "MARK":
            depth += 1
        elif op.name == "TUPLE":
            depth -= 1
        elif depth == 0 and previous == "REDUCE" and op.name in _PUTS:
            return found
        previous = op.name
    raise AssertionError("no record end")
