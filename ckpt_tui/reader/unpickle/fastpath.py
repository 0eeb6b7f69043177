"""A fast path for the tensor records torch writes: one pattern match instead of ~30 opcodes.

torch pickles every tensor of a checkpoint with the same opcodes (protocol 2 shown; protocols 4
and 5 use SHORT_BINUNICODE and MEMOIZE, which are matched too)::

    GET _rebuild_tensor_v2  MARK  MARK  GET 'storage'  GET <storage type>  BINUNICODE <key> PUT
    GET <location>  <numel>  TUPLE PUT  BINPERSID  <offset>  <size> [PUT]  <stride> [PUT]
    NEWFALSE  GET OrderedDict  EMPTY_TUPLE REDUCE PUT  TUPLE PUT  REDUCE PUT

Running those one at a time is most of the reader's time (a ResNet-50 with Adam state holds ~800
tensors). Once the opcode loop has read the GET of the rebuild function, the reader made by
:func:`tensor_records` matches the rest of the record with one compiled pattern and does what the
loop would do: the same calls (``persistent_load``, the hooks factory) with the same arguments in
the same order, the tensor ``Resolver.rebuild_tensor`` would return, the same memo writes in the
same slots, and the same count of objects against the budget.

When anything differs from the common case it returns ``None`` before any side effect, and the
loop reads the bytes itself: another layout (a shared storage, a 7th metadata argument, a FRAME
inside the record, legacy persistent ids), a key whose declared length is not its digits, a memo
write to any slot but the next one, a memo read of a slot the record itself writes, a hooks
factory that is not one of the reader's own functions, or a budget that would run out inside the
record. One difference cannot be observed: equal size and stride tuples share one tuple object
(immutable tuples of ints). ``tests/reader/test_reader_fastpath.py`` compares both paths.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any

from ckpt_tui.reader.unpickle.objects import StorageRef, TensorRef
from ckpt_tui.reader.unpickle.resolve import MAX_DIMS, ORDERED_DICT, SafeFn

_I32 = struct.Struct("<i").unpack_from
_from_bytes = int.from_bytes

# Pattern pieces (bytes, DOTALL: "." is any byte). Alternatives are cheap for the regex engine,
# repeats of a group are not (they are several times slower), hence the unrolled tuples.
_GET = rb"(?:h.|j.{4})"  # BINGET / LONG_BINGET
_PUT = rb"(?:r.{4}|q.|\x94)"  # LONG_BINPUT / BINPUT / MEMOIZE
_INT = rb"(?:K.|M.{2}|J.{4})"  # BININT1 / BININT2 / BININT
_MAX_MARKED = 6  # dimensions of a MARK ... TUPLE size or stride the pattern takes


def _marked_tuple(ints: int) -> bytes:
    # MARK, then up to ``ints`` ints, then TUPLE: nested alternatives instead of a repeat.
    tail = rb"t"
    for _ in range(ints):
        tail = rb"(?:t|" + _INT + tail + rb")"
    return rb"\(" + tail


# A tuple of ints as torch writes sizes and strides: MARK ... TUPLE, TUPLE1-3, or EMPTY_TUPLE.
_DIMS = (
    rb"(?:"
    + _marked_tuple(_MAX_MARKED)
    + rb"|" + _INT + rb"(?:\x85|" + _INT + rb"(?:\x86|" + _INT + rb"\x87))"
    + rb"|\))"
)  # fmt: skip

# Every capture group costs a bytes object per tensor: what is decoded together is captured
# together, and the per-pickle caches below are keyed by these groups.
_RECORD = re.compile(
    b"".join(
        [
            # MARK MARK, GET 'storage', GET <storage type>, the key's opcode and length
            rb"\(\((" + _GET * 2 + rb"(?:X.\x00\x00\x00|\x8c.))",
            rb"([0-9]{1,12})(" + _PUT + rb")",  # the key's digits, PUT
            rb"(" + _GET + _INT + rb")t(" + _PUT + rb")",  # GET <location>, numel; TUPLE PUT
            rb"Q(" + _INT + _DIMS + rb")(" + _PUT + rb"|)",  # BINPERSID, offset, size [PUT]
            rb"(" + _DIMS + rb")(" + _PUT + rb"|)",  # stride [PUT]
            rb"([\x88\x89]" + _GET + rb")",  # requires_grad (NEWTRUE / NEWFALSE), hooks factory
            rb"\)R(" + _PUT + rb"t" + _PUT + rb"R" + _PUT + rb")",  # hooks, args, tensor PUTs
        ]
    ),
    re.DOTALL,
).match


def _canonical_puts(first: int, count: int, form: int) -> bytes:
    """The PUTs of a record writing slots ``first``... (``form``: 5 LONG_BINPUT, 2 BINPUT,
    1 MEMOIZE), as the matched groups hold them: the last three with TUPLE and REDUCE between."""
    puts = [
        b"r" + (first + i).to_bytes(4, "little")
        if form == 5
        else b"q" + bytes([first + i])
        if form == 2
        else b"\x94"
        for i in range(count)
    ]
    return b"".join(puts[:-2]) + b"t" + puts[-2] + b"R" + puts[-1]


def _put_table() -> dict[int, tuple[int, int, int, int]]:
    # Read as a little-endian integer, the canonical PUTs from slot n are base + n * step (each
    # slot number sits in its own bytes), so one comparison checks every slot of a record. Keyed
    # by length, which tells the form and count apart: 27/32/37, 12/14/16, 7/8/9 bytes.
    table = {}
    for form, last_slot in ((5, 2**32 - 1), (2, 255), (1, 2**63)):
        for count in (5, 6, 7):
            base = _from_bytes(_canonical_puts(0, count, form), "little")
            step = _from_bytes(_canonical_puts(1, count, form), "little") - base
            length = len(_canonical_puts(0, count, form))
            table[length] = (count, base, step, last_slot - count + 1)
    return table


_PUTS = _put_table()
# The usual case, protocol 2 past slot 255: seven LONG_BINPUTs.
_LONG7_LENGTH = len(_canonical_puts(0, 7, 5))
_LONG7_BASE = _from_bytes(_canonical_puts(0, 7, 5), "little")
_LONG7_STEP = _from_bytes(_canonical_puts(1, 7, 5), "little") - _LONG7_BASE
_MAX_CACHED = 4096

Dims = tuple[tuple[int, ...], int, bool]
Sized = tuple[int, tuple[int, ...], int, bool]
RecordReader = Callable[[bytes, int, int], "tuple[Any, int, int] | None"]


def _width(raw: bytes, pos: int) -> int:
    """Bytes of the BININT1 / BININT2 / BININT or BINGET / LONG_BINGET at ``raw[pos]``."""
    return 5 if raw[pos] in (0x4A, 0x6A) else 3 if raw[pos] == 0x4D else 2


def _int(raw: bytes) -> int:
    """A BININT1 / BININT2 / BININT as the loop reads it (unsigned 1 and 2 bytes, signed 4)."""
    if raw[0] == 0x4A:
        return int(_I32(raw, 1)[0])
    return _from_bytes(raw, "little") >> 8


def _slot(raw: bytes) -> int:
    """The memo slot of a BINGET / LONG_BINGET."""
    return _from_bytes(raw[1:], "little")


def _dims(raw: bytes) -> Dims:
    """The tuple of ints a matched ``_DIMS`` builds, the objects the loop counts for it (MARK
    and TUPLE, TUPLEn, or none for EMPTY_TUPLE), and whether ``rebuild_tensor`` accepts it as a
    size or stride (no negative value, at most ``MAX_DIMS``)."""
    values: list[int] = []
    pos = 1 if raw[0] == 0x28 else 0  # skip MARK
    end = len(raw) - 1  # the TUPLE / TUPLEn opcode (or EMPTY_TUPLE: nothing to read)
    while pos < end:
        width = _width(raw, pos)
        values.append(_int(raw[pos : pos + width]))
        pos += width
    count = 0 if raw == b")" else 2 if raw[0] == 0x28 else 1
    valid = len(values) <= MAX_DIMS and all(value >= 0 for value in values)
    return tuple(values), count, valid


def _sized(raw: bytes) -> Sized:
    """The storage offset and the size (as :func:`_dims`) of a matched ``_INT _DIMS``."""
    width = _width(raw, 0)
    return (_int(raw[:width]), *_dims(raw[width:]))


def tensor_records(
    rebuild: SafeFn, memo: list[Any], persistent_load: Callable[[Any], Any]
) -> tuple[RecordReader, Callable[[], None]]:
    """A reader of tensor records for one pickle, and the function to call whenever a memo slot
    is overwritten (the reader caches what its memo reads found).

    The reader takes the data, the offset after the GET of ``rebuild`` and the remaining object
    budget; ``memo`` must be dense (no sparse slots) when it is called. It returns the rebuilt
    tensor, the offset after the record and the objects to count, having appended the record's
    memo writes to ``memo``; or ``None``, having changed nothing. Exceptions come only from the
    calls the loop would make too.
    """
    # Per-pickle caches keyed by the matched bytes: the memo reads are the same few GETs in
    # every record, and sizes, strides and element counts repeat (Adam's two moments).
    heads: dict[bytes, tuple[Any, Any, int]] = {}  # storage tag, storage type, key length
    places: dict[bytes, tuple[Any, int]] = {}  # location, numel
    hooks_factories: dict[bytes, tuple[SafeFn, bool]] = {}  # factory, requires_grad
    sizes: dict[bytes, Sized] = {}
    strides_seen: dict[bytes, Dims] = {}

    def read_head(raw: bytes, known: int) -> tuple[Any, Any, int] | None:
        gets = raw[:-2] if raw[-2] == 0x8C else raw[:-5]
        first = _width(gets, 0)
        tag_slot, type_slot = _slot(gets[:first]), _slot(gets[first:])
        if tag_slot >= known or type_slot >= known:
            return None  # a slot the record writes (or a sparse one): the loop's business
        head = (memo[tag_slot], memo[type_slot], raw[-1] if raw[-2] == 0x8C else raw[-4])
        if len(heads) < _MAX_CACHED:
            heads[raw] = head
        return head

    def read_place(raw: bytes, known: int) -> tuple[Any, int] | None:
        width = _width(raw, 0)
        slot = _slot(raw[:width])
        if slot >= known:
            return None
        place = (memo[slot], _int(raw[width:]))
        if len(places) < _MAX_CACHED:
            places[raw] = place
        return place

    def read_hooks(raw: bytes, known: int) -> tuple[SafeFn, bool] | None:
        slot = _slot(raw[1:])
        if slot >= known or type(memo[slot]) is not SafeFn:
            return None  # the loop records a Call (and may note an unsafe one)
        entry = (memo[slot], raw[0] == 0x88)
        if len(hooks_factories) < _MAX_CACHED:
            hooks_factories[raw] = entry
        return entry

    def read_sized(raw: bytes) -> Sized:
        entry = _sized(raw)
        if len(sizes) < _MAX_CACHED:
            sizes[raw] = entry
        return entry

    def read_strides(raw: bytes) -> Dims:
        entry = _dims(raw)
        if len(strides_seen) < _MAX_CACHED:
            strides_seen[raw] = entry
        return entry

    def forget() -> None:
        heads.clear()
        places.clear()
        hooks_factories.clear()

    def read(data: bytes, pos: int, budget: int) -> tuple[Any, int, int] | None:
        match = _RECORD(data, pos)
        if match is None:
            return None
        (
            head_raw, key, put_key, place_raw, put_pid, sized_raw, put_size, stride_raw,
            put_stride, hooks_raw, put_tail,
        ) = match.groups()  # fmt: skip
        known = len(memo)
        head = heads.get(head_raw) or read_head(head_raw, known)
        place = places.get(place_raw) or read_place(place_raw, known)
        hooks_entry = hooks_factories.get(hooks_raw) or read_hooks(hooks_raw, known)
        if head is None or place is None or hooks_entry is None or head[2] != len(key):
            return None  # (a declared key length that is not the digits': another layout)
        puts = put_key + put_pid + put_size + put_stride + put_tail
        if len(puts) == _LONG7_LENGTH:
            if _from_bytes(puts, "little") != _LONG7_BASE + known * _LONG7_STEP:
                return None  # a PUT to any slot but the next one
        else:
            form = _PUTS.get(len(puts))
            if (
                form is None
                or form[0] != 5 + (put_size != b"") + (put_stride != b"")
                or known > form[3]
                or _from_bytes(puts, "little") != form[1] + known * form[2]
            ):
                return None
        start, shape, size_count, size_ok = sizes.get(sized_raw) or read_sized(sized_raw)
        strides, stride_count, stride_ok = strides_seen.get(stride_raw) or read_strides(stride_raw)
        count = 7 + size_count + stride_count  # MARK x2, key, TUPLE, REDUCE, TUPLE, REDUCE
        if count > budget:
            return None  # let the loop stop where it would
        # From here on, what the loop does, in its order.
        key_text = key.decode("ascii")
        pid = (head[0], head[1], key_text, place[0], place[1])
        storage = persistent_load(pid)
        factory, grad = hooks_entry
        # OrderedDict() is an empty dict (see resolve._containers); others are called.
        hooks = {} if factory.qualname == ORDERED_DICT else factory.fn()
        args = (storage, start, shape, strides, grad, hooks)
        if (
            size_ok
            and stride_ok
            and type(storage) is StorageRef
            and start >= 0
            and len(shape) == len(strides)
        ):
            # What Resolver.rebuild_tensor returns for arguments it accepts.
            value = TensorRef(storage, start, shape, strides, storage.dtype, grad)
        else:
            value = rebuild.fn(*args)  # it refuses them: let it raise its own error
        if put_size and put_stride:
            memo.extend((key_text, pid, shape, strides, hooks, args, value))
        else:
            memo.extend((key_text, pid))
            if put_size:
                memo.append(shape)
            if put_stride:
                memo.append(strides)
            memo.extend((hooks, args, value))
        return value, match.end(), count

    return read, forget
