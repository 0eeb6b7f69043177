"""Sorting catalog entries by a column: stable, with unknown (null) values last in both directions.

The field names are those of the TUI's columns and of ``list --sort``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from ckpt_tui.model.entry import CheckpointCatalogEntry

Entry = CheckpointCatalogEntry
SortKey = Callable[[Entry], Any]


def _fold(value: str | None) -> str | None:
    # Case-insensitive, but never "" for unknown: an empty name is null, not a value.
    return value.casefold() if value else None


def _created(entry: Entry) -> float | None:
    if not entry.created_at:
        return None
    try:
        stamp = datetime.fromisoformat(entry.created_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        # Naive timestamps are local time, as Lightning and the reference write them.
        stamp = stamp.astimezone()
    return stamp.astimezone(timezone.utc).timestamp()


#: The verdicts from the most to the least alarming (the natural order of a sort by safety).
SAFETY_ORDER: dict[str, int] = {"unsafe": 0, "code": 1, "unreadable": 2, "unchecked": 3, "safe": 4}


def _issue_counts(entry: Entry) -> tuple[int, int, int] | None:
    # Security findings outrank errors, which outrank warnings; no issue at all is null.
    kinds = ["security" if i.code.startswith("security") else i.severity for i in entry.issues]
    security, errors, warnings = (kinds.count(k) for k in ("security", "error", "warning"))
    return (security, errors, warnings) if security or errors or warnings else None


#: Column name → key function; a key of ``None`` means "unknown" and sorts last.
SORT_FIELDS: dict[str, SortKey] = {
    "experiment": lambda e: _fold(e.exp_name),
    "file": lambda e: _fold(e.file_name),
    "arch": lambda e: _fold(e.architecture),
    "encoder": lambda e: _fold(e.backbone),
    "epoch": lambda e: e.epoch,
    "step": lambda e: e.global_step,
    "hmean": lambda e: e.hmean,
    "precision": lambda e: e.precision,
    "recall": lambda e: e.recall,
    "monitor": lambda e: _fold(e.monitor),
    "created": _created,
    "size": lambda e: e.size_bytes,
    "source": lambda e: e.source,
    "safety": lambda e: SAFETY_ORDER.get(e.safety, len(SAFETY_ORDER)),
    "issues": _issue_counts,
    "path": lambda e: e.checkpoint_path,
}

#: Other spellings accepted by :func:`resolve_sort_field` (``list --sort``).
SORT_ALIASES: dict[str, str] = {
    "exp": "experiment",
    "exp_name": "experiment",
    "name": "experiment",
    "architecture": "arch",
    "backbone": "encoder",
    "global_step": "step",
    "prec": "precision",
    "rec": "recall",
    "created_at": "created",
    "size_bytes": "size",
    "checkpoint_path": "path",
    "file_name": "file",
}

#: Columns whose natural first order is descending (best or newest first).
DESCENDING_FIRST: frozenset[str] = frozenset({"hmean", "precision", "recall", "created", "issues"})


def resolve_sort_field(name: str) -> str:
    """The canonical sort field for ``name`` (aliases allowed); ``KeyError`` lists the choices."""
    key = name.strip().lower()
    key = SORT_ALIASES.get(key, key)
    if key not in SORT_FIELDS:
        raise KeyError(f"unknown sort field {name!r}; choose from {', '.join(SORT_FIELDS)}")
    return key


def sort_entries(entries: Iterable[Entry], field: str, descending: bool = False) -> list[Entry]:
    """Entries sorted by ``field``; stable; entries whose value is unknown come last either way."""
    key = SORT_FIELDS[resolve_sort_field(field)]
    known: list[tuple[Any, Entry]] = []
    unknown: list[Entry] = []
    for entry in entries:
        value = key(entry)
        if value is None:
            unknown.append(entry)
        else:
            known.append((value, entry))
    # sorted(reverse=True) keeps equal items in their original order, so both directions are stable.
    known.sort(key=lambda item: item[0], reverse=descending)
    return [entry for _, entry in known] + unknown
