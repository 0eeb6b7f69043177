"""A restricted pickle machine: runs the opcodes of protocols 0-5 and never executes code.

This is the only code in ckpt-tui that interprets pickles, and it does not use the ``pickle``
module at all: a pure-Python loop over the opcodes, where

* GLOBAL / STACK_GLOBAL / INST / OBJ ask :class:`~ckpt_tui.reader.unpickle.resolve.Resolver` for a
  name, which returns an inert placeholder or one of the reader's own typed functions;
* REDUCE / NEWOBJ / NEWOBJ_EX / INST / OBJ call only those functions; on anything else they record
  a :class:`~ckpt_tui.reader.unpickle.objects.Call` (callee, args);
* BUILD stores the state on such a record instead of calling ``__setstate__``;
* PERSID / BINPERSID go to the format reader's ``persistent_load`` (storage references);
* torch's tensor records (~30 opcodes each, most of a checkpoint) are read by
  :mod:`~ckpt_tui.reader.unpickle.fastpath` in one pattern match when they have torch's usual
  layout, with the same results; any other bytes stay with the loop.

Every input is bounded: its size (every opcode consumes a byte, so this bounds the time), the
objects built (strings, containers, records, MARK frames: this bounds the memory), the sparse
memo slots, and the values in dict keys and set members (each use of a tuple key hashes all of
it again). A malformed or hostile stream raises :class:`UnpicklingError`, never anything else.

Why not ``pickle.Unpickler`` with a restrictive ``find_class``: a few bytes can make it allocate
gigabytes (a LONG_BINPUT to memo slot 2**32-1 resizes its memo array) or crash the process (a
dict key of 100k nested tuples makes the C hash recurse past the stack).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from ckpt_tui.reader.unpickle.fastpath import tensor_records
from ckpt_tui.reader.unpickle.opcodes import (
    DEFAULT_LIMITS,
    Context,
    Limits,
    TruncatedPickle,
    UnpicklingError,
    appends,
    build,
    line,
    rare,
    setitems,
)
from ckpt_tui.reader.unpickle.resolve import PickleDataError, Resolver, SafeFn

__all__ = ["DEFAULT_LIMITS", "Limits", "TruncatedPickle", "UnpicklingError", "unpickle"]

_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U64 = struct.Struct("<Q").unpack_from
_F64 = struct.Struct(">d").unpack_from

#: Whether torch's tensor records go through :mod:`~ckpt_tui.reader.unpickle.fastpath`. It gives the
#: same results as the opcode loop; tests turn it off to check that.
FAST_PATH = True


# The objects a reader function's result counts for, as a right shift of its length: one per
# item of a container, one per 128 bytes of bytes (about what a counted object takes).
_SHIFTS: dict[type, int] = {
    list: 0,
    tuple: 0,
    dict: 0,
    set: 0,
    frozenset: 0,
    bytes: 7,
    bytearray: 7,
}


def _copied(value: Any) -> int:
    """What the result of a reader function costs beyond one object. The functions copy their
    arguments (``list(x)``, ``bytearray(b)``, ``OrderedDict(d)``), and one big argument,
    memoized once, can be given to a million calls of a few bytes each."""
    shift = _SHIFTS.get(type(value))
    return 0 if shift is None else len(value) >> shift


def _refuse(pid: Any) -> Any:
    raise UnpicklingError("persistent id in a pickle that allows none")


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
    try:
        return _checked(data, start, resolver, persistent_load, limits, fast_path=FAST_PATH)
    except UnpicklingError:
        if not FAST_PATH or persistent_load is None:
            raise
    # The fast path is hand-written: whatever failed with it, the plain opcode loop has the last
    # word (a malformed file fails there too, with the loop's own message).
    return _checked(data, start, resolver, persistent_load, limits, fast_path=False)


def _checked(
    data: bytes,
    start: int,
    resolver: Resolver,
    persistent_load: Callable[[Any], Any] | None,
    limits: Limits,
    *,
    fast_path: bool,
) -> tuple[Any, int]:
    """:func:`_run`, with every failure turned into :class:`UnpicklingError` (or truncation)."""
    try:
        return _run(data, start, resolver, persistent_load, limits, fast_path)
    except (UnpicklingError, TruncatedPickle):
        raise
    except PickleDataError as exc:
        raise UnpicklingError(str(exc)) from None
    except (IndexError, KeyError, struct.error, TypeError, ValueError, AttributeError) as exc:
        raise UnpicklingError(f"malformed pickle ({type(exc).__name__}: {exc!s:.80})") from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise UnpicklingError(f"pickle too large or too deep ({type(exc).__name__})") from None


def _run(
    data: bytes,
    start: int,
    resolver: Resolver,
    persistent_load: Callable[[Any], Any] | None,
    limits: Limits,
    fast_path: bool,
) -> tuple[Any, int]:
    if len(data) - start > limits.max_bytes:
        raise UnpicklingError(f"pickle over {limits.max_bytes} bytes")
    stack: list[Any] = []
    metastack: list[list[Any]] = []
    memo: list[Any] = []
    sparse: dict[int, Any] = {}
    find_class = resolver.find_class
    make_call = resolver.make_call
    resolver.keys.start(limits.max_key_steps)
    check_key = resolver.keys.check
    # Every opcode consumes at least one byte, so max_bytes bounds the time; this bounds the
    # objects built (strings, tuples, dicts, records), hence the memory.
    budget = limits.max_objects
    pos = start
    size = len(data)
    nmemo = 0  # len(memo), kept by hand: the memo is written after nearly every opcode

    def put(index: int, value: Any) -> None:
        if index < len(memo):
            memo[index] = value
            forget()  # the fast path's cached memo reads
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

    ctx = Context(find_class, make_call, persistent_load, put, get, limits, check_key)
    # After a GET of torch's rebuild function, the fast path reads the rest of the record. It
    # needs persistent ids (storages): without them, or when it is turned off, ``rebuild`` is
    # an object no memo slot holds, so it never runs.
    rebuild: object = resolver.rebuild_tensor_v2
    if not fast_path or persistent_load is None:
        rebuild = object()
    fast, forget = tensor_records(resolver.rebuild_tensor_v2, memo, persistent_load or _refuse)
    try:
        while True:
            op = data[pos]
            pos += 1
            # Ordered by how often each opcode occurs in torch's protocol-2 pickles once the
            # fast path has taken the tensor records (each test costs every later opcode).
            if op == 0x72:  # LONG_BINPUT
                (n,) = _U32(data, pos)
                pos += 4
                if n == nmemo and not sparse:
                    memo.append(stack[-1])
                    nmemo += 1
                else:
                    put(n, stack[-1])
                    nmemo = len(memo)
            elif op == 0x68 or op == 0x6A:  # BINGET / LONG_BINGET
                if op == 0x68:
                    n = data[pos]
                    pos += 1
                else:
                    (n,) = _U32(data, pos)
                    pos += 4
                value = memo[n] if n < nmemo else get(n)
                if value is rebuild and not sparse:
                    done = fast(data, pos, budget)
                    if done is not None:
                        value, pos, cost = done
                        nmemo = len(memo)
                        budget -= cost
                stack.append(value)
            elif op == 0x4B:  # BININT1
                stack.append(data[pos])
                pos += 1
            elif op == 0x28:  # MARK
                metastack.append(stack)
                stack = []
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x58:  # BINUNICODE
                (n,) = _U32(data, pos)
                pos += 4
                if pos + n > size:
                    raise TruncatedPickle("pickle ends inside a string")
                stack.append(str(data[pos : pos + n], "utf-8", "surrogatepass"))
                pos += n
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x7D or op == 0x5D or op == 0x8F:  # EMPTY_DICT / EMPTY_LIST / EMPTY_SET
                stack.append({} if op == 0x7D else [] if op == 0x5D else set())
                budget -= 1 if op != 0x8F else 4  # an empty set is four times a list's size
                if budget < 0:
                    break
            elif op == 0x75:  # SETITEMS
                items = stack
                stack = metastack.pop()
                setitems(stack[-1], items, check_key)
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
                    stack[-1] = value = func.fn(*args)
                    budget -= _copied(value)
                else:
                    stack[-1] = make_call(func, args)
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x29:  # EMPTY_TUPLE
                stack.append(())
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
            elif op == 0x71:  # BINPUT
                n = data[pos]
                pos += 1
                if n == nmemo and not sparse:
                    memo.append(stack[-1])
                    nmemo += 1
                else:
                    put(n, stack[-1])
                    nmemo = len(memo)
            elif op == 0x94:  # MEMOIZE
                if not sparse:
                    memo.append(stack[-1])
                    nmemo += 1
                else:
                    put(nmemo + len(sparse), stack[-1])
                    nmemo = len(memo)
            elif op == 0x8C:  # SHORT_BINUNICODE
                n = data[pos]
                pos += 1
                if pos + n > size:
                    raise TruncatedPickle("pickle ends inside a string")
                stack.append(str(data[pos : pos + n], "utf-8", "surrogatepass"))
                pos += n
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x73:  # SETITEM
                value = stack.pop()
                key = stack.pop()
                setitems(stack[-1], [key, value], check_key)
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
                appends(stack[-1], [value])
            elif op == 0x65:  # APPENDS
                items = stack
                stack = metastack.pop()
                appends(stack[-1], items)
            elif op == 0x62:  # BUILD
                state = stack.pop()
                budget -= build(stack[-1], state)
                if budget < 0:
                    break
            elif op == 0x63:  # GLOBAL
                module, pos = line(data, pos, limits.max_line)
                name, pos = line(data, pos, limits.max_line)
                stack.append(find_class(module.decode("utf-8"), name.decode("utf-8")))
                budget -= 1
                if budget < 0:
                    break
            elif op == 0x93:  # STACK_GLOBAL
                name = stack.pop()
                stack[-1] = find_class(stack[-1], name)
            elif op == 0x81 or op == 0x92:  # NEWOBJ / NEWOBJ_EX
                kwargs = stack.pop() if op == 0x92 else None
                args = stack.pop()
                cls = stack[-1]
                if type(cls) is SafeFn and type(args) is tuple and not kwargs:
                    stack[-1] = value = cls.fn(*args)
                    budget -= _copied(value)
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
                stack, pos = rare(op, data, pos, stack, metastack, ctx)
                nmemo = len(memo)  # PUT (text) may have grown the memo
                budget -= 1
                if budget < 0:
                    break
    except IndexError:
        if pos >= size:
            raise TruncatedPickle("pickle ends before STOP") from None
        raise
    raise UnpicklingError(f"more than {limits.max_objects} objects")
