"""A restricted pickle machine: runs the opcodes of protocols 0-5 and never executes code.

This is the only code in ckpt-tui that interprets pickles, and it does not use the ``pickle``
module at all: a pure-Python loop over the opcodes, where

* GLOBAL / STACK_GLOBAL / INST / OBJ ask :class:`~ckpt_tui.core.reader.resolve.Resolver` for a
  name, which returns an inert placeholder or one of the reader's own typed functions;
* REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ call only those functions; on anything else they record
  a :class:`~ckpt_tui.core.reader.objects.Call` (callee, args);
* BUILD stores the state on such a record instead of calling ``__setstate__``;
* PERSID / BINPERSID go to the format reader's ``persistent_load`` (storage references).

Every input is bounded: the number of opcodes, of containers built, of MARK nesting, of memo slots;
a malformed or hostile stream raises :class:`UnpicklingError` with the offset, never anything else.
"""

from __future__ import annotations

import codecs
import gc
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ckpt_tui.core.reader.objects import Call, NumpyDType
from ckpt_tui.core.reader.resolve import PickleDataError, Resolver, SafeFn, check_hashable

_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_F64 = struct.Struct(">d").unpack_from

_OPNAMES = {
    **{c: n for n, c in (("MARK", 0x28), ("STOP", 0x2E), ("GLOBAL", 0x63), ("REDUCE", 0x52))},
    **{c: n for n, c in (("BUILD", 0x62), ("INST", 0x69), ("OBJ", 0x6F), ("NEWOBJ", 0x81))},
    **{c: n for n, c in (("NEWOBJ_EX", 0x92), ("STACK_GLOBAL", 0x93), ("SETITEMS", 0x75))},
}


class UnpicklingError(Exception):
    """The pickle is malformed, hostile or over a limit."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one pickle; the defaults fit checkpoints with ~100k tensors (data.pkl ~10 MB)."""

    max_bytes: int = 16 * 1024 * 1024
    max_objects: int = 1_000_000
    max_mark_depth: int = 512
    max_sparse_memo: int = 100_000
    max_long_bytes: int = 1024
    max_line: int = 65_536


DEFAULT_LIMITS = Limits()


