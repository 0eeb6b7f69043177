"""The allowlist: the only globals a checkpoint may name and still be judged ``safe``.

The verdict is an allowlist, never a denylist: pickle reaches code through countless routes
(``pkgutil.resolve_name``, ``logging.config.dictConfig``, a dotted ``pathlib.Path.touch``, private
helpers of harmless-looking modules...), so any name not listed here makes the file ``unsafe``.

The list is PyTorch's own ``weights_only`` set (``torch/_weights_only_unpickler.py``,
``_get_allowed_globals()``, torch 2.13), written out as data so the reader never imports torch, plus
a short list of plain-data types that training frameworks save (:data:`EXTRA_ALLOWED`): the
globals a Lightning checkpoint with OmegaConf or ``argparse.Namespace`` hyper-parameters names.
Each entry says why it is here. A name is judged exactly as written in the pickle, after the
Python 2 spellings are mapped (``__builtin__.set`` is ``builtins.set``, as torch maps them): a
dotted name (``pathlib`` + ``Path.touch``) is the attribute it reaches, and it is allowed only
when that exact ``module.name`` split is listed (so ``pathlib.Path.touch`` is not, although
``pathlib.Path`` is).
"""

from __future__ import annotations

_STORAGE_TYPES = (
    "BFloat16", "Bool", "Byte", "Char", "ComplexDouble", "ComplexFloat", "Double", "Float",
    "Half", "Int", "Long", "Short",
)  # fmt: skip
_TENSOR_TYPES = ("BFloat16", "Bool", "Byte", "Char", "Double", "Float", "Half", "Int", "Long",
                 "Short")  # fmt: skip
_SPARSE_TYPES = ("BFloat16", "Byte", "Char", "Double", "Float", "Half", "Int", "Long", "Short")
_DTYPES = (
    "bfloat16", "bits16", "bits1x8", "bits2x4", "bits4x2", "bits8", "bool", "complex128",
    "complex32", "complex64", "float16", "float32", "float4_e2m1fn_x2", "float64", "float8_e4m3fn",
    "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "int16", "int32",
    "int64", "int8", "qint32", "qint8", "quint2x4", "quint4x2", "quint8", "uint16", "uint32",
    "uint64", "uint8", "int1", "int2", "int3", "int4", "int5", "int6", "int7", "uint1", "uint2",
    "uint3", "uint4", "uint5", "uint6", "uint7",
)  # fmt: skip
_REBUILD = (
    "_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_tensor",
    "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_sparse_tensor",
    "_rebuild_meta_tensor_no_storage", "_rebuild_nested_tensor", "_rebuild_wrapper_subclass",
    "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
)  # fmt: skip
_QSCHEMES = (
    "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
    "per_channel_affine_float_qparams",
)  # fmt: skip


def _torch_weights_only() -> dict[str, str]:
    """torch 2.13's ``_get_allowed_globals()``, name by name."""
    out = {
        "collections.OrderedDict": "weights_only: a state dict's container",
        "collections.Counter": "weights_only: a dict subclass of counts",
        "torch.nn.parameter.Parameter": "weights_only: the parameter class",
        "torch.serialization._get_layout": "weights_only: maps a layout name to torch's layout",
        "torch.Size": "weights_only: a tuple of sizes",
        "torch.Tensor": "weights_only: the tensor class",
        "torch.device": "weights_only: a device name",
        "_codecs.encode": "weights_only: how protocol 2 spells bytes (str, 'latin1')",
        "builtins.bytearray": "weights_only: plain bytes",
        "builtins.set": "weights_only: a plain set",
        "builtins.complex": "weights_only: a plain number",
        "torch._tensor._rebuild_from_type_v2": "weights_only: a tensor subclass's rebuild",
        "torch.storage.TypedStorage": "weights_only: a storage class",
        "torch.storage.UntypedStorage": "weights_only: a storage class",
    }
    for name in _DTYPES:
        out[f"torch.{name}"] = "weights_only: a dtype constant"
    for name in _QSCHEMES:
        out[f"torch.{name}"] = "weights_only: a quantization scheme constant"
    for name in _REBUILD:
        out[f"torch._utils.{name}"] = "weights_only: a tensor rebuild function"
    for kind in _STORAGE_TYPES:
        out[f"torch.{kind}Storage"] = "weights_only: a legacy typed storage class"
    for kind in ("QInt32", "QInt8", "QUInt2x4", "QUInt4x2", "QUInt8"):
        out[f"torch.{kind}Storage"] = "weights_only: a quantized storage class"
    for kind in _STORAGE_TYPES:
        out[f"torch.cuda.{kind}Storage"] = "weights_only: a legacy CUDA storage class"
    for kind in _TENSOR_TYPES:
        out[f"torch.{kind}Tensor"] = "weights_only: a legacy tensor class"
        out[f"torch.cuda.{kind}Tensor"] = "weights_only: a legacy CUDA tensor class"
    for kind in _SPARSE_TYPES:
        out[f"torch.sparse.{kind}Tensor"] = "weights_only: a legacy sparse tensor class"
        out[f"torch.cuda.sparse.{kind}Tensor"] = "weights_only: a legacy sparse tensor class"
    return out


