"""Sidecar files: ``<stem>.metadata.yaml`` next to each checkpoint — the one sidecar reader.

Both names are read (``epoch=10.metadata.yaml`` and ``epoch=10.ckpt.metadata.yaml``; when both
exist the newer wins, with a warning); ``<stem>.metadata.yaml`` is written, atomically. When two
checkpoints share a stem (``a.ckpt``, ``a.pt``) each has its own ``<name>.metadata.yaml``, and
``<stem>.metadata.yaml`` is read by neither (it could be either's).
Everything that reads sidecars (the library's :func:`read_sidecar`, ``validate``, the catalog's
sidecar tier, conversion) goes through :func:`find_sidecars` and :func:`read_found`, so they never
disagree on which file counts or on whether it is valid. Reading never raises for a bad file: the
failure comes back as issues on a :class:`SidecarRead`.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_tui.io.atomic import atomic_write_text
from ckpt_tui.io.safe_yaml import (
    MAX_SIDECAR_BYTES,
    NumberTooLargeError,
    UnsafeDocumentError,
    dump_yaml,
    parse_yaml_document,
    read_bounded_text,
)
from ckpt_tui.io.yaml_subset import FALLBACK, parse_simple_yaml
from ckpt_tui.model.entry import Issue
from ckpt_tui.model.placeholders import SCHEMA_VERSION

if TYPE_CHECKING:
    from ckpt_tui.model.schema import CheckpointMetadataV1

SIDECAR_SUFFIX = ".metadata.yaml"


def stem_of(name: str) -> str:
    """A file name without its last suffix (``epoch=10.ckpt`` → ``epoch=10``)."""
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def shared_stems(names: Iterable[str]) -> frozenset[str]:
    """The stems that two or more of ``names`` share (``a.ckpt``, ``a.pt`` → ``{"a"}``): such
    checkpoints each get a sidecar of their own, ``<name>.metadata.yaml``."""
    seen: set[str] = set()
    shared: set[str] = set()
    for name in names:
        stem = stem_of(name)
        if stem != name:
            (shared if stem in seen else seen).add(stem)
    return frozenset(shared)


def checkpoint_stem(ckpt_path: Path) -> str:
    """The checkpoint's file name without its last suffix."""
    return stem_of(ckpt_path.name)


CHECKPOINT_SUFFIXES: tuple[str, ...] = (".ckpt", ".pt", ".pth", ".safetensors", ".bin", ".pt2")
"""Suffixes of files that may be checkpoints: two of them with one stem (``a.ckpt``, ``a.pt``)
cannot share ``<stem>.metadata.yaml``. A superset of the catalog's default patterns, so a stem
the walk finds shared is always found shared on disk too."""


def stem_shared_on_disk(ckpt_path: Path) -> bool:
    """Whether another checkpoint-like file in ``ckpt_path``'s folder has the same stem."""
    name = ckpt_path.name
    stem = stem_of(name)
    if stem == name:
        return False
    return any(
        os.path.lexists(ckpt_path.parent / (stem + suffix))
        for suffix in CHECKPOINT_SUFFIXES
        if stem + suffix != name
    )


def sidecar_path_for(ckpt_path: Path, *, stem_shared: bool | None = None) -> Path:
    """Where a sidecar for ``ckpt_path`` is written: ``<stem>.metadata.yaml``, or
    ``<name>.metadata.yaml`` when another checkpoint in the folder has the same stem
    (``stem_shared``; ``None``: look at the folder)."""
    if stem_shared is None:
        stem_shared = stem_shared_on_disk(ckpt_path)
    name = ckpt_path.name if stem_shared else checkpoint_stem(ckpt_path)
    return ckpt_path.parent / (name + SIDECAR_SUFFIX)


def sidecar_names(ckpt_name: str, *, stem_shared: bool = False) -> tuple[str, ...]:
    """The accepted sidecar names of a checkpoint file name, ``<stem>`` first, each once.

    When another checkpoint in the folder has the same stem (``stem_shared``), only
    ``<name>.metadata.yaml`` is accepted: ``<stem>.metadata.yaml`` could be either's.
    """
    by_stem = stem_of(ckpt_name) + SIDECAR_SUFFIX
    by_name = ckpt_name + SIDECAR_SUFFIX
    if stem_shared:
        return (by_name,)
    return (by_stem, by_name) if by_stem != by_name else (by_stem,)


def sidecar_candidates(ckpt_path: Path) -> tuple[Path, Path]:
    """Both accepted sidecar paths: ``<stem>.metadata.yaml`` and ``<name>.metadata.yaml``."""
    stem_path = ckpt_path.parent / (checkpoint_stem(ckpt_path) + SIDECAR_SUFFIX)
    return stem_path, ckpt_path.parent / (ckpt_path.name + SIDECAR_SUFFIX)