def unpickle(
    data: bytes,
    resolver: Resolver,
    persistent_load: Callable[[Any], Any] | None,
    *,
    start: int = 0,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[Any, int]:
    """Run the pickle that begins at ``data[start]``; return the object and the offset after STOP.

    Raises :class:`UnpicklingError` for anything malformed, hostile or over ``limits``; an
    :class:`EOFError` subclass (:class:`TruncatedPickle`) when ``data`` ends before STOP, so a
    caller reading a stream can fetch more bytes and try again.
    """
    # The loop allocates many small containers; the cyclic GC would otherwise run dozens of
    # collections (over the whole heap) per checkpoint, more than doubling the time.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _run(data, start, resolver, persistent_load, limits)
    except (UnpicklingError, TruncatedPickle):
        raise
    except PickleDataError as exc:
        raise UnpicklingError(str(exc)) from None
    except (IndexError, KeyError, struct.error, TypeError, ValueError, AttributeError) as exc:
        raise UnpicklingError(f"malformed pickle ({type(exc).__name__}: {exc!s:.80})") from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise UnpicklingError(f"pickle too large or too deep ({type(exc).__name__})") from None
    finally:
        if paused:
            gc.enable()


class TruncatedPickle(EOFError):
    """The data ended before the pickle's STOP opcode."""


def _line(data: bytes, pos: int, limit: int) -> tuple[bytes, int]:
    end = data.find(b"\n", pos, pos + limit + 1)
    if end < 0:
        if len(data) - pos <= limit:
            raise TruncatedPickle("pickle ends inside a text line")
        raise UnpicklingError(f"text line over {limit} bytes at offset {pos}")
    return data[pos:end], end + 1


def _need(data: bytes, end: int) -> None:
    if end > len(data):
        raise TruncatedPickle("pickle ends inside an argument")


def _text_string(raw: bytes) -> str | bytes:
    # Protocol 0 STRING: a Python 2 repr-quoted byte string, decoded as torch.load does (utf-8).
    if len(raw) < 2 or raw[0] != raw[-1] or raw[:1] not in (b'"', b"'"):
        raise UnpicklingError("STRING argument is not quoted")
    value = codecs.escape_decode(raw[1:-1])[0]
    return _py2_str(value)


def _py2_str(value: bytes) -> str | bytes:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


def _run(
    data: bytes,
    start: int,
    resolver: Resolver,
    persistent_load: Callable[[Any], Any] | None,
    limits: Limits,
) -> tuple[Any, int]:
    if len(data) - start > limits.max_bytes:
        raise UnpicklingError(f"pickle over {limits.max_bytes} bytes")
    stack: list[Any] = []
    metastack: list[list[Any]] = []
    memo: list[Any] = []
    sparse: dict[int, Any] = {}
    find_class = resolver.find_class
    make_call = resolver.make_call
    max_depth = limits.max_mark_depth
    # Every opcode consumes at least one byte, so max_bytes bounds the time; this bounds the
    # objects built (strings, tuples, dicts, records), hence the memory.
    budget = limits.max_objects
    pos = start

    def put(index: int, value: Any) -> None:
        if index < len(memo):
            memo[index] = value
        elif index == len(memo):
            sparse.pop(index, None)
            memo.append(value)
        else:
            if len(sparse) >= limits.max_sparse_memo and index not in sparse:
                raise UnpicklingError("too many memo slots")
            sparse[index] = value

    def get(index: int) -> Any:
        if index < len(memo):
            return memo[index]
        try:
            return sparse[index]
        except KeyError:
            raise UnpicklingError(f"memo slot {index} was never set") from None

    ctx = _Context(find_class, make_call, persistent_load, put, get, limits)
    try:
        while True:
            op = data[pos]
            pos += 1
            # Ordered by how often each opcode occurs in torch's protocol-2 pickles.
            if op == 0x72:  # LONG_BINPUT
                (n,) = _U32(data, pos)
                pos += 4
                if n == len(memo) and not sparse:
                    memo.append(stack[-1])
                else:
                    put(n, stack[-1])
            elif op == 0x68:  # BINGET
                n = data[pos]
                pos += 1
                try:
                    stack.append(memo[n])
                except IndexError:
                    stack.append(get(n))
            elif op == 0x4B:  # BININT1
                stack.append(data[pos])
                pos += 1
            elif op == 0x28:  # MARK
                if len(metastack) >= max_depth:
                    raise UnpicklingError(f"MARK nesting deeper than {max_depth}")
                metastack.append(stack)
                stack = []
            elif op == 0x74:  # TUPLE
                items = stack
                stack = metastack.pop()
                stack.append(tuple(items))
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x52:  # REDUCE
                args = stack.pop()
                func = stack[-1]
                if type(func) is SafeFn and type(args) is tuple:
                    stack[-1] = func.fn(*args)
                else:
                    stack[-1] = make_call(func, args)
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x29:  # EMPTY_TUPLE
                stack.append(())
            elif op == 0x58:  # BINUNICODE
                (n,) = _U32(data, pos)
                pos += 4
                if pos + n > len(data):
                    raise TruncatedPickle("pickle ends inside a string")
                stack.append(str(data[pos : pos + n], "utf-8", "surrogatepass"))
                pos += n
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x4D:  # BININT2
                (n,) = _U16(data, pos)
                pos += 2
                stack.append(n)
            elif op == 0x85:  # TUPLE1
                stack[-1] = (stack[-1],)
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x89:  # NEWFALSE
                stack.append(False)
            elif op == 0x51:  # BINPERSID
                if persistent_load is None:
                    raise UnpicklingError("persistent id in a pickle that allows none")
                stack[-1] = persistent_load(stack[-1])
            elif op == 0x6A:  # LONG_BINGET
                (n,) = _U32(data, pos)
                pos += 4
                try:
                    stack.append(memo[n])
                except IndexError:
                    stack.append(get(n))
            elif op == 0x71:  # BINPUT
                n = data[pos]
                pos += 1
                if n == len(memo) and not sparse:
                    memo.append(stack[-1])
                else:
                    put(n, stack[-1])
            elif op == 0x94:  # MEMOIZE
                n = len(memo) + len(sparse)
                if not sparse:
                    memo.append(stack[-1])
                else:
                    put(n, stack[-1])
            elif op == 0x8C:  # SHORT_BINUNICODE
                n = data[pos]
                pos += 1
                if pos + n > len(data):
                    raise TruncatedPickle("pickle ends inside a string")
                stack.append(str(data[pos : pos + n], "utf-8", "surrogatepass"))
                pos += n
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x7D or op == 0x5D or op == 0x8F:  # EMPTY_DICT / EMPTY_LIST / EMPTY_SET
                stack.append({} if op == 0x7D else [] if op == 0x5D else set())
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x75:  # SETITEMS
                items = stack
                stack = metastack.pop()
                _setitems(stack[-1], items)
            elif op == 0x73:  # SETITEM
                value = stack.pop()
                key = stack.pop()
                _setitems(stack[-1], [key, value])
            elif op == 0x86:  # TUPLE2
                b = stack.pop()
                stack[-1] = (stack[-1], b)
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x87:  # TUPLE3
                c = stack.pop()
                b = stack.pop()
                stack[-1] = (stack[-1], b, c)
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x88:  # NEWTRUE
                stack.append(True)
            elif op == 0x4E:  # NONE
                stack.append(None)
            elif op == 0x4A:  # BININT
                (n,) = _I32(data, pos)
                pos += 4
                stack.append(n)
            elif op == 0x47:  # BINFLOAT
                (x,) = _F64(data, pos)
                pos += 8
                stack.append(x)
            elif op == 0x61:  # APPEND
                value = stack.pop()
                _appends(stack[-1], [value])
            elif op == 0x65:  # APPENDS
                items = stack
                stack = metastack.pop()
                _appends(stack[-1], items)
            elif op == 0x62:  # BUILD
                state = stack.pop()
                _build(stack[-1], state)
            elif op == 0x63:  # GLOBAL
                module, pos = _line(data, pos, limits.max_line)
                name, pos = _line(data, pos, limits.max_line)
                stack.append(find_class(module.decode("utf-8"), name.decode("utf-8")))
            elif op == 0x93:  # STACK_GLOBAL
                name = stack.pop()
                stack[-1] = find_class(stack[-1], name)
            elif op == 0x81 or op == 0x92:  # NEWOBJ / NEWOBJ_EX
                kwargs = stack.pop() if op == 0x92 else None
                args = stack.pop()
                cls = stack[-1]
                if type(cls) is SafeFn and type(args) is tuple and not kwargs:
                    stack[-1] = cls.fn(*args)
                else:
                    stack[-1] = make_call(cls, args, kwargs)
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x2E:  # STOP
                if not stack:
                    raise UnpicklingError("STOP on an empty stack")
                return stack.pop(), pos
            elif op == 0x95:  # FRAME: only a buffering hint
                _U64(data, pos)
                pos += 8
            elif op == 0x80:  # PROTO
                if data[pos] > 5:
                    raise UnpicklingError(f"unsupported pickle protocol {data[pos]}")
                pos += 1
            else:
                stack, pos = _rare(op, data, pos, stack, metastack, ctx)
                budget -= 1
                if budget < 0:
                    break
    except IndexError:
        if pos >= len(data):
            raise TruncatedPickle("pickle ends before STOP") from None
        raise
    raise UnpicklingError(f"more than {limits.max_objects} objects")


@dataclass(frozen=True)
class _Context:
    find_class: Callable[[Any, Any], Any]
    make_call: Callable[..., Call]
    persistent_load: Callable[[Any], Any] | None
    put: Callable[[int, Any], None]
    get: Callable[[int], Any]
    limits: Limits


def _rare(
    op: int, data: bytes, pos: int, stack: list[Any], metastack: list[list[Any]], ctx: _Context
) -> tuple[list[Any], int]:
    limit = ctx.limits.max_line
    if op == 0x8A or op == 0x8B:  # LONG1 / LONG4
        if op == 0x8A:
            n = data[pos]
            pos += 1
        else:
            (n,) = _U32(data, pos)
            pos += 4
            if n > ctx.limits.max_long_bytes:
                raise UnpicklingError(f"LONG4 of {n} bytes")
        _need(data, pos + n)
        stack.append(int.from_bytes(data[pos : pos + n], "little", signed=True))
        return stack, pos + n
    if op in (0x42, 0x43, 0x8E, 0x96, 0x8D, 0x54, 0x55):
        # BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8, BINUNICODE8, BINSTRING, SHORT_BINSTRING
        if op in (0x43, 0x55):
            n, pos = data[pos], pos + 1
        elif op in (0x42, 0x54):
            (n,) = _I32(data, pos)
            pos += 4
            if n < 0:
                raise UnpicklingError("negative length")
        else:
            (n,) = _U64(data, pos)
            pos += 8
        _need(data, pos + n)
        raw = data[pos : pos + n]
        if op == 0x96:
            stack.append(bytearray(raw))
        elif op == 0x8D:
            stack.append(str(raw, "utf-8", "surrogatepass"))
        elif op in (0x54, 0x55):
            stack.append(_py2_str(raw))
        else:
            stack.append(raw)
        return stack, pos + n
    if op == 0x90 or op == 0x91:  # ADDITEMS / FROZENSET
        items, stack = stack, metastack.pop()
        if op == 0x90:
            _additems(stack[-1], items)
        else:
            for item in items:
                check_hashable(item)
            stack.append(frozenset(items))
        return stack, pos
    if op == 0x30:  # POP
        if stack:
            stack.pop()
            return stack, pos
        return metastack.pop(), pos
    if op == 0x31:  # POP_MARK
        return metastack.pop(), pos
    if op == 0x32:  # DUP
        stack.append(stack[-1])
        return stack, pos
    if op == 0x6C or op == 0x64:  # LIST / DICT
        items, stack = stack, metastack.pop()
        if op == 0x6C:
            stack.append(items)
        else:
            new: dict[Any, Any] = {}
            _setitems(new, items)
            stack.append(new)
        return stack, pos
    if op == 0x69:  # INST
        module, pos = _line(data, pos, limit)
        name, pos = _line(data, pos, limit)
        cls = ctx.find_class(module.decode("ascii"), name.decode("ascii"))
        items, stack = stack, metastack.pop()
        stack.append(ctx.make_call(cls, tuple(items)))
        return stack, pos
    if op == 0x6F:  # OBJ
        items, stack = stack, metastack.pop()
        if not items:
            raise UnpicklingError("OBJ without a class")
        stack.append(ctx.make_call(items[0], tuple(items[1:])))
        return stack, pos
    if op in (0x49, 0x4C, 0x46):  # INT / LONG / FLOAT (text)
        raw, pos = _line(data, pos, 4400)
        if op == 0x46:
            stack.append(float(raw))
        elif op == 0x49 and raw in (b"00", b"01"):
            stack.append(raw == b"01")
        else:
            stack.append(int(raw[:-1] if raw.endswith(b"L") else raw))
        return stack, pos
    if op == 0x53:  # STRING
        raw, pos = _line(data, pos, limit)
        stack.append(_text_string(raw))
        return stack, pos
    if op == 0x56:  # UNICODE
        raw, pos = _line(data, pos, limit)
        stack.append(raw.decode("raw-unicode-escape"))
        return stack, pos
    if op == 0x70 or op == 0x67:  # PUT / GET
        raw, pos = _line(data, pos, 20)
        if op == 0x70:
            ctx.put(int(raw), stack[-1])
        else:
            stack.append(ctx.get(int(raw)))
        return stack, pos
    if op == 0x50:  # PERSID
        raw, pos = _line(data, pos, limit)
        if ctx.persistent_load is None:
            raise UnpicklingError("persistent id in a pickle that allows none")
        stack.append(ctx.persistent_load(raw.decode("ascii")))
        return stack, pos
    if op in (0x82, 0x83, 0x84):
        raise UnpicklingError("extension-registry opcodes (EXT1/2/4) are not supported")
    if op in (0x97, 0x98):
        raise UnpicklingError("out-of-band buffers are not supported")
    raise UnpicklingError(f"unknown opcode 0x{op:02x} at offset {pos - 1}")


def _setitems(target: Any, items: list[Any]) -> None:
    if len(items) % 2:
        raise UnpicklingError("SETITEMS with an odd number of items")
    if type(target) is dict:
        for i in range(0, len(items), 2):
            key = items[i]
            if type(key) is not str and type(key) is not int:
                check_hashable(key)
            target[key] = items[i + 1]
    elif type(target) is Call:
        if target.dictitems is None:
            target.dictitems = []
        target.dictitems.extend((items[i], items[i + 1]) for i in range(0, len(items), 2))
    else:
        raise UnpicklingError(f"SETITEMS on {type(target).__name__}")


def _appends(target: Any, items: list[Any]) -> None:
    if type(target) is list:
        target.extend(items)
    elif type(target) is Call:
        if target.listitems is None:
            target.listitems = []
        target.listitems.extend(items)
    else:
        raise UnpicklingError(f"APPENDS on {type(target).__name__}")


def _additems(target: Any, items: list[Any]) -> None:
    if type(target) is set:
        for item in items:
            check_hashable(item)
            target.add(item)
    elif type(target) is Call:
        if target.listitems is None:
            target.listitems = []
        target.listitems.extend(items)
    else:
        raise UnpicklingError(f"ADDITEMS on {type(target).__name__}")


def _build(inst: Any, state: Any) -> None:
    # Nothing's __setstate__ is ever called: a placeholder keeps the state, numpy dtypes take
    # their byte order, and anything else (a dict's attributes, a tensor's hooks) is dropped.
    if type(inst) is Call:
        if type(inst.state) is dict and type(state) is dict:
            inst.state = {**inst.state, **state}
        else:
            inst.state = state
    elif type(inst) is NumpyDType and type(state) is tuple and len(state) > 1:
        inst.byteorder = state[1] if state[1] in ("<", ">", "|", "=") else inst.byteorder