TORCH_ALLOWED: dict[str, str] = _torch_weights_only()
"""PyTorch's own ``weights_only`` allowlist: name → reason."""

_DCP = "a torch.distributed.checkpoint .metadata record: a plain dataclass (or enum) of sizes"
_DCP_RECORDS = (
    "metadata.Metadata", "metadata.TensorStorageMetadata", "metadata.TensorProperties",
    "metadata._MEM_FORMAT_ENCODING", "metadata.ChunkStorageMetadata",
    "metadata.BytesStorageMetadata", "metadata.MetadataIndex", "metadata.StorageMeta",
    "filesystem._StorageInfo",
)  # fmt: skip
_OMEGACONF = "OmegaConf: a config container or node, rebuilt from plain state (no callables)"

EXTRA_ALLOWED: dict[str, str] = {
    # Python's plain data types, as protocol 2 names them (``__builtin__.dict`` maps here).
    "builtins.dict": "a plain dict (a dict subclass's reconstruction names it)",
    "builtins.list": "a plain list",
    "builtins.tuple": "a plain tuple",
    "builtins.frozenset": "a plain frozenset",
    "builtins.int": "a plain int (``__builtin__.long`` of protocol 2)",
    "builtins.float": "a plain float",
    "builtins.str": "a plain str",
    "builtins.bytes": "plain bytes",
    "builtins.bool": "a plain bool",
    "builtins.object": "the base ``object.__new__`` instantiates an allowed class with",
    "collections.defaultdict": "a dict with a default factory (the factory is judged itself)",
    "collections.deque": "a plain sequence",
    "argparse.Namespace": "argparse's attribute bag: Lightning and scripts save their args",
    "pathlib.Path": "a path value (constructing it touches nothing)",
    "pathlib.PosixPath": "a path value (constructing it touches nothing)",
    "pathlib.WindowsPath": "a path value (constructing it touches nothing)",
    "pathlib.PurePath": "a path value",
    "pathlib.PurePosixPath": "a path value",
    "pathlib.PureWindowsPath": "a path value",
    "numpy.dtype": "a numpy dtype (scalars name it)",
    "numpy.core.multiarray.scalar": "a numpy scalar (numpy 1 spelling)",
    "numpy._core.multiarray.scalar": "a numpy scalar (numpy 2 spelling)",
    "omegaconf.dictconfig.DictConfig": _OMEGACONF,
    "omegaconf.listconfig.ListConfig": _OMEGACONF,
    "omegaconf.nodes.AnyNode": _OMEGACONF,
    "omegaconf.nodes.StringNode": _OMEGACONF,
    "omegaconf.nodes.IntegerNode": _OMEGACONF,
    "omegaconf.nodes.FloatNode": _OMEGACONF,
    "omegaconf.nodes.BooleanNode": _OMEGACONF,
    "omegaconf.nodes.BytesNode": _OMEGACONF,
    "omegaconf.nodes.PathNode": _OMEGACONF,
    "omegaconf.base.ContainerMetadata": _OMEGACONF,
    "omegaconf.base.Metadata": _OMEGACONF,
    "typing.Any": "OmegaConf's ref_type/key_type of untyped nodes; a constant, not callable",
    **{f"torch.distributed.checkpoint.{name}": _DCP for name in _DCP_RECORDS},
}
"""Plain-data types training frameworks save, beyond torch's set: name → reason.

Pass the same names to ``torch.serialization.safe_globals`` to load such files with
``weights_only=True``.
"""

ALLOWED: dict[str, str] = {**TORCH_ALLOWED, **EXTRA_ALLOWED}
"""Every allowed ``module.name``, with why it is safe."""


def is_allowed(module: str, name: str) -> bool:
    """Whether ``module.name`` (Python 2 spellings already mapped) is on the allowlist.

    ``name`` must be a plain attribute: a dotted one (``Path.touch``) reaches an attribute of an
    attribute, which is listed nowhere, even when its start is.
    """
    return "." not in name and f"{module}.{name}" in ALLOWED
