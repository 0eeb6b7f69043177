"""What each global named in a checkpoint pickle resolves to, without importing anything.

* torch's tensor and parameter rebuild functions → :class:`SafeFn` wrappers that build
  :class:`~ckpt_tui.reader.unpickle.objects.TensorRef` descriptions;
* safe builtins and containers (``collections.OrderedDict``, ``builtins.set``, ...) → small
  typed functions that build plain values;
* every other name → an inert :class:`~ckpt_tui.reader.unpickle.objects.GlobalRef`; calling it only
  records a :class:`~ckpt_tui.reader.unpickle.objects.Call`.

The functions below only ever receive values the restricted unpickler built (str, int, tuple, ...,
or the inert objects), and check their types before using them.
"""

from __future__ import annotations

import _compat_pickle
import struct
from collections.abc import Callable
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from ckpt_tui.reader.unpickle.allowlist import is_allowed
from ckpt_tui.reader.unpickle.keys import KeyCheck
from ckpt_tui.reader.unpickle.objects import (
    DTYPE_ITEMSIZE,
    STORAGE_DTYPES,
    Call,
    DType,
    GlobalRef,
    NumpyDType,
    PickleDataError,
    StorageRef,
    StorageType,
    TensorRef,
)

MAX_DIMS = 64
_MAX_NAME = 512
_MAX_GLOBALS = 10_000  # real checkpoints name a few dozen
_OS_ALIASES = {"posix": "os", "nt": "os"}  # posix.system is os.system: shown as users know it


class SafeFn:
    """A global the reader implements itself; the VM calls ``fn`` on REDUCE/NEWOBJ."""

    __slots__ = ("fn", "qualname")

    def __init__(self, qualname: str, fn: Callable[..., Any]) -> None:
        self.qualname = qualname
        self.fn = fn

    def __repr__(self) -> str:
        return f"SafeFn({self.qualname})"


def _int(value: Any, what: str) -> int:
    if type(value) is not int:
        raise PickleDataError(f"{what} is not an int")
    return value


def _dims(value: Any, what: str) -> tuple[int, ...]:
    if type(value) is not tuple:
        if type(value) is not list:
            raise PickleDataError(f"{what} is not a tuple")
        value = tuple(value)
    if len(value) > MAX_DIMS:
        raise PickleDataError(f"{what} has {len(value)} dimensions")
    for item in value:
        if type(item) is not int or item < 0:
            raise PickleDataError(f"{what} holds {type(item).__name__} {item!r:.40}")
    return value


