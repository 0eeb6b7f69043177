"""Plain pickle files that belong to a checkpoint folder, above all DCP's ``.metadata``.

``torch.distributed.checkpoint`` writes one ``.metadata`` per checkpoint: a plain ``pickle.dump``
of its ``Metadata`` dataclass (tensor names, sizes, dtypes, chunk layout), which DCP's loader
reads back with ``pickle.load``. :func:`read_pickle_file` runs such a file through the restricted
machine (nothing named in it is imported or called) and judges every global it names against the
allowlist; :func:`dcp_tensors` reads the tensor table out of the inert records it built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckpt_tui.model.issue import Issue
from ckpt_tui.reader.source import CheckpointFile, FormatError
from ckpt_tui.reader.unpickle.machine import Limits, TruncatedPickle, UnpicklingError, unpickle
from ckpt_tui.reader.unpickle.objects import Call, DType
from ckpt_tui.reader.unpickle.resolve import PickleDataError, Resolver
from ckpt_tui.reader.unpickle.verdict import derived_targets, unsafe_issue

MAX_PICKLE_BYTES = 16 * 1024 * 1024
"""A plain pickle file larger than this is refused unread."""
_DCP = "torch.distributed.checkpoint.metadata."


@dataclass
class PlainPickle:
    """What one plain pickle file holds, read without running it."""

    root: Any = None
    """The unpickled object as inert records (``None`` when unreadable)."""
    safety: str = "safe"
    """``safe``, ``unsafe`` or ``unreadable`` (unsafe wins: dangers found before a failure stay)."""
    unsafe_globals: list[str] = field(default_factory=list)
    """Every global outside the allowlist."""
    issues: list[Issue] = field(default_factory=list)
    """The SECURITY error, or why the file could not be read."""


def read_pickle_file(path: Path, max_bytes: int = MAX_PICKLE_BYTES) -> PlainPickle:
    """Read the single pickle in the file at ``path``; never raises for a bad file."""
    result = PlainPickle()
    resolver = Resolver()
    try:
        with CheckpointFile(path) as f:
            if f.size > max_bytes:
                raise FormatError("checkpoint.too-large", f"a pickle of {f.size} bytes")
            data = f.read(0, f.size)
        result.root, _ = unpickle(data, resolver, None, limits=Limits(max_bytes=max_bytes))
    except OSError as exc:
        _fail(result, "checkpoint.unreadable", f"cannot read the file: {exc.strerror or exc}")
    except FormatError as exc:
        _fail(result, exc.code, exc.message)
    except TruncatedPickle:
        _fail(result, "checkpoint.truncated", "the file ends inside its pickle")
    except (UnpicklingError, PickleDataError) as exc:
        _fail(result, "checkpoint.pickle-invalid", f"the pickle is unreadable: {exc}")
    result.unsafe_globals = list(resolver.unsafe)
    if resolver.unsafe:
        result.safety = "unsafe"
        issue = unsafe_issue(result.unsafe_globals, derived_targets(resolver.unsafe_calls))
        if issue is not None:
            result.issues.insert(0, issue)
    return result


def _fail(result: PlainPickle, code: str, message: str) -> None:
    result.root = None
    result.safety = "unreadable"
    result.issues.append(Issue(severity="error", code=code, message=message))


def dcp_tensors(root: Any) -> dict[str, tuple[str | None, tuple[int, ...]]] | None:
    """``name → (dtype, shape)`` of each tensor a DCP ``Metadata`` record lists (non-tensor
    entries, saved as bytes, are left out); ``None`` when ``root`` is not such a record."""
    if not _is_record(root, "Metadata") or not isinstance(root.state, dict):
        return None
    table = root.state.get("state_dict_metadata")
    if not isinstance(table, dict):
        return None
    tensors: dict[str, tuple[str | None, tuple[int, ...]]] = {}
    for name, record in table.items():
        if not isinstance(name, str) or not _is_record(record, "TensorStorageMetadata"):
            continue
        state = record.state if isinstance(record.state, dict) else {}
        size = state.get("size")
        if not isinstance(size, tuple) or not all(type(s) is int and s >= 0 for s in size):
            continue
        tensors[name] = (_dtype(state.get("properties")), size)
    return tensors


def _is_record(value: Any, name: str) -> bool:
    return isinstance(value, Call) and value.name == _DCP + name


def _dtype(properties: Any) -> str | None:
    # TensorProperties pickles its state as a tuple whose first item is the dtype.
    state = properties.state if isinstance(properties, Call) else None
    if isinstance(state, tuple) and state and isinstance(state[0], DType):
        return state[0].name
    if isinstance(state, dict) and isinstance(state.get("dtype"), DType):
        return str(state["dtype"].name)
    return None


def read_saved_object(path: Path) -> Any:
    """The object ``torch.save`` wrote to the zip file at ``path``, as plain data (an object of a
    class becomes a dict of its state with a ``__class__`` key); ``None`` when unreadable.

    For small files a run saves beside its model, such as a Trainer's ``training_args.bin``;
    nothing named in it is imported or called.
    """
    from ckpt_tui.reader.unpickle.plain import TooComplex, to_plain
    from ckpt_tui.reader.zipformat import parse_zip

    try:
        with CheckpointFile(path) as f:
            parsed = parse_zip(f)
            if parsed.code is not None:
                return None
            return to_plain(parsed.root, parsed.scalar)
    except (OSError, FormatError, TooComplex, UnpicklingError, PickleDataError):
        return None
    except Exception:  # a broken side file costs its values, never the entry
        return None
