"""Support for the restricted pickle machine (:mod:`ckpt_tui.reader.unpickle.machine`).

Errors and limits, the opcodes real checkpoints (almost) never use, and the container updates
(SETITEMS, APPENDS, ADDITEMS, BUILD) that must never call into anything but builtin containers
and the reader's own inert records.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ckpt_tui.reader.unpickle.keys import DEFAULT_KEY_STEPS
from ckpt_tui.reader.unpickle.objects import Call, NumpyDType

_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U64 = struct.Struct("<Q").unpack_from


class UnpicklingError(Exception):
    """The pickle is malformed, hostile or over a limit."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one pickle.

    torch writes ~100 bytes and ~10 objects per tensor, so the defaults fit checkpoints of about
    160k tensors. At worst they cost a few seconds and ~350 MB (2M counted objects, plus at most
    8 bytes per input byte for uncounted pushes of small ints, None, memo references).
    ``max_key_steps`` bounds the values in tuple and frozenset keys, each use counted: a key is
    hashed (and checked) at every use, and one key can be used a million times.
    """

    max_bytes: int = 16 * 1024 * 1024
    max_objects: int = 2_000_000
    max_key_steps: int = DEFAULT_KEY_STEPS
    max_sparse_memo: int = 100_000
    max_long_bytes: int = 1024
    max_line: int = 65_536


DEFAULT_LIMITS = Limits()


class TruncatedPickle(EOFError):
    """The data ended before the pickle's STOP opcode."""


def line(data: bytes, pos: int, limit: int) -> tuple[bytes, int]:
    end = data.find(b"\n", pos, pos + limit + 1)
    if end < 0:
        if len(data) - pos <= limit:
            raise TruncatedPickle("pickle ends inside a text line")
        raise UnpicklingError(f"text line over {limit} bytes at offset {pos}")
    return data[pos:end], end + 1


def need(data: bytes, end: int) -> None:
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


@dataclass(frozen=True)
class Context:
    find_class: Callable[[Any, Any], Any]
    make_call: Callable[..., Call]
    persistent_load: Callable[[Any], Any] | None
    put: Callable[[int, Any], None]
    get: Callable[[int], Any]
    limits: Limits
    check_key: Callable[[Any], None]


def rare(
    op: int, data: bytes, pos: int, stack: list[Any], metastack: list[list[Any]], ctx: Context
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
        need(data, pos + n)
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
        need(data, pos + n)
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
            additems(stack[-1], items, ctx.check_key)
        else:
            for item in items:
                ctx.check_key(item)
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
            setitems(new, items, ctx.check_key)
            stack.append(new)
        return stack, pos
    if op == 0x69:  # INST
        module, pos = line(data, pos, limit)
        name, pos = line(data, pos, limit)
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
        raw, pos = line(data, pos, 4400)
        if op == 0x46:
            stack.append(float(raw))
        elif op == 0x49 and raw in (b"00", b"01"):
            stack.append(raw == b"01")
        else:
            stack.append(int(raw[:-1] if raw.endswith(b"L") else raw))
        return stack, pos
    if op == 0x53:  # STRING
        raw, pos = line(data, pos, limit)
        stack.append(_text_string(raw))
        return stack, pos
    if op == 0x56:  # UNICODE
        raw, pos = line(data, pos, limit)
        stack.append(raw.decode("raw-unicode-escape"))
        return stack, pos
    if op == 0x70 or op == 0x67:  # PUT / GET
        raw, pos = line(data, pos, 20)
        if op == 0x70:
            ctx.put(int(raw), stack[-1])
        else:
            stack.append(ctx.get(int(raw)))
        return stack, pos
    if op == 0x50:  # PERSID
        raw, pos = line(data, pos, limit)
        if ctx.persistent_load is None:
            raise UnpicklingError("persistent id in a pickle that allows none")
        stack.append(ctx.persistent_load(raw.decode("ascii")))
        return stack, pos
    if op in (0x82, 0x83, 0x84):
        raise UnpicklingError("extension-registry opcodes (EXT1/2/4) are not supported")
    if op in (0x97, 0x98):
        raise UnpicklingError("out-of-band buffers are not supported")
    raise UnpicklingError(f"unknown opcode 0x{op:02x} at offset {pos - 1}")


def setitems(target: Any, items: list[Any], check_key: Callable[[Any], None]) -> None:
    if len(items) % 2:
        raise UnpicklingError("SETITEMS with an odd number of items")
    if type(target) is dict:
        for i in range(0, len(items), 2):
            key = items[i]
            if type(key) is not str and type(key) is not int:
                check_key(key)
            target[key] = items[i + 1]
    elif type(target) is Call:
        if target.dictitems is None:
            target.dictitems = []
        target.dictitems.extend((items[i], items[i + 1]) for i in range(0, len(items), 2))
    else:
        raise UnpicklingError(f"SETITEMS on {type(target).__name__}")


def appends(target: Any, items: list[Any]) -> None:
    if type(target) is list:
        target.extend(items)
    elif type(target) is Call:
        if target.listitems is None:
            target.listitems = []
        target.listitems.extend(items)
    else:
        raise UnpicklingError(f"APPENDS on {type(target).__name__}")


def additems(target: Any, items: list[Any], check_key: Callable[[Any], None]) -> None:
    if type(target) is set:
        for item in items:
            check_key(item)
            target.add(item)
    elif type(target) is Call:
        if target.listitems is None:
            target.listitems = []
        target.listitems.extend(items)
    else:
        raise UnpicklingError(f"ADDITEMS on {type(target).__name__}")


def build(inst: Any, state: Any) -> int:
    """BUILD: set ``state`` on ``inst``; return the values copied, for the object budget."""
    # Nothing's __setstate__ is ever called: a placeholder keeps the state, numpy dtypes take
    # their byte order, and anything else (a dict's attributes, a tensor's hooks) is dropped.
    if type(inst) is Call:
        if type(state) is not dict:
            inst.state = state
            return 0
        # As loading copies a dict state into the instance's __dict__, the record keeps a copy
        # of its own that later BUILDs update in place. Each BUILD costs the state's size: one
        # big dict, memoized once, can be given to a million BUILDs of three bytes each.
        if type(inst.state) is dict:
            inst.state.update(state)
        else:
            inst.state = dict(state)
        return len(state)
    if type(inst) is NumpyDType and type(state) is tuple and len(state) > 1:
        inst.byteorder = state[1] if state[1] in ("<", ">", "|", "=") else inst.byteorder
    return 0