class Resolver:
    """Resolves globals for one file, and records what the file names and builds."""

    def __init__(self) -> None:
        self.storages: dict[str, StorageRef] = {}
        """Storages by key, filled by the format's persistent-id loader."""
        self.unsafe: list[str] = []
        """Globals outside the allowlist, in order of first appearance, from every pickle."""
        self.unsafe_calls: list[Call] = []
        """Calls of those globals (to name what ``getattr(...)`` chains reach)."""
        self.unknown: set[str] = set()  # every global the reader does not implement itself
        self._unsafe_ids: set[int] = set()
        self.keys = KeyCheck()
        """Checks dict keys and set members; the unpickler gives it a budget per pickle."""
        self._cache: dict[tuple[str, str], Any] = {}
        self._table = _build_table(self)
        self.rebuild_tensor_v2: SafeFn = self._table["torch._utils._rebuild_tensor_v2"]
        """What ``torch._utils._rebuild_tensor_v2`` resolves to (the unpickler's fast path)."""

    def find_class(self, module: Any, name: Any) -> Any:
        """The inert value or safe function for ``module.name``; never imports it."""
        if type(module) is not str or type(name) is not str:
            raise PickleDataError("global name is not a string")
        key = (module, name)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if len(module) + len(name) > _MAX_NAME or not (module + name).isprintable():
            raise PickleDataError("global name is too long or not printable")
        if len(self._cache) >= _MAX_GLOBALS:
            raise PickleDataError(f"more than {_MAX_GLOBALS} distinct globals")
        module, name = _compat_pickle.NAME_MAPPING.get(key, key)
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        qualname = f"{module}.{name}"
        value = self._table.get(qualname)
        if value is None:
            value = _torch_constant(module, name)
        if value is None:
            value = GlobalRef(module, name)
            self.unknown.add(qualname)
        # What the reader can rebuild as plain data is no verdict: the allowlist alone decides.
        if not is_allowed(module, name):
            shown = f"{_OS_ALIASES.get(module, module)}.{name}"
            if shown not in self.unsafe:
                self.unsafe.append(shown)
            self._unsafe_ids.add(id(value))
        self._cache[key] = value
        return value

    def make_call(self, func: Any, args: Any, kwargs: Any = None) -> Call:
        """Record calling ``func`` (a placeholder or other inert value) with ``args``."""
        call = Call(func, args if type(args) is tuple else (args,), kwargs)
        if id(func) in self._unsafe_ids:
            self.unsafe_calls.append(call)
        return call

    # -- torch tensors --------------------------------------------------------------------------

    def rebuild_tensor(
        self, storage: Any, offset: Any, size: Any, stride: Any, *rest: Any
    ) -> TensorRef:
        """``torch._utils._rebuild_tensor[_v2]``: a description, no data."""
        if type(storage) is not StorageRef:
            raise PickleDataError("tensor storage is not a storage reference")
        if type(offset) is not int or offset < 0:
            raise PickleDataError("tensor storage offset is not an int")
        shape = _dims(size, "tensor size")
        strides = _dims(stride, "tensor stride")
        if len(strides) != len(shape):
            raise PickleDataError("tensor stride and size differ in length")
        return TensorRef(storage, offset, shape, strides, storage.dtype, rest[:1] == (True,))

    def rebuild_tensor_v3(
        self, storage: Any, offset: Any, size: Any, stride: Any, grad: Any, hooks: Any, dtype: Any,
        *metadata: Any,
    ) -> TensorRef:  # fmt: skip
        """``_rebuild_tensor_v3``: an untyped storage viewed as ``dtype``."""
        tensor = self.rebuild_tensor(storage, offset, size, stride, grad)
        if not isinstance(dtype, DType) or dtype.name not in DTYPE_ITEMSIZE:
            raise PickleDataError("tensor dtype is unknown")
        itemsize = DTYPE_ITEMSIZE[dtype.name]
        if tensor.offset % itemsize:
            raise PickleDataError("tensor offset is not aligned to its dtype")
        # The storage counts bytes; offsets and strides of the tensor count elements of dtype.
        tensor.offset //= itemsize
        tensor.dtype = dtype.name
        return tensor

    def rebuild_qtensor(
        self, storage: Any, offset: Any, size: Any, stride: Any, qparams: Any, *rest: Any
    ) -> TensorRef:
        """``_rebuild_qtensor``: quantized tensors keep their storage dtype (qint8, ...)."""
        tensor = self.rebuild_tensor(storage, offset, size, stride, *rest)
        if type(qparams) is tuple and qparams and isinstance(qparams[0], str):
            tensor.extra = {**(tensor.extra or {}), "qscheme": qparams[0]}
        return tensor

    def rebuild_meta(self, dtype: Any, size: Any, stride: Any, *rest: Any) -> TensorRef:
        """``_rebuild_meta_tensor_no_storage``: shape and dtype only."""
        if not isinstance(dtype, DType):
            raise PickleDataError("meta tensor dtype is unknown")
        return TensorRef(None, 0, _dims(size, "size"), _dims(stride, "stride"), dtype.name)

    @staticmethod
    def rebuild_parameter(data: Any, requires_grad: Any, *rest: Any) -> Any:
        """``_rebuild_parameter[_with_state]``: the tensor, flagged as a parameter."""
        if not isinstance(data, TensorRef):
            raise PickleDataError("parameter data is not a tensor")
        data.is_parameter = True
        data.requires_grad = requires_grad is True
        return data

    def reconstruct(self, cls: Any, base: Any = None, state: Any = None, *rest: Any) -> Call:
        """``copyreg._reconstructor`` (protocols 0/1): a record of instantiating ``cls``.

        For a dict or list subclass, ``state`` is the initial content.
        """
        call = self.make_call(cls, ())
        base_name = base.qualname if isinstance(base, GlobalRef) else None
        if base_name == "builtins.dict" and isinstance(state, dict):
            call.dictitems = list(state.items())
        elif base_name == "builtins.list" and isinstance(state, list):
            call.listitems = list(state)
        elif state is not None:
            call.args = (state,)
        return call

    def rebuild_from_type(self, func: Any, new_type: Any, args: Any, state: Any) -> Any:
        """``torch._tensor._rebuild_from_type_v2``: rebuild with ``func``; keep the type's name."""
        if not isinstance(func, SafeFn) or type(args) is not tuple:
            return self.make_call(GlobalRef("torch._tensor", "_rebuild_from_type_v2"), (func,))
        result = func.fn(*args)
        if isinstance(result, TensorRef) and isinstance(new_type, GlobalRef):
            result.extra = {**(result.extra or {}), "type": new_type.qualname}
            result.is_parameter = result.is_parameter or new_type.name == "Parameter"
        return result


