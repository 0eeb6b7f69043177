"""torch's zip checkpoint format: read the zip directory and ``data.pkl``, never the tensors.

A zip-format checkpoint (torch >= 1.6) holds ``<prefix>/data.pkl`` (a pickle that describes every
object and refers to storages by key), ``<prefix>/data/<key>`` (the raw bytes of each storage),
``<prefix>/byteorder`` and ``<prefix>/version``. The container itself (its directory, every size
checked against the file) is read by :mod:`~ckpt_tui.reader.zipdir`; here, the pickle is
run, its storages checked against the members, and small tensor values read on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ckpt_tui.model.entry import Issue
from ckpt_tui.reader.archives import code_archive
from ckpt_tui.reader.source import (
    CheckpointFile,
    FormatError,
    ParsedFile,
    PickleFailure,
    decode_scalar,
)
from ckpt_tui.reader.unpickle.machine import TruncatedPickle, UnpicklingError, unpickle
from ckpt_tui.reader.unpickle.objects import DTYPE_ITEMSIZE, StorageRef, StorageType, TensorRef
from ckpt_tui.reader.unpickle.resolve import PickleDataError, Resolver
from ckpt_tui.reader.zipdir import (
    SIZE,
    ZIP_MAGIC,
    Directory,
    Member,
    ZipLimits,
    data_start,
    read_directory,
    read_member,
)

__all__ = ["ZIP_MAGIC", "ZipLimits", "check_storages", "find_pickle", "parse_zip"]

_MAX_SCALAR_READS = 1024


def find_pickle(members: Directory) -> Member | None:
    """``<prefix>/data.pkl`` (torch always writes one folder level), else a bare ``data.pkl``;
    a :class:`FormatError` when there are several."""
    names = [n for n in members.pickles if n.count("/") <= 1 and n.rpartition("/")[2] == "data.pkl"]
    if len(names) > 1:
        # torch refuses a zip whose members are not all in one folder: which one would it be?
        shown = ", ".join(repr(n) for n in names[:3])
        raise FormatError(
            "checkpoint.zip-invalid", f"several pickles ({shown:.120}): torch refuses"
        )
    return members.get(names[0]) if names else None


def parse_zip(f: CheckpointFile, limits: ZipLimits | None = None) -> ParsedFile:
    """Read the directory and ``data.pkl`` of a zip checkpoint; tensors stay on disk."""
    limits = limits or ZipLimits()
    members, issues = read_directory(f, limits)
    archive = code_archive(f, members, _storage_loader)
    if archive is not None:
        archive.issues[:0] = issues
        return archive
    pickle_member = find_pickle(members)
    if pickle_member is None:
        raise FormatError("checkpoint.not-a-checkpoint", "zip file without a data.pkl")
    prefix = pickle_member.name[: -len("data.pkl")]
    data = read_member(f, pickle_member, limits.max_pickle_bytes)
    resolver = Resolver()
    parsed = ParsedFile("zip", issues=issues)
    # Filled in place by the resolver: kept whatever ends the read.
    parsed.unsafe = resolver.unsafe
    parsed.unsafe_calls = resolver.unsafe_calls
    try:
        parsed.root, _end = unpickle(data, resolver, _storage_loader(resolver))
    except (UnpicklingError, TruncatedPickle, PickleDataError) as exc:
        raise PickleFailure(parsed, str(exc)) from None
    parsed.extra["unknown_globals"] = sorted(resolver.unknown)
    check_storages(resolver, members, prefix, parsed.issues)
    parsed.scalar = _ScalarReader(f, members, prefix)
    return parsed


def _storage_loader(resolver: Resolver) -> Callable[[Any], StorageRef]:
    storages = resolver.storages

    def persistent_load(pid: Any) -> StorageRef:
        if type(pid) is not tuple or len(pid) != 5 or pid[0] != "storage":
            raise PickleDataError("persistent id is not a storage reference")
        _kind, storage_type, key, location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise PickleDataError("persistent id names an unknown storage type")
        if type(key) is not str or len(key) > 128 or type(numel) is not int or numel < 0:
            raise PickleDataError("persistent id has a malformed key or size")
        known = storages.get(key)
        if known is None:
            itemsize = DTYPE_ITEMSIZE[storage_type.dtype]
            location = location if type(location) is str else "?"
            known = storages[key] = StorageRef(key, storage_type.dtype, itemsize, location, numel)
        return known

    return persistent_load


def check_storages(
    resolver: Resolver, members: Directory, prefix: str, issues: list[Issue]
) -> None:
    """Each storage the pickle names exists in the file (``<prefix>data/<key>``), with the size
    the pickle claims.

    (Tensor shapes are checked against their storage where they are reported: see
    :func:`~ckpt_tui.reader.lightning.describe_weights`.)
    """
    entries = members.entries
    folder = f"{prefix}data/"
    problems: list[str] = []
    for key, storage in resolver.storages.items():
        entry = entries.get(folder + key)
        if entry is None:
            problems.append(f"storage {key!r:.40} is missing")
        elif entry[SIZE] != storage.numel * storage.itemsize:
            problems.append(
                f"storage {key!r:.40} holds {entry[SIZE]} bytes, the pickle says {storage.nbytes}"
            )
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        issues.append(
            Issue(
                severity="error", code="checkpoint.corrupt", message="; ".join(problems[:3]) + more
            )
        )


class _ScalarReader:
    """Reads the value of a one-element tensor from its ``data/<key>`` member, on demand."""

    def __init__(self, f: CheckpointFile, members: Directory, prefix: str) -> None:
        self._f = f
        self._members = members
        self._prefix = prefix
        self._little: bool | None = None
        self._reads = 0
        self._cache: dict[tuple[str, int], Any] = {}

    def __call__(self, tensor: TensorRef) -> float | int | bool | None:
        storage = tensor.storage
        if storage is None or tensor.numel != 1 or tensor.itemsize == 0:
            return None
        key = (storage.key, tensor.offset)
        if key in self._cache:
            return self._cache[key]
        member = self._members.get(f"{self._prefix}data/{storage.key}")
        start = tensor.offset * tensor.itemsize
        if member is None or member.method != 0 or start + tensor.itemsize > member.size:
            return None
        if self._reads >= _MAX_SCALAR_READS:
            return None
        self._reads += 1
        try:
            raw = self._f.read_exact(data_start(self._f, member) + start, tensor.itemsize, "scalar")
        except FormatError:
            return None
        value = decode_scalar(raw, tensor.dtype, self._little_endian())
        self._cache[key] = value
        return value

    def _little_endian(self) -> bool:
        if self._little is None:
            member = self._members.get(f"{self._prefix}byteorder")
            order = b"little"
            if member is not None and member.size <= 16:
                try:
                    order = read_member(self._f, member, 16).strip()
                except FormatError:
                    order = b"little"
            self._little = order != b"big"
        return self._little
