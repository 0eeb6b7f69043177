"""Hand-assembled pickles and container files for the hostile and broken-file tests.

The pickles are written opcode by opcode (the tests never import ``pickle``). Each hostile one is
a well-formed stream that names dangerous globals; loaded by ``pickle`` or
``torch.load(weights_only=False)`` all but the NEWOBJ_EX one would create the marker file they are
given (that one only instantiates ``subprocess.Popen`` without running it). ``pickletools.dis``
(which never executes anything) checks in the tests that every stream is well formed.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class Asm:
    """A pickle assembler: one method per opcode, chained."""

    def __init__(self, proto: int = 2) -> None:
        self.b = bytearray(b"\x80" + bytes([proto])) if proto >= 2 else bytearray()

    def raw(self, data: bytes) -> Asm:
        self.b += data
        return self

    def mark(self) -> Asm:
        return self.raw(b"(")

    def glob(self, module: str, name: str) -> Asm:
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def str(self, text: str) -> Asm:
        data = text.encode()
        return self.raw(b"X" + struct.pack("<I", len(data)) + data)

    def short_str(self, text: str) -> Asm:
        data = text.encode()
        return self.raw(b"\x8c" + bytes([len(data)]) + data)

    def int(self, value: int) -> Asm:
        if 0 <= value < 256:
            return self.raw(b"K" + bytes([value]))
        if -(2**31) <= value < 2**31:
            return self.raw(b"J" + struct.pack("<i", value))
        return self.raw(b"\x8a" + _long1(value))

    def put(self, index: int) -> Asm:
        return self.raw(b"q" + bytes([index]))

    def get(self, index: int) -> Asm:
        return self.raw(b"h" + bytes([index]))

    def long_put(self, index: int) -> Asm:
        return self.raw(b"r" + struct.pack("<I", index))

    def memoize(self) -> Asm:
        return self.raw(b"\x94")

    def tuple(self) -> Asm:
        return self.raw(b"t")

    def tuple1(self) -> Asm:
        return self.raw(b"\x85")

    def tuple2(self) -> Asm:
        return self.raw(b"\x86")

    def empty_tuple(self) -> Asm:
        return self.raw(b")")

    def empty_dict(self) -> Asm:
        return self.raw(b"}")

    def empty_list(self) -> Asm:
        return self.raw(b"]")

    def reduce(self) -> Asm:
        return self.raw(b"R")

    def build(self) -> Asm:
        return self.raw(b"b")

    def newobj(self) -> Asm:
        return self.raw(b"\x81")

    def newobj_ex(self) -> Asm:
        return self.raw(b"\x92")

    def stack_global(self) -> Asm:
        return self.raw(b"\x93")

    def inst(self, module: str, name: str) -> Asm:
        return self.raw(b"i" + module.encode() + b"\n" + name.encode() + b"\n")

    def obj(self) -> Asm:
        return self.raw(b"o")

    def setitem(self) -> Asm:
        return self.raw(b"s")

    def setitems(self) -> Asm:
        return self.raw(b"u")

    def append(self) -> Asm:
        return self.raw(b"a")

    def appends(self) -> Asm:
        return self.raw(b"e")

    def pop(self) -> Asm:
        return self.raw(b"0")

    def none(self) -> Asm:
        return self.raw(b"N")

    def stop(self) -> bytes:
        return bytes(self.b + b".")


def shell(marker: Path) -> str:
    return f"touch {marker}"


def python_code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def hostile_pickles(marker: Path, proto: int = 2) -> dict[str, bytes]:
    """Each value is a complete pickle whose loading would create ``marker``."""
    cmd = shell(marker)
    code = python_code(marker)

    def framed(fill: Asm) -> Asm:
        # {"epoch": 3, "payload": ...}: a checkpoint-looking dict around the payload.
        return Asm(proto).empty_dict().mark().str("epoch").int(3).str("payload").raw(fill.b)

    def end(asm: Asm) -> bytes:
        return asm.setitems().stop()

    p: dict[str, bytes] = {}
    p["reduce_os_system"] = end(framed(Asm(0).glob("posix", "system").str(cmd).tuple1().reduce()))
    p["reduce_builtins_eval"] = end(
        framed(Asm(0).glob("__builtin__", "eval").str(code).tuple1().reduce())
    )
    p["reduce_builtins_exec"] = end(
        framed(Asm(0).glob("builtins", "exec").str(code).tuple1().reduce())
    )
    p["reduce_subprocess"] = end(
        framed(
            Asm(0).glob("subprocess", "check_call").mark().str("touch").str(str(marker))
            .raw(b"l").tuple1().reduce()
        )
    )  # fmt: skip
    # STACK_GLOBAL with the module and name fetched from the memo.
    p["stack_global_memo"] = end(
        framed(
            Asm(0).str("os").put(10).pop().str("system").put(11).pop()
            .get(10).get(11).stack_global().put(12).pop()
            .get(12).str(cmd).tuple1().reduce()
        )
    )  # fmt: skip
    # getattr(__import__('os'), 'system')('touch ...') through REDUCE chains and the memo.
    p["getattr_import"] = end(
        framed(
            Asm(0).glob("builtins", "getattr").put(20)
            .glob("builtins", "__import__").str("os").tuple1().reduce().put(21).pop()
            .get(21).str("system").tuple2().reduce()
            .str(cmd).tuple1().reduce()
        )
    )  # fmt: skip
    p["inst_os_system"] = end(framed(Asm(0).mark().str(cmd).inst("os", "system")))
    p["obj_builtins_exec"] = end(framed(Asm(0).mark().glob("builtins", "exec").str(code).obj()))
    # NEWOBJ / NEWOBJ_EX of subprocess.Popen: pickle calls Popen.__new__ (harmless by itself),
    # then BUILD with a "__setstate__" in the instance dict turns the next BUILD into a call.
    p["newobj_build_setstate"] = end(
        framed(
            Asm(0).glob("argparse", "Namespace").empty_tuple().newobj()
            .empty_dict().str("__setstate__").glob("posix", "system").setitem().build()
            .str(cmd).build()
        )
    )  # fmt: skip
    p["newobj_ex_popen"] = end(
        framed(
            Asm(0).glob("subprocess", "Popen").mark().str("touch").str(str(marker)).raw(b"l")
            .tuple1().empty_dict().newobj_ex()
        )
    )  # fmt: skip
    # A tensor-looking REDUCE whose callable is really os.system.
    p["fake_rebuild"] = end(
        framed(Asm(0).glob("torch._utils", "_rebuild_tensor_v2").pop()
               .glob("os", "system").str(cmd).tuple1().reduce())
    )  # fmt: skip
    return p


def zip_checkpoint(
    path: Path,
    data_pkl: bytes,
    storages: dict[str, bytes] | None = None,
    *,
    deflate: bool = False,
    prefix: str = "archive",
) -> Path:
    """A zip laid out like torch's (``<prefix>/data.pkl``, ``data/<key>``, ``byteorder``)."""
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as z:
        z.writestr(f"{prefix}/data.pkl", data_pkl)
        z.writestr(f"{prefix}/byteorder", "little")
        for key, data in (storages or {}).items():
            z.writestr(f"{prefix}/data/{key}", data)
        z.writestr(f"{prefix}/version", "3\n")
    return path