@dataclass
class SidecarFound:
    """Which sidecar files exist for one checkpoint."""

    folder: str
    """The folder the checkpoint and its sidecars are in."""
    present: list[tuple[str, os.stat_result]] = field(default_factory=list)
    """``(name, stat)`` of each existing sidecar, in :func:`sidecar_names` order."""
    issues: list[Issue] = field(default_factory=list)
    """Problems met while looking (a sidecar that is not a regular file)."""

    @property
    def signature(self) -> str:
        """Changes whenever a sidecar appears, disappears or changes."""
        return "|".join(f"{n}:{s.st_size}:{s.st_mtime_ns}" for n, s in self.present)

    def chosen(self) -> tuple[str | None, list[Issue]]:
        """The sidecar to read (the newer when both names exist) and a warning when both do."""
        if not self.present:
            return None, []
        if len(self.present) == 1:
            return self.present[0][0], []
        newest = max(self.present, key=lambda item: item[1].st_mtime_ns)[0]
        other = next(name for name, _ in self.present if name != newest)
        warning = Issue(
            severity="warning",
            code="sidecar.duplicate",
            message=f"two sidecars: using the newer {newest}, ignoring {other}",
        )
        return newest, [warning]


def find_sidecars(
    folder: str | os.PathLike[str],
    ckpt_name: str,
    listing: Mapping[str, os.DirEntry[str]] | None = None,
    *,
    stem_shared: bool | None = None,
) -> SidecarFound:
    """The sidecars of the checkpoint ``ckpt_name`` in ``folder``.

    ``listing`` is the folder's listing when the caller already made one (the catalog's walk):
    a name missing from it is known to be absent, so no stat is spent on it, and the entry's own
    (cached) stat is used for the rest. Without it, each candidate name is stat'ed.
    ``stem_shared`` says whether another checkpoint there has the same stem (``None``: look);
    then ``<stem>.metadata.yaml`` is not read, and a warning says why when it exists.
    """
    folder = os.fspath(folder)
    found = SidecarFound(folder)
    if stem_shared is None:
        stem_shared = stem_shared_on_disk(Path(folder, ckpt_name))
    if stem_shared:
        ambiguous = stem_of(ckpt_name) + SIDECAR_SUFFIX
        present = ambiguous in listing if listing is not None else _exists(folder, ambiguous)
        if present and ambiguous != ckpt_name + SIDECAR_SUFFIX:
            found.issues.append(
                Issue(
                    severity="warning",
                    code="sidecar.ambiguous",
                    message=f"{ambiguous}: not read: another checkpoint here has the same "
                    f"stem; name it {ckpt_name}{SIDECAR_SUFFIX}",
                )
            )
    for name in sidecar_names(ckpt_name, stem_shared=stem_shared):
        stat_of: Callable[[], os.stat_result]
        if listing is None:
            stat_of = functools.partial(os.stat, os.path.join(folder, name))
        else:
            entry = listing.get(name)
            if entry is None:
                continue
            stat_of = entry.stat
        try:
            info = stat_of()
        except OSError:
            continue  # no such sidecar (or a dangling link): the usual case
        if not stat.S_ISREG(info.st_mode):
            found.issues.append(_error("sidecar.unreadable", f"{name}: not a regular file"))
            continue
        found.present.append((name, info))
    return found


def _exists(folder: str, name: str) -> bool:
    return os.path.lexists(os.path.join(folder, name))


def find_sidecar(ckpt_path: Path) -> tuple[Path | None, list[Issue]]:
    """The sidecar to read for ``ckpt_path`` (the newer when both names exist)."""
    ckpt_path = Path(ckpt_path)
    found = find_sidecars(ckpt_path.parent, ckpt_path.name)
    name, duplicate = found.chosen()
    return (None if name is None else ckpt_path.parent / name), found.issues + duplicate


@dataclass
class SidecarRead:
    """The outcome of looking for and reading one checkpoint's sidecar."""

    checkpoint: Path
    """The checkpoint the sidecar belongs to."""
    path: Path | None = None
    """The sidecar that was read; ``None`` when there is none."""
    metadata: CheckpointMetadataV1 | None = None
    """The parsed metadata; ``None`` when missing or invalid."""
    issues: list[Issue] = field(default_factory=list)
    """Problems found while reading (errors make ``metadata`` ``None``)."""

    @property
    def found(self) -> bool:
        """Whether a sidecar file exists for the checkpoint."""
        return self.path is not None


def parse_sidecar_text(text: str) -> Any:
    """The data of a sidecar's text; raises ``UnsafeDocumentError`` when it is not safe YAML.

    The plain YAML sidecars are written in is read by :mod:`ckpt_tui.io.yaml_subset`; anything
    it is not sure of goes to PyYAML's safe loader, which reads it to the same value.
    """
    return parse_sidecar_document(text)[0]


def parse_sidecar_document(text: str) -> tuple[Any, list[str]]:
    """:func:`parse_sidecar_text`, plus the key path of each duplicate key (the last value wins).

    Both readers (the subset reader and PyYAML's) find the same duplicates, so which one read a
    sidecar never changes its issues.
    """
    duplicates: list[str] = []
    data = parse_simple_yaml(text, duplicates)
    if data is FALLBACK:
        data, duplicates = parse_yaml_document(text)
    return data, duplicates


