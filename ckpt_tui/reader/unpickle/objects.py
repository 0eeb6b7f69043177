"""The inert values the restricted unpickler builds instead of real objects.

Nothing here runs code named in a file: a global the reader does not know becomes a
:class:`GlobalRef` (a name), calling or instantiating it becomes a :class:`Call` (a record of the
callee, its arguments and the state it would have received), and torch's tensor rebuild functions
become :class:`TensorRef` descriptions that hold no tensor data.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

#: Bytes per element of each torch dtype, by its short name (``torch.float32`` → ``float32``).
DTYPE_ITEMSIZE: dict[str, int] = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint64": 8,
    "uint32": 4,
    "uint16": 2,
    "uint8": 1,
    "bool": 1,
    "complex128": 16,
    "complex64": 8,
    "complex32": 4,
    "qint8": 1,
    "quint8": 1,
    "qint32": 4,
    "quint4x2": 1,
    "quint2x4": 1,
    "float8_e4m3fn": 1,
    "float8_e4m3fnuz": 1,
    "float8_e5m2": 1,
    "float8_e5m2fnuz": 1,
    "float8_e8m0fnu": 1,
    "float4_e2m1fn_x2": 1,
    "bits8": 1,
    "bits16": 2,
    "bits1x8": 1,
    "bits2x4": 1,
    "bits4x2": 1,
}

#: torch's legacy typed-storage class names (as pickled) → dtype short name.
STORAGE_DTYPES: dict[str, str] = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
    # Untyped storages count bytes; the tensor's dtype comes from _rebuild_tensor_v3.
    "UntypedStorage": "uint8",
}


class PickleDataError(ValueError):
    """A known global got arguments no real checkpoint would give it, or a key is refused."""


@dataclass(eq=False, slots=True)
class GlobalRef:
    """A global named in the pickle (``module.qualname``), never imported."""

    module: str
    name: str

    @property
    def qualname(self) -> str:
        """``module.name``, e.g. ``argparse.Namespace``."""
        return f"{self.module}.{self.name}"


@dataclass(eq=False, slots=True)
class Call:
    """What loading would have built by calling ``func``: the callee, arguments and state.

    ``listitems``/``dictitems`` collect APPEND(S)/SETITEM(S) applied to the object (list and dict
    subclasses such as Lightning's ``AttributeDict`` pickle their items that way).
    """

    func: Any
    args: tuple[Any, ...]
    kwargs: dict[Any, Any] | None = None
    state: Any = None
    listitems: list[Any] | None = None
    dictitems: list[tuple[Any, Any]] | None = None

    @property
    def name(self) -> str | None:
        """The callee's ``module.qualname`` when it is a named global."""
        return self.func.qualname if isinstance(self.func, GlobalRef) else None


@dataclass(frozen=True, slots=True)
class DType:
    """A torch dtype named in the pickle (``torch.float16`` → ``DType("float16")``)."""

    name: str


@dataclass(frozen=True, slots=True)
class StorageType:
    """A torch storage class (``torch.FloatStorage``) referenced by a persistent id."""

    name: str
    dtype: str


@dataclass(eq=False, slots=True)
class StorageRef:
    """One storage of the file: its key (zip member ``data/<key>``), dtype and element count."""

    key: str
    dtype: str
    itemsize: int
    location: str
    numel: int
    base: int = 0
    """Element offset of this storage inside the key's data (legacy-format storage views)."""

    @property
    def nbytes(self) -> int:
        """Bytes the storage occupies in the file."""
        return self.numel * self.itemsize


@dataclass(eq=False, slots=True)
class TensorRef:
    """A tensor as described by the pickle: no data is loaded.

    ``offset`` and ``stride`` are in elements of ``dtype``. ``value_reader`` (set by the format
    reader) fetches the bytes of a small tensor on demand.
    """

    storage: StorageRef | None
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: str
    requires_grad: bool = False
    is_parameter: bool = False
    extra: dict[str, Any] | None = None
    """Rare details: the tensor subclass name, the quantization scheme."""

    @property
    def numel(self) -> int:
        """Product of the shape (Python ints: absurd shapes cannot overflow or allocate)."""
        return prod(self.shape)

    @property
    def itemsize(self) -> int:
        """Bytes per element (0 for a dtype the reader does not know)."""
        return DTYPE_ITEMSIZE.get(self.dtype, 0)

    @property
    def nbytes(self) -> int:
        """Logical size: ``numel * itemsize``."""
        return self.numel * self.itemsize


@dataclass(eq=False, slots=True)
class NumpyDType:
    """A ``numpy.dtype`` named in the pickle; ``BUILD`` may set its byte order."""

    code: str
    byteorder: str = "="
