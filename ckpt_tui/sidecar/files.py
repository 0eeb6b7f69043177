"""Sidecar files: ``<stem>.metadata.yaml`` next to each checkpoint.

Both names are read (``epoch=10.metadata.yaml`` and ``epoch=10.ckpt.metadata.yaml``; when both
exist the newer wins, with a warning); only ``<stem>.metadata.yaml`` is written, atomically.
Reading never raises for a bad file: the failure comes back as issues on a :class:`SidecarRead`.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_tui.io.atomic import atomic_write_text
from ckpt_tui.io.safe_yaml import (
    MAX_SIDECAR_BYTES,
    UnsafeDocumentError,
    dump_yaml,
    parse_yaml,
    read_bounded_text,
)
from ckpt_tui.model.entry import Issue
from ckpt_tui.model.placeholders import SCHEMA_VERSION
from ckpt_tui.sidecar.schema_fast import ValidSidecar, fast_sidecar

if TYPE_CHECKING:
    from ckpt_tui.model.schema import CheckpointMetadataV1

SIDECAR_SUFFIX = ".metadata.yaml"


def stem_of(name: str) -> str:
    """A file name without its last suffix (``epoch=10.ckpt`` → ``epoch=10``)."""
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def checkpoint_stem(ckpt_path: Path) -> str:
    """The checkpoint's file name without its last suffix."""
    return stem_of(ckpt_path.name)


def sidecar_path_for(ckpt_path: Path) -> Path:
    """Where a sidecar for ``ckpt_path`` is written: ``<stem>.metadata.yaml``."""
    return ckpt_path.parent / (checkpoint_stem(ckpt_path) + SIDECAR_SUFFIX)


def sidecar_candidates(ckpt_path: Path) -> tuple[Path, Path]:
    """Both accepted sidecar names: ``<stem>.metadata.yaml`` and ``<name>.metadata.yaml``."""
    return sidecar_path_for(ckpt_path), ckpt_path.parent / (ckpt_path.name + SIDECAR_SUFFIX)


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


def find_sidecar(ckpt_path: Path) -> tuple[Path | None, list[Issue]]:
    """The sidecar to read for ``ckpt_path`` (the newer when both names exist)."""
    present: list[tuple[int, Path]] = []
    for candidate in sidecar_candidates(ckpt_path):
        try:
            info = candidate.stat()
        except OSError:
            continue  # no such sidecar: the usual case
        if stat.S_ISREG(info.st_mode):  # a folder or FIFO under that name is not a sidecar
            present.append((info.st_mtime_ns, candidate))
    if not present:
        return None, []
    if len(present) == 1:
        return present[0][1], []
    newest = max(present, key=lambda item: item[0])[1]
    other = next(path for _, path in present if path != newest)
    warning = Issue(
        severity="warning",
        code="sidecar.duplicate",
        message=f"two sidecars: using the newer {newest.name}, ignoring {other.name}",
    )
    return newest, [warning]


def parse_metadata(data: Any, *, source: str) -> tuple[CheckpointMetadataV1 | None, list[Issue]]:
    """Validate plain data as ``CheckpointMetadataV1``; problems become issues naming the field."""
    versioned, issues = _versioned(data, source)
    if versioned is None:
        return None, issues
    return _validate_with_pydantic(versioned, source, issues)


def parse_sidecar(data: Any, *, source: str) -> tuple[ValidSidecar | None, list[Issue]]:
    """Like :func:`parse_metadata`, as plain validated data: the catalog's hot path.

    The plain sidecar is checked by :mod:`ckpt_tui.sidecar.schema_fast` without importing pydantic;
    anything else goes to pydantic, so the verdict and the issues are the same either way.
    """
    versioned, issues = _versioned(data, source)
    if versioned is None:
        return None, issues
    valid = fast_sidecar(versioned)
    if valid is None:
        metadata, issues = _validate_with_pydantic(versioned, source, issues)
        if metadata is None:
            return None, issues
        given = frozenset(metadata.checkpointing.model_fields_set)
        valid = ValidSidecar(metadata.to_yaml_dict(), given)
    return valid, issues


def _validate_with_pydantic(
    data: dict[str, Any], source: str, issues: list[Issue]
) -> tuple[CheckpointMetadataV1 | None, list[Issue]]:
    # Imported here: pydantic costs ~0.2 s, and plain sidecars never need it (schema_fast).
    from pydantic import ValidationError

    from ckpt_tui.model.schema import CheckpointMetadataV1

    try:
        return CheckpointMetadataV1.model_validate(data), issues
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "(document)"
            issues.append(_error("sidecar.invalid", f"{source}: {where}: {error['msg']}"))
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


def read_sidecar(ckpt_path: Path) -> SidecarRead:
    """Find and read the sidecar of ``ckpt_path``. Never raises for a bad or hostile file."""
    path, issues = find_sidecar(ckpt_path)
    result = SidecarRead(checkpoint=ckpt_path, path=path, issues=issues)
    if path is None:
        return result
    try:
        data = parse_yaml(read_bounded_text(path, MAX_SIDECAR_BYTES))
    except (UnsafeDocumentError, OSError) as exc:
        result.issues.append(_error("sidecar.unreadable", f"{path.name}: {_reason(exc)}"))
        return result
    metadata, parse_issues = parse_metadata(data, source=path.name)
    result.metadata = metadata
    result.issues.extend(parse_issues)
    return result


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
    """Write ``metadata`` as ``<stem>.metadata.yaml`` next to ``ckpt_path``, atomically.

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
