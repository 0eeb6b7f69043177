"""Plain pickle files that belong to a checkpoint folder, above all DCP's ``.metadata``.

``torch.distributed.checkpoint`` writes one ``.metadata`` per checkpoint: a plain ``pickle.dump``
of its ``Metadata`` dataclass (tensor names, sizes, dtypes, chunk layout), which DCP's loader
reads back with ``pickle.load``. :func:`read_pickle_file` runs such a file through the restricted
machine (nothing named in it is imported or called) and judges every global it names against the
allowlist; :func:`dcp_tensors` reads the tensor table out of the inert records it built.

Everything else a DCP checkpoint holds (an epoch, a step, a config) is an object saved as bytes:
``torch.save`` of it, inside a ``.distcp`` shard at an offset the ``Metadata`` records, which
DCP's loader reads back with ``torch.load`` and ``weights_only`` off, so a pickle there runs when
the checkpoint is loaded. :func:`read_dcp_objects` reads each of them as a checkpoint of its own
(a window of the shard) for the verdict and the values. Tensors are not read: DCP loads them
with ``weights_only`` on, so nothing in theirs can run.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckpt_tui.io.text import plural
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


MAX_OBJECTS = 10_000
"""Objects saved as bytes read per DCP checkpoint; beyond it the verdict cannot be ``safe``."""
MAX_OBJECT_BYTES = 16 * 1024 * 1024
"""An object saved as bytes larger than this is not read (a real one is a few KB)."""
MAX_OBJECTS_TOTAL_BYTES = 16 * 1024 * 1024
"""Bytes of objects read per DCP checkpoint, all objects together: the ``Metadata`` may point any
number of keys at the same bytes, and each would be read again (10,000 keys on one 16 MiB object
would cost hours). So a checkpoint's objects cost at most what one checkpoint's pickle does."""
_SHOWN_PROBLEMS = 3


@dataclass
class DcpObjects:
    """The objects (everything but tensors) a DCP checkpoint saved as bytes: each a ``torch.save``
    inside a ``.distcp`` shard, which DCP's loader reads back with ``torch.load`` and
    ``weights_only`` off. Their pickles are read here like any checkpoint's, nothing run."""

    count: int = 0
    """Objects the ``Metadata`` lists."""
    values: dict[str, Any] = field(default_factory=dict)
    """``key → value`` of each object read as plain data (DCP's flattened keys: ``epoch``,
    ``hparams.lr``)."""
    safety: str = "safe"
    """``safe``, ``unsafe``, ``code`` or ``unreadable`` (one object not checked is enough)."""
    unsafe_globals: list[str] = field(default_factory=list)
    """Every global outside the allowlist, from every object."""
    issues: list[Issue] = field(default_factory=list)
    """The SECURITY error, and which objects could not be checked and why."""


