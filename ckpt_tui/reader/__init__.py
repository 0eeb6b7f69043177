"""The safe, fast checkpoint reader: everything a checkpoint says, without loading it.

``inspect_checkpoint(path)`` reads a torch zip checkpoint's directory and ``data.pkl`` (tens of
KB, whatever the file's size), a legacy checkpoint's pickles, or a safetensors header, through a
restricted unpickler that never imports or calls anything named in the file. It never raises for
a bad file: problems become issues on the returned :class:`CheckpointInspection`.

Its ``safety`` verdict is an allowlist verdict (:mod:`~ckpt_tui.reader.unpickle.allowlist`) over
every pickle it reads; TorchScript and ``torch.export`` archives are ``code``.

This package imports neither torch nor the ``pickle`` module.
"""

from __future__ import annotations

import os
from pathlib import Path

from ckpt_tui.io.storage import ByteSource
from ckpt_tui.io.stores import StorageError
from ckpt_tui.model.entry import Issue
from ckpt_tui.reader.legacy import looks_like_pickle, parse_legacy
from ckpt_tui.reader.lightning import summarize, tensor_info
from ckpt_tui.reader.results import (
    CheckpointInspection,
    Format,
    ModelCheckpointState,
    TensorInfo,
)
from ckpt_tui.reader.safetensors import looks_like_safetensors, parse_safetensors
from ckpt_tui.reader.source import CheckpointFile, FormatError, ParsedFile, PickleFailure
from ckpt_tui.reader.unpickle.machine import TruncatedPickle, UnpicklingError, unpickle
from ckpt_tui.reader.unpickle.resolve import PickleDataError, Resolver
from ckpt_tui.reader.unpickle.verdict import code_issue, derived_targets, unsafe_issue
from ckpt_tui.reader.zipformat import ZIP_MAGIC, parse_zip

__all__ = [
    "CheckpointInspection",
    "Format",
    "ModelCheckpointState",
    "TensorInfo",
    "inspect_checkpoint",
]


def inspect_checkpoint(path: Path | str | ByteSource) -> CheckpointInspection:
    """Everything the file says about itself, read safely; never raises for a bad file.

    Broken files come back with an error issue (``checkpoint.*``) and ``safety`` ``unreadable``;
    files naming any global outside the allowlist with ``safety`` ``unsafe``, ``unsafe_globals``
    filled in and a ``security.unsafe-global`` error, even when a later part of the file is
    broken (the format error is then an issue of its own).

    ``path`` may also be a :class:`~ckpt_tui.io.storage.ByteSource` (a remote object read with a
    few ranged requests); a failed request is an error issue (``storage.*``), never an exception.
    """
    target = Path(path) if isinstance(path, (str, os.PathLike)) else path
    shown = target if isinstance(target, Path) else Path(target.identity)
    result = CheckpointInspection(path=shown)
    try:
        with CheckpointFile(target) as f:
            try:
                _inspect(f, result)
            finally:
                result.bytes_read = f.bytes_read
    except StorageError as exc:
        _unreadable(result, exc.code, exc.message)
    except OSError as exc:
        _unreadable(result, "checkpoint.unreadable", f"cannot read the file: {exc.strerror or exc}")
    except FormatError as exc:
        if exc.parsed is not None:
            _record_verdict(result, exc.parsed)
        _unreadable(result, exc.code, exc.message)
    except PickleFailure as exc:
        _record_verdict(result, exc.parsed)
        message = f"the checkpoint's pickle is unreadable: {exc}"
        _unreadable(result, "checkpoint.pickle-invalid", message)
    except Exception as exc:  # one bad file must never stop a catalog build
        message = f"reader failed: {type(exc).__name__}: {exc!s:.200}"
        _unreadable(result, "checkpoint.unreadable", message)
    result.issues.sort(key=lambda issue: issue.rank)
    return result


