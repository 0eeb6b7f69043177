"""The schema's version and its "not known" placeholder, without importing pydantic.

The catalog's hot path needs these constants; :mod:`ckpt_tui.model.schema` (pydantic, slow to
import and build) is imported only when a sidecar is actually validated.
"""

from __future__ import annotations

from typing import Any, Literal

SCHEMA_VERSION: Literal["1.0"] = "1.0"
UNKNOWN = "unknown"

_PLACEHOLDERS = frozenset((UNKNOWN, "", "none", "null"))


def known(value: Any) -> Any:
    """Return ``value``, or ``None`` when it is a placeholder for "not known" ("unknown", "")."""
    if isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS:
        return None
    return value