def read_dcp_objects(folder: Path, root: Any, names: set[str]) -> DcpObjects | None:
    """Read every object the DCP ``Metadata`` record ``root`` lists as saved in bytes, from the
    shards of ``folder`` (``names``: its files; an object said to be stored anywhere else is not
    read). ``None`` when ``root`` is no such record or lists none. Never raises for bad files."""
    if not _is_record(root, "Metadata") or not isinstance(root.state, dict):
        return None
    table = root.state.get("state_dict_metadata")
    if not isinstance(table, dict):
        return None
    keys = [k for k, v in table.items() if _is_record(v, "BytesStorageMetadata")]
    if not keys:
        return None
    result = DcpObjects(count=len(keys))
    where = _storage_of_objects(root.state.get("storage_data"))
    problems: list[str] = []
    calls: list[Any] = []
    verdicts: set[str] = set()
    shards: dict[str, Any] = {}
    budget = _ByteBudget(MAX_OBJECTS_TOTAL_BYTES)
    try:
        for index, key in enumerate(keys):
            if index >= MAX_OBJECTS:
                problems.append(f"{len(keys) - MAX_OBJECTS} objects past the first {MAX_OBJECTS}")
                break
            try:
                problem = _read_object(
                    folder, key, where.get(key), names, shards, result, calls, budget
                )
            except Exception as exc:  # one bad object must never stop the entry
                problem = f"{key!r:.60}: reader failed: {type(exc).__name__}: {exc!s:.100}"
            if problem is None:
                verdicts.add("safe")
            elif problem == "code":
                verdicts.add("code")
            elif problem is _OVER_BUDGET:
                budget.refused += 1
            else:
                problems.append(problem)
    finally:
        for source in shards.values():
            if source is not None:
                source.close()
    if budget.refused:
        mib = MAX_OBJECTS_TOTAL_BYTES // 2**20
        problems.append(f"{plural(budget.refused, 'object')} past the first {mib} MiB of objects")
    if result.unsafe_globals:
        result.safety = "unsafe"
        issue = unsafe_issue(result.unsafe_globals, derived_targets(calls))
        if issue is not None:
            result.issues.append(issue)
    elif problems:
        result.safety = "unreadable"
    elif "code" in verdicts:
        result.safety = "code"
    if problems:
        shown = "; ".join(problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        message = f"not checked: {shown}" + (f" (and {more} more)" if more > 0 else "")
        result.issues.append(Issue(severity="error", code="checkpoint.unreadable", message=message))
    return result


Stored = tuple[Any, Any, Any, Any]
"""An object's ``(relative_path, offset, length, transform_descriptors)`` as recorded."""


def _storage_of_objects(storage_data: Any) -> dict[str, Stored]:
    """``key → where its bytes are`` from ``Metadata.storage_data`` (an object's index has no
    chunk ``index``; a tensor's chunks have one)."""
    found: dict[str, Stored] = {}
    if not isinstance(storage_data, dict):
        return found
    for index, info in storage_data.items():
        if not _is_record(index, "MetadataIndex") or not isinstance(index.state, dict):
            continue
        key = index.state.get("fqn")
        if not isinstance(key, str) or index.state.get("index") is not None:
            continue
        if not isinstance(info, Call) or not (info.name or "").endswith("._StorageInfo"):
            continue
        state = info.state
        if isinstance(state, dict):
            found[key] = (
                state.get("relative_path"),
                state.get("offset"),
                state.get("length"),
                state.get("transform_descriptors"),
            )
    return found


def _read_object(
    folder: Path,
    key: str,
    stored: Stored | None,
    names: set[str],
    shards: dict[str, Any],
    result: DcpObjects,
    calls: list[Any],
    budget: _ByteBudget,
) -> str | None:
    """Read one object into ``result``; ``None`` when checked, ``"code"`` for an archive that
    holds code, else why it could not be checked."""
    from ckpt_tui.io.storage import ByteWindow, open_source
    from ckpt_tui.reader.source import PickleFailure
    from ckpt_tui.reader.unpickle.plain import TooComplex, to_plain
    from ckpt_tui.reader.zipformat import parse_zip

    shown = f"{key!r:.60}"
    if stored is None:
        return f"{shown} has no storage record"
    shard, offset, length, transforms = stored
    if not isinstance(shard, str) or shard not in names or "/" in shard or shard.startswith("."):
        return f"{shown} is said to be in {shard!r:.60}, no shard of the folder"
    if transforms:
        return f"{shown} is stored through transforms ({transforms!s:.60}) this reader lacks"
    if type(offset) is not int or type(length) is not int or offset < 0 or length < 0:
        return f"{shown} has no valid offset and length"
    if length > MAX_OBJECT_BYTES:
        return f"{shown} is {length} bytes"
    if not budget.take(length):
        return _OVER_BUDGET
    if shard not in shards:
        try:
            shards[shard] = open_source(folder / shard)
        except OSError:
            shards[shard] = None
    source = shards[shard]
    if source is None:
        return f"{shown}: cannot read {shard}"
    if offset + length > source.size:
        return f"{shown} reaches past the end of {shard}"
    try:
        with CheckpointFile(ByteWindow(source, offset, length, f"{shard}[{key}]")) as f:
            parsed = parse_zip(f)
    except (FormatError, PickleFailure) as exc:
        _note_unsafe(exc.parsed, result, calls)
        return f"{shown}: {exc!s:.100}"
    except OSError as exc:
        return f"{shown}: cannot read {shard}: {exc.strerror or exc}"
    _note_unsafe(parsed, result, calls)
    if parsed.code is not None:
        return "code"
    with contextlib.suppress(TooComplex, OSError, FormatError):  # checked, but no plain value
        result.values[key] = to_plain(parsed.root, parsed.scalar)
    return None


_OVER_BUDGET = "over the budget"


class _ByteBudget:
    """What is left of :data:`MAX_OBJECTS_TOTAL_BYTES` for one checkpoint's objects."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.refused = 0
        """Objects not read because they did not fit."""

    def take(self, length: int) -> bool:
        """Spend ``length`` bytes; ``False`` (nothing spent) when fewer are left."""
        if length > self.left:
            return False
        self.left -= length
        return True


def _note_unsafe(parsed: Any, result: DcpObjects, calls: list[Any]) -> None:
    if parsed is None:
        return
    for name in parsed.unsafe:
        if name not in result.unsafe_globals:
            result.unsafe_globals.append(name)
    calls.extend(parsed.unsafe_calls)
