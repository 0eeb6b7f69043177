"""Turn what the restricted unpickler built into plain, JSON-ready data.

OmegaConf ``DictConfig``/``ListConfig`` (whose pickled state holds ``_content`` with
``AnyNode``/``ValueNode`` children and a ``_parent`` back-reference), ``argparse.Namespace``,
Lightning's ``AttributeDict`` and paths come out as dicts, lists and strings; small tensors as
their value; any other object as ``{"__class__": "module.Name", ...its state or args}``. The walk
is bounded in depth and in nodes (a pickle can share one list many times to look exponentially
large) and stops at cycles. Strings are bounded too: each is cut past :data:`MAX_STRING`
characters, and all of them past :data:`MAX_CHARS` (a 1 MB string shared a thousand times costs
a thousand times 1 MB once written out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ckpt_tui.io.text import cut_counted
from ckpt_tui.reader.unpickle.objects import (
    Call,
    DType,
    GlobalRef,
    NumpyDType,
    StorageRef,
    StorageType,
    TensorRef,
)
from ckpt_tui.reader.unpickle.resolve import SafeFn

MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_STRING = 256 * 1024
"""Characters kept of one string; a longer one ends in ``… (+N chars)``."""
MAX_CHARS = 4 * 1024 * 1024
"""Characters kept of all the strings (and dict keys) of one value, each reference counted:
past them strings keep nothing but the count of what was cut."""
CYCLE = "<cycle>"

ScalarReader = Callable[[TensorRef], "float | int | bool | None"]

_OMEGACONF_CONTAINERS = {"omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig"}
_NAMESPACES = {"argparse.Namespace", "types.SimpleNamespace"}


class TooComplex(ValueError):
    """The value is nested deeper or holds more nodes than the bounds allow."""


def describe_tensor(tensor: TensorRef) -> str:
    """``tensor(float32, [3, 4])``."""
    return f"tensor({tensor.dtype}, {list(tensor.shape)})"


def label(value: Any) -> str:
    """A short name for a non-plain value, e.g. a dict key or an unknown callee."""
    if isinstance(value, GlobalRef):
        return value.qualname
    if isinstance(value, SafeFn):
        return value.qualname
    if isinstance(value, Call):
        return f"{value.name or 'call'}(...)"
    if isinstance(value, TensorRef):
        return describe_tensor(value)
    if isinstance(value, (DType, StorageType)):
        return f"torch.{value.name}"
    if isinstance(value, tuple):
        return "(" + ", ".join(label(v) for v in value[:8]) + ")"
    return str(value)[:200] if isinstance(value, (str, int, float, bool)) else type(value).__name__


class _Walker:
    def __init__(
        self, scalar: ScalarReader | None, max_depth: int, max_nodes: int, max_chars: int
    ) -> None:
        self.scalar = scalar
        self.max_depth = max_depth
        self.nodes = max_nodes
        self.chars = max_chars
        self.active: set[int] = set()

    def walk(self, value: Any, depth: int) -> Any:
        self.nodes -= 1
        if self.nodes < 0:
            raise TooComplex("more values than the reader walks")
        kind = type(value)
        if kind is str:
            return self.text(value)
        if value is None or kind in (bool, int, float):
            return value
        if depth > self.max_depth:
            raise TooComplex(f"nested deeper than {self.max_depth} levels")
        if kind in (bytes, bytearray):
            return f"<{len(value)} bytes>"
        if kind is complex:
            return str(value)
        if kind is TensorRef:
            return self.tensor(value)
        if kind in (GlobalRef, SafeFn, DType, StorageType):
            return label(value)
        if kind is NumpyDType:
            return f"numpy.dtype({value.code!r})"
        if kind is StorageRef:
            return f"storage({value.dtype}, {value.numel})"
        if id(value) in self.active:
            return CYCLE
        self.active.add(id(value))
        try:
            if kind is dict:
                return {self.key(k): self.walk(v, depth + 1) for k, v in value.items()}
            if kind in (list, tuple):
                return [self.walk(v, depth + 1) for v in value]
            if kind in (set, frozenset):
                items = [self.walk(v, depth + 1) for v in value]
                try:
                    return sorted(items)
                except TypeError:
                    return items
            if kind is Call:
                return self.call(value, depth)
            return type(value).__name__
        finally:
            self.active.discard(id(value))

    def key(self, key: Any) -> Any:
        if type(key) is str:
            return self.text(key)
        return key if key is None or type(key) in (int, float, bool) else label(key)

    def text(self, value: str) -> str:
        keep = min(len(value), MAX_STRING, max(self.chars, 0))
        self.chars -= keep
        return cut_counted(value, keep)

    def tensor(self, tensor: TensorRef) -> Any:
        if self.scalar is not None and tensor.numel == 1:
            value = self.scalar(tensor)
            if value is not None:
                return value
        return describe_tensor(tensor)

    def call(self, call: Call, depth: int) -> Any:
        name = call.name
        state = call.state
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            # (dict state, slots state) from objects with __slots__. The merge costs its size
            # at every visit: one record with a big state can be referenced a million times.
            first = state[0] if isinstance(state[0], dict) else {}
            self.nodes -= len(first) + len(state[1])
            if self.nodes < 0:
                raise TooComplex("more values than the reader walks")
            state = {**first, **state[1]}
        if isinstance(state, dict):
            if name in _OMEGACONF_CONTAINERS or ("_content" in state and "_metadata" in state):
                return self.walk(state.get("_content"), depth + 1)
            if (name or "").startswith("omegaconf.nodes.") or (
                "_val" in state and "_metadata" in state
            ):
                return self.walk(state.get("_val"), depth + 1)
        if call.dictitems is not None:
            return {self.key(k): self.walk(v, depth + 1) for k, v in call.dictitems}
        if call.listitems is not None:
            return [self.walk(v, depth + 1) for v in call.listitems]
        if name in _NAMESPACES and isinstance(state, dict):
            return self.walk(state, depth + 1)
        out: dict[str, Any] = {"__class__": name or label(call.func)}
        if call.args:
            out["args"] = self.walk(call.args, depth + 1)
        if call.kwargs:
            out["kwargs"] = self.walk(call.kwargs, depth + 1)
        if isinstance(state, dict):
            for key, item in state.items():
                out.setdefault(str(self.key(key)), self.walk(item, depth + 1))
        elif state is not None:
            out["state"] = self.walk(state, depth + 1)
        return out


def to_plain(
    value: Any,
    scalar: ScalarReader | None = None,
    *,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
    max_chars: int = MAX_CHARS,
) -> Any:
    """``value`` as dicts, lists, str, int, float, bool and None; raises :class:`TooComplex`.

    Strings are cut past :data:`MAX_STRING` characters each and ``max_chars`` in all.
    """
    return _Walker(scalar, max_depth, max_nodes, max_chars).walk(value, 0)


def scalar_value(value: Any, scalar: ScalarReader | None) -> float | None:
    """A number from a float, an int or a one-element tensor (``None`` otherwise)."""
    if type(value) in (int, float):
        return float(value)
    if isinstance(value, TensorRef) and scalar is not None and value.numel == 1:
        result = scalar(value)
        if type(result) in (int, float):
            return float(result)  # type: ignore[arg-type]
    if isinstance(value, Call) and value.name in _OMEGACONF_NODES_WITH_VAL:
        inner = value.state.get("_val") if isinstance(value.state, dict) else None
        return scalar_value(inner, scalar)
    return None


_OMEGACONF_NODES_WITH_VAL = {"omegaconf.nodes.AnyNode", "omegaconf.nodes.FloatNode"}