def _torch_constant(module: str, name: str) -> Any:
    if module == "torch" and name in DTYPE_ITEMSIZE:
        return DType(name)
    if module in ("torch", "torch.storage", "torch.cuda") and name in STORAGE_DTYPES:
        return StorageType(name, STORAGE_DTYPES[name])
    if module == "torch" and name in {"strided", "sparse_coo", "sparse_csr", "_mkldnn"}:
        return f"torch.{name}"
    if module == "torch" and name.endswith("_format") and name.isidentifier():
        return f"torch.{name}"
    return None


# -- plain builtins and containers ---------------------------------------------------------------


def _containers(keys: KeyCheck) -> dict[str, SafeFn]:
    """The containers whose keys or members ``keys`` checks (and counts for the pickle)."""

    def ordered_dict(*args: Any) -> dict[Any, Any]:
        return keys.pairs(args[0]) if args else {}

    def defaultdict(*args: Any) -> dict[Any, Any]:
        return keys.pairs(args[1]) if len(args) > 1 else {}

    def as_set(*args: Any) -> set[Any]:
        return set(keys.members(args[0])) if args else set()

    def as_frozenset(*args: Any) -> frozenset[Any]:
        return frozenset(keys.members(args[0])) if args else frozenset()

    functions = {
        "collections.OrderedDict": ordered_dict,
        "collections.defaultdict": defaultdict,
        "collections.Counter": ordered_dict,
        "builtins.set": as_set,
        "builtins.frozenset": as_frozenset,
    }
    return {name: SafeFn(name, fn) for name, fn in functions.items()}


def _sequence(*args: Any) -> list[Any]:
    if args and type(args[0]) not in (list, tuple):
        raise PickleDataError("expected a sequence")
    return list(args[0]) if args else []


def _bytes(*args: Any) -> bytes:
    if not args:
        return b""
    if type(args[0]) is bytes:
        return args[0]
    if type(args[0]) is str and len(args) > 1 and type(args[1]) is str:
        return _codecs_encode(args[0], args[1])
    if type(args[0]) is list and all(type(b) is int and 0 <= b < 256 for b in args[0]):
        return bytes(args[0])
    raise PickleDataError("unsupported bytes() arguments")


def _codecs_encode(text: Any, encoding: Any = "utf-8", *rest: Any) -> bytes:
    if type(text) is not str or encoding not in {"latin1", "latin-1", "utf-8", "utf8", "ascii"}:
        raise PickleDataError("unsupported _codecs.encode arguments")
    return text.encode(encoding)


def _complex(real: Any = 0.0, imag: Any = 0.0) -> complex:
    if type(real) not in (int, float) or type(imag) not in (int, float):
        raise PickleDataError("complex() of non-numbers")
    return complex(real, imag)


def _path(flavour: type[PurePosixPath] | type[PureWindowsPath]) -> Callable[..., str]:
    def build(*parts: Any) -> str:
        if not all(type(part) is str for part in parts):
            raise PickleDataError("path part is not a string")
        return str(flavour(*parts))

    return build


def _torch_size(*args: Any) -> tuple[int, ...]:
    return _dims(args[0], "torch.Size") if args else ()


