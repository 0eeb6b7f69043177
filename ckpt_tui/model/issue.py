"""One problem found with a checkpoint or its metadata, and the order problems are shown in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
_SEVERITIES = frozenset(("error", "warning", "info"))


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found with a checkpoint or its metadata."""

    severity: Severity
    """``error`` (the entry is broken), ``warning`` (something is off) or ``info``."""
    code: str
    """Stable machine-readable code, e.g. ``sidecar.invalid`` or ``security.unsafe-global``."""
    message: str
    """One human-readable line."""

    def __post_init__(self) -> None:
        if self.severity not in _SEVERITIES:
            raise ValueError(f"issue severity must be error, warning or info: {self.severity!r}")

    def __str__(self) -> str:
        return f"{self.severity}: {self.message} [{self.code}]"

    def to_dict(self) -> dict[str, str]:
        """The issue as a JSON object: severity, code, message."""
        return {"severity": self.severity, "code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Issue:
        """The issue :meth:`to_dict` gave."""
        return cls(severity=data["severity"], code=data["code"], message=data["message"])

    @property
    def rank(self) -> int:
        """Where the issue sorts: errors first, then warnings, then notes."""
        return SEVERITY_RANK[self.severity]


SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
"""The one severity order: a list of issues sorted by it shows errors first."""
