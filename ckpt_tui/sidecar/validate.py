"""Sidecar validation: the reference validator's rules, reported per file and in total.

Schema problems (Pydantic) come from :mod:`ckpt_tui.sidecar.files` with their field path; this
module adds the business rules: hmean is required, precision and recall are expected. Walking a
tree to validate it is :func:`ckpt_tui.catalog.validate.validate_tree`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ckpt_tui.model.entry import Issue
from ckpt_tui.sidecar.files import SidecarRead, read_sidecar

if TYPE_CHECKING:
    from ckpt_tui.model.schema import CheckpointMetadataV1

Status = Literal["valid", "invalid", "missing"]


def recorded_unknown(metadata: CheckpointMetadataV1) -> frozenset[str]:
    """Key paths the sidecar's ``ckpt_tui`` block records as known to no source."""
    block = metadata.ckpt_tui
    return frozenset(block.unknown) if block is not None else frozenset()


def business_rule_issues(metadata: CheckpointMetadataV1, *, source: str) -> list[Issue]:
    """Rules beyond the schema: a missing hmean is an error, missing precision/recall a warning.

    A metric the ``ckpt_tui`` block records as unknown (no source knew it when ckpt-tui wrote
    the sidecar) is no issue of the entry: the catalog showed it unknown before the conversion
    too. :func:`validate_sidecar` reports the required ones as warnings about the file.
    """
    metrics = metadata.metrics
    recorded = recorded_unknown(metadata)
    issues: list[Issue] = []
    if metrics.hmean is None and "metrics.hmean" not in recorded:
        issues.append(
            Issue(
                severity="error",
                code="metrics.required",
                message=f"{source}: metrics.hmean: required",
            )
        )
    for name, value in (("precision", metrics.precision), ("recall", metrics.recall)):
        if value is None and f"metrics.{name}" not in recorded:
            issues.append(
                Issue(
                    severity="warning",
                    code="metrics.missing",
                    message=f"{source}: metrics.{name}: missing",
                )
            )
    return issues


REFERENCE_REQUIRED = ("model.architecture", "model.encoder.model_name", "metrics.hmean")
"""Fields the reference's validator requires that a ckpt-tui sidecar may record as unknown."""


def unknown_required_issues(metadata: CheckpointMetadataV1, *, source: str) -> list[Issue]:
    """Warnings for the required fields the ``ckpt_tui`` block records as unknown: the sidecar
    is valid (it says no more than its sources knew), but the reference would refuse it."""
    recorded = recorded_unknown(metadata)
    model = metadata.model
    values = (model.architecture, model.encoder.model_name, metadata.metrics.hmean)
    return [
        Issue(
            severity="warning",
            code="sidecar.recorded-unknown",
            message=f"{source}: {key}: no source knew it when ckpt-tui wrote this sidecar",
        )
        for key, value in zip(REFERENCE_REQUIRED, values, strict=True)
        if value is None and key in recorded
    ]


@dataclass
class SidecarValidation:
    """The verdict on one checkpoint's sidecar."""

    checkpoint: Path
    """The checkpoint."""
    sidecar: Path | None
    """The sidecar read, if any."""
    status: Status
    """``valid`` (no error), ``invalid`` (at least one error) or ``missing`` (no sidecar)."""
    issues: list[Issue] = field(default_factory=list)
    """Every problem found, errors and warnings."""

    def to_json(self, root: Path | None = None) -> dict[str, Any]:
        """Plain data for ``validate --json``."""
        return {
            "checkpoint": _relative(self.checkpoint, root),
            "sidecar": _relative(self.sidecar, root) if self.sidecar else None,
            "status": self.status,
            "issues": [issue.to_dict() for issue in self.issues],
        }


def validate_sidecar(read: SidecarRead) -> SidecarValidation:
    """Apply the schema verdict and the business rules to one sidecar read."""
    if read.path is None:
        return SidecarValidation(read.checkpoint, None, "missing", list(read.issues))
    issues = list(read.issues)
    if read.metadata is not None:
        issues.extend(business_rule_issues(read.metadata, source=read.path.name))
        issues.extend(unknown_required_issues(read.metadata, source=read.path.name))
    invalid = read.metadata is None or any(issue.severity == "error" for issue in issues)
    return SidecarValidation(read.checkpoint, read.path, "invalid" if invalid else "valid", issues)


def validate_checkpoint(ckpt_path: Path) -> SidecarValidation:
    """Find, read and validate the sidecar of one checkpoint. Never raises for a bad file."""
    return validate_sidecar(read_sidecar(ckpt_path))


@dataclass
class ValidationReport:
    """Validation results for a tree, with counts."""

    root: Path
    """The folder that was validated."""
    results: list[SidecarValidation] = field(default_factory=list)
    """One result per checkpoint."""
    scan_issues: list[Issue] = field(default_factory=list)
    """Problems met while walking the tree."""

    @property
    def total(self) -> int:
        """Checkpoints seen."""
        return len(self.results)

    def count(self, status: Status) -> int:
        """How many results have ``status``."""
        return sum(1 for result in self.results if result.status == status)

    @property
    def valid(self) -> int:
        """Checkpoints with a valid sidecar."""
        return self.count("valid")

    @property
    def invalid(self) -> int:
        """Checkpoints whose sidecar has an error."""
        return self.count("invalid")

    @property
    def missing(self) -> int:
        """Checkpoints with no sidecar."""
        return self.count("missing")

    @property
    def error_counts(self) -> dict[str, int]:
        """Errors and warnings counted by issue code."""
        counts: Counter[str] = Counter(
            issue.code for result in self.results for issue in result.issues
        )
        counts.update(issue.code for issue in self.scan_issues)
        return dict(sorted(counts.items()))

    @property
    def has_problems(self) -> bool:
        """Whether any sidecar is invalid or the walk met an error."""
        return self.invalid > 0 or any(i.severity == "error" for i in self.scan_issues)

    def summary(self) -> str:
        """One line: totals and the most common problems."""
        text = (
            f"{self.total} checkpoints: {self.valid} valid, {self.invalid} invalid, "
            f"{self.missing} without sidecar"
        )
        if self.error_counts:
            text += " · " + ", ".join(f"{code} ×{n}" for code, n in self.error_counts.items())
        return text

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``validate --json``."""
        return {
            "root": str(self.root),
            "total": self.total,
            "valid": self.valid,
            "invalid": self.invalid,
            "missing": self.missing,
            "error_counts": self.error_counts,
            "results": [result.to_json(self.root) for result in self.results],
            "scan_issues": [issue.to_dict() for issue in self.scan_issues],
        }


def validate_checkpoints(
    root: Path, checkpoints: Iterable[Path], scan_issues: Iterable[Issue] = ()
) -> ValidationReport:
    """Validate the sidecars of ``checkpoints`` found under ``root``."""
    results = [validate_checkpoint(path) for path in checkpoints]
    return ValidationReport(root=root, results=results, scan_issues=list(scan_issues))


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return str(path)
    return str(path)