def _torch_device(*args: Any) -> str:
    if not args or type(args[0]) is not str or len(args[0]) > 64:
        raise PickleDataError("torch.device of a non-string")
    index = args[1] if len(args) > 1 and type(args[1]) is int else None
    return args[0] if index is None else f"{args[0]}:{index}"


_NUMPY_STRUCT = {"f2": "e", "f4": "f", "f8": "d", "i1": "b", "i2": "h", "i4": "i", "i8": "q"}
_NUMPY_STRUCT.update({"u1": "B", "u2": "H", "u4": "I", "u8": "Q", "b1": "?"})


def _numpy_dtype(code: Any, *rest: Any) -> NumpyDType:
    if type(code) is not str or len(code) > 32:
        raise PickleDataError("numpy dtype code is not a string")
    return NumpyDType(code)


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    fmt = _NUMPY_STRUCT.get(dtype.code) if isinstance(dtype, NumpyDType) else None
    if fmt is None or type(data) is not bytes or len(data) != struct.calcsize(fmt):
        return Call(GlobalRef("numpy.core.multiarray", "scalar"), (dtype, data))
    order = ">" if dtype.byteorder == ">" else "<"
    return struct.unpack(order + fmt, data)[0]


def _static_table() -> dict[str, SafeFn]:
    table: dict[str, SafeFn] = {
        "torch.Size": SafeFn("torch.Size", _torch_size),
        "torch.device": SafeFn("torch.device", _torch_device),
        "collections.deque": SafeFn("collections.deque", _sequence),
        "builtins.list": SafeFn("builtins.list", _sequence),
        "builtins.tuple": SafeFn("builtins.tuple", lambda *a: tuple(_sequence(*a))),
        "builtins.bytes": SafeFn("builtins.bytes", _bytes),
        "builtins.bytearray": SafeFn("builtins.bytearray", lambda *a: bytearray(_bytes(*a))),
        "builtins.complex": SafeFn("builtins.complex", _complex),
        "_codecs.encode": SafeFn("_codecs.encode", _codecs_encode),
        "numpy.dtype": SafeFn("numpy.dtype", _numpy_dtype),
        "numpy.core.multiarray.scalar": SafeFn("numpy scalar", _numpy_scalar),
        "numpy._core.multiarray.scalar": SafeFn("numpy scalar", _numpy_scalar),
    }
    parameter = SafeFn("torch._utils._rebuild_parameter", Resolver.rebuild_parameter)
    table["torch._utils._rebuild_parameter"] = parameter
    table["torch._utils._rebuild_parameter_with_state"] = parameter
    for name in ("Path", "PosixPath", "PurePath", "PurePosixPath"):
        table[f"pathlib.{name}"] = SafeFn(f"pathlib.{name}", _path(PurePosixPath))
    for name in ("WindowsPath", "PureWindowsPath"):
        table[f"pathlib.{name}"] = SafeFn(f"pathlib.{name}", _path(PureWindowsPath))
    return table


# The functions that need no resolver, made once (a Resolver is made per file).
_STATIC_TABLE = _static_table()
ORDERED_DICT = "collections.OrderedDict"
"""The name of torch's backward-hooks factory (``OrderedDict()``, an empty dict)."""


def _build_table(resolver: Resolver) -> dict[str, Any]:
    table: dict[str, Any] = {
        "torch._utils._rebuild_tensor": SafeFn("_rebuild_tensor", resolver.rebuild_tensor),
        "torch._utils._rebuild_tensor_v2": SafeFn("_rebuild_tensor_v2", resolver.rebuild_tensor),
        "torch._utils._rebuild_tensor_v3": SafeFn("_rebuild_tensor_v3", resolver.rebuild_tensor_v3),
        "torch._utils._rebuild_qtensor": SafeFn("_rebuild_qtensor", resolver.rebuild_qtensor),
        "torch._utils._rebuild_meta_tensor_no_storage": SafeFn("meta", resolver.rebuild_meta),
        "torch._tensor._rebuild_from_type_v2": SafeFn("from_type", resolver.rebuild_from_type),
        "copyreg._reconstructor": SafeFn("copyreg._reconstructor", resolver.reconstruct),
    }
    table.update(_STATIC_TABLE)
    table.update(_containers(resolver.keys))
    return table