def legacy_checkpoint(path: Path, main_pickle: bytes, keys: bytes = b"\x80\x02].") -> Path:
    """The legacy format's pickle run around ``main_pickle`` (no storages)."""
    magic = b"\x80\x02\x8a\x0a" + LEGACY_MAGIC.to_bytes(10, "little") + b"."
    version = b"\x80\x02M\xe9\x03."
    sys_info = b"\x80\x02}(X\x0d\x00\x00\x00little_endian\x88u."
    path.write_bytes(magic + version + sys_info + main_pickle + keys)
    return path


def storage_pid(asm: Asm, storage: str, key: str, numel: int) -> Asm:
    """Push a zip-format persistent id ``('storage', torch.<storage>, key, 'cpu', numel)``."""
    return (
        asm.mark().str("storage").glob("torch", storage).str(key).str("cpu").int(numel).tuple()
        .raw(b"Q")
    )  # fmt: skip


def tensor(asm: Asm, storage: str, key: str, numel: int, shape: tuple[int, ...]) -> Asm:
    """Push ``_rebuild_tensor_v2(storage, 0, shape, contiguous strides, False, OrderedDict())``."""
    strides = []
    step = 1
    for size in reversed(shape):
        strides.insert(0, step)
        step *= size
    asm.glob("torch._utils", "_rebuild_tensor_v2").mark()
    storage_pid(asm, storage, key, numel).int(0)
    asm.mark()
    for size in shape:
        asm.int(size)
    asm.tuple().mark()
    for stride in strides:
        asm.int(stride)
    asm.tuple().raw(b"\x89").glob("collections", "OrderedDict").empty_tuple().reduce()
    return asm.tuple().reduce()


def _long1(value: int) -> bytes:
    data = value.to_bytes((value.bit_length() + 8) // 8 or 1, "little", signed=True)
    return bytes([len(data)]) + data