def _inspect(f: CheckpointFile, result: CheckpointInspection) -> None:
    if f.size == 0:
        raise FormatError("checkpoint.empty", "the file is empty (0 bytes)")
    head = f.read(0, _HEAD_BYTES)
    # The order of torch.load: a zip by its first bytes; anything else is a tar archive when
    # tarfile can read its first header, else a pickle from the first byte, whatever it looks
    # like. So a file that is also a tar, or a safetensors file whose first bytes are also a
    # pickle, is judged by what torch.load would read in it.
    if head.startswith(ZIP_MAGIC):
        result.format = "zip"
        parsed = parse_zip(f)
    elif _is_tar(head):
        raise FormatError(
            "checkpoint.unsupported",
            "tar-based checkpoint (torch < 0.4): torch.load would unpickle its members, "
            "which are not read here",
        )
    elif looks_like_safetensors(head, f.size):
        result.format = "safetensors"
        parsed = parse_safetensors(f)
        _judge_as_pickle(f, head, parsed)
    elif looks_like_pickle(head):
        result.format = "legacy"
        parsed = parse_legacy(f)
    else:
        pickled = ParsedFile("legacy")
        _judge_as_pickle(f, head, pickled)
        raise FormatError(
            "checkpoint.not-a-checkpoint",
            "neither a torch zip, a torch pickle nor safetensors",
            pickled if pickled.unsafe else None,
        )
    result.issues.extend(parsed.issues)
    _record_verdict(result, parsed)
    if parsed.code is not None:
        result.code_archive = parsed.code
        result.archive_extra = parsed.extra.get("archive_extra") or None
        result.archive_contents = parsed.extra.get("archive_contents") or None
        return
    if parsed.format == "safetensors":
        result.weights_key = ""
        result.tensors = {name: tensor_info(t) for name, t in parsed.root.items()}
        result.parameter_count = sum(info.numel for info in result.tensors.values())
        result.tensor_bytes = sum(info.nbytes for info in result.tensors.values())
        result.safetensors_metadata = parsed.extra.get("metadata")
        return
    result.unknown_globals = parsed.extra.get("unknown_globals", [])
    summarize(parsed.root, parsed.scalar, result)


_HEAD_BYTES = 512
"""The first read of every file: a tar header's size, enough to tell every format apart."""


def _is_tar(head: bytes) -> bool:
    """Whether ``tarfile`` (as ``torch.load`` calls it) takes the file for a tar archive: its
    first 512 bytes are a valid tar header."""
    import tarfile

    try:
        tarfile.TarInfo.frombuf(head[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def _judge_as_pickle(f: CheckpointFile, head: bytes, parsed: ParsedFile) -> None:
    """Add to ``parsed`` the unsafe globals ``torch.load`` would meet reading the file as a
    legacy checkpoint (a pickle from the first byte): a file that is not a zip but is also a
    pickle holds two contents, and the verdict is about the one torch.load runs. Most files
    stop being a pickle within their first bytes: ``head`` answers for them."""
    probe = Resolver()
    try:
        unpickle(head, probe, None)
    except (UnpicklingError, PickleDataError):
        if not probe.unsafe:
            return  # not a pickle, and nothing it named before it broke could run
    except TruncatedPickle:
        pass  # longer than the head: read on, as far as torch.load would
    try:
        pickled = parse_legacy(f)
    except (FormatError, PickleFailure) as exc:
        if exc.parsed is None:
            return
        pickled = exc.parsed
    if not pickled.unsafe:
        return
    parsed.unsafe.extend(name for name in pickled.unsafe if name not in parsed.unsafe)
    parsed.unsafe_calls.extend(pickled.unsafe_calls)
    parsed.issues.append(
        Issue(
            severity="error",
            code="checkpoint.polyglot",
            message="the file is also a pickle, and torch.load unpickles any file that is not "
            "a zip (all but a path ending in .safetensors, in recent versions)",
        )
    )


def _record_verdict(result: CheckpointInspection, parsed: ParsedFile) -> None:
    """``safety`` and ``unsafe_globals`` from what the pickles named (and the archive kind)."""
    result.unsafe_globals = list(parsed.unsafe)
    if parsed.unsafe:
        result.safety = "unsafe"
        issue = unsafe_issue(result.unsafe_globals, derived_targets(parsed.unsafe_calls))
        if issue is not None:
            result.issues.append(issue)
    elif parsed.code is not None:
        result.safety = "code"
    if parsed.code is not None:
        result.issues.append(code_issue(parsed.code))


def _unreadable(result: CheckpointInspection, code: str, message: str) -> None:
    """An error that ends the read: the verdict is ``unreadable`` unless unsafe globals were
    found before it."""
    if result.safety != "unsafe":
        result.safety = "unreadable"
    _error(result, code, message)


def _error(result: CheckpointInspection, code: str, message: str) -> None:
    result.issues.append(Issue(severity="error", code=code, message=message))