def parse_metadata(data: Any, *, source: str) -> tuple[CheckpointMetadataV1 | None, list[Issue]]:
    """Validate plain data as ``CheckpointMetadataV1``; problems become issues naming the field."""
    versioned, issues = _versioned(data, source)
    if versioned is None:
        return None, issues
    # Imported here: ``import ckpt_tui`` and walks that meet no sidecar need no pydantic.
    from pydantic import ValidationError

    from ckpt_tui.model.schema import CheckpointMetadataV1

    try:
        return CheckpointMetadataV1.model_validate(versioned), issues
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            # A rule across fields (a required name, unless recorded as unknown) names its own.
            message = f"{where}: {error['msg']}" if where else error["msg"]
            issues.append(_error("sidecar.invalid", f"{source}: {message}"))
        return None, issues


def _versioned(data: Any, source: str) -> tuple[dict[str, Any] | None, list[Issue]]:
    """``data`` as a mapping of this schema's version (with a warning when it said another)."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        return None, [_error("sidecar.not-mapping", f"{source}: expected a mapping, got {kind}")]
    issues: list[Issue] = []
    version = data.get("schema_version", SCHEMA_VERSION)
    if str(version) != SCHEMA_VERSION:
        issues.append(
            Issue(
                severity="warning",
                code="sidecar.schema-version",
                message=f"{source}: schema_version {version!r} is not {SCHEMA_VERSION!r}; "
                "read as far as it goes",
            )
        )
        data = {**data, "schema_version": SCHEMA_VERSION}
    return data, issues


def read_sidecar_file(
    path: str | os.PathLike[str],
) -> tuple[CheckpointMetadataV1 | None, list[Issue]]:
    """Read, parse and validate one sidecar file; never raises for a bad or hostile file.

    Issues name the file by its base name (``epoch=1.metadata.yaml: training.epoch: ...``).
    """
    path = os.fspath(path)
    name = os.path.basename(path)
    try:
        data, duplicates = parse_sidecar_document(read_bounded_text(path, MAX_SIDECAR_BYTES))
    except NumberTooLargeError as exc:
        return None, [_error("sidecar.invalid", f"{name}: {exc}")]
    except (UnsafeDocumentError, OSError) as exc:
        return None, [_error("sidecar.unreadable", f"{name}: {_reason(exc)}")]
    metadata, issues = parse_metadata(data, source=name)
    warnings = [
        Issue(
            severity="warning",
            code="sidecar.duplicate-key",
            message=f"{name}: {key}: duplicate key; the last value is used",
        )
        for key in duplicates
    ]
    return metadata, warnings + issues


def read_chosen(
    found: SidecarFound,
) -> tuple[str | None, CheckpointMetadataV1 | None, list[Issue]]:
    """Choose among the sidecars ``found`` and read the chosen one: its name (``None`` when
    there is none), its metadata (``None`` when missing or invalid) and every issue met."""
    name, duplicate = found.chosen()
    issues = found.issues + duplicate
    if name is None:
        return None, None, issues
    metadata, read_issues = read_sidecar_file(os.path.join(found.folder, name))
    return name, metadata, issues + read_issues


def read_found(checkpoint: str | os.PathLike[str], found: SidecarFound) -> SidecarRead:
    """Choose among the sidecars ``found`` for ``checkpoint`` and read the chosen one."""
    name, metadata, issues = read_chosen(found)
    path = None if name is None else Path(found.folder, name)
    return SidecarRead(Path(checkpoint), path, metadata, issues)


def read_sidecar(ckpt_path: Path) -> SidecarRead:
    """Find and read the sidecar of ``ckpt_path``. Never raises for a bad or hostile file."""
    ckpt_path = Path(ckpt_path)
    return read_found(ckpt_path, find_sidecars(ckpt_path.parent, ckpt_path.name))


def load_metadata(ckpt_path: Path) -> CheckpointMetadataV1 | None:
    """The reference's API: the checkpoint's sidecar metadata, or ``None`` when missing/invalid.

    Use :func:`read_sidecar` to learn why a sidecar was rejected.
    """
    return read_sidecar(Path(ckpt_path)).metadata


def load_metadata_batch(ckpt_paths: Iterable[Path]) -> dict[Path, SidecarRead]:
    """Read the sidecars of many checkpoints; one bad file never stops the batch."""
    return {Path(path): read_sidecar(Path(path)) for path in ckpt_paths}


def save_metadata(
    metadata: CheckpointMetadataV1, ckpt_path: Path, *, sync_folder: bool = True
) -> Path:
    """Write ``metadata`` as ``<stem>.metadata.yaml`` next to ``ckpt_path``, atomically
    (``<name>.metadata.yaml`` when another checkpoint there has the same stem).

    Raises ``OSError`` when the folder cannot be written; the checkpoint is never touched.
    ``sync_folder=False`` leaves the folder's fsync to a caller writing many sidecars.
    """
    target = sidecar_path_for(Path(ckpt_path))
    atomic_write_text(target, dump_yaml(metadata.to_yaml_dict()), sync_folder=sync_folder)
    return target


def _error(code: str, message: str) -> Issue:
    return Issue(severity="error", code=code, message=message)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)
