"""Sorting catalog entries by a column: stable, with unknown (null) values last in both directions.

The field names are those of the TUI's columns and of ``list --sort``. Also the one rule for the
best checkpoint of an experiment (:func:`experiment_best`), used by ``is:best``, the compare
screen and prune.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

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


Mode = Literal["min", "max"]


def finite(value: object) -> float | None:
    """``value`` as a float when it is a finite number (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Ranking:
    """How one experiment's checkpoints are ranked."""

    label: str
    """What the reasons call it: ``val/hmean``, ``hmean``, ``epoch``."""
    mode: Mode
    """``max``: larger is better; ``min``: smaller is better."""
    value: Callable[[Entry], float | None]
    """The entry's value (``None`` when unknown or not a finite number)."""

    def order(self, value: float) -> float:
        """A key that sorts better values first."""
        return -value if self.mode == "max" else value


def experiment_monitor(entries: Iterable[Entry]) -> tuple[str, Mode] | None:
    """The metric the experiment's ModelCheckpoint monitored and its mode (the most common
    pair among its checkpoints), or ``None`` when no checkpoint says both."""
    pairs = Counter(
        (entry.monitor, entry.monitor_mode)
        for entry in entries
        if entry.monitor and entry.monitor_mode in ("min", "max")
    )
    if not pairs:
        return None
    (monitor, mode), _count = pairs.most_common(1)[0]
    return str(monitor), "min" if mode == "min" else "max"


def metric_value(name: str) -> Callable[[Entry], float | None]:
    """An entry's value of the metric ``name``: its monitored value when it monitored ``name``,
    else its additional metric of that name."""

    def value(entry: Entry) -> float | None:
        if entry.monitor == name and entry.monitor_value is not None:
            return finite(entry.monitor_value)
        return finite(entry.additional_metrics.get(name))

    return value


def experiment_ranking(entries: Sequence[Entry]) -> Ranking:
    """The experiment's own ranking: its monitored metric in its mode, else hmean (max)."""
    monitor = experiment_monitor(entries)
    if monitor is not None:
        return Ranking(monitor[0], monitor[1], metric_value(monitor[0]))
    return Ranking("hmean", "max", lambda entry: finite(entry.hmean))


def recency_order(entries: Sequence[Entry]) -> list[Entry]:
    """``entries`` newest first: by step, then epoch, then mtime, then path.

    Step (and epoch) count only when every entry knows it: mixing known and unknown would rank
    a checkpoint with an unknown step as the oldest, and so as the first to go.
    """
    use_step = all(entry.global_step is not None for entry in entries)
    use_epoch = all(entry.epoch is not None for entry in entries)

    def key(entry: Entry) -> tuple[float, float, float, str]:
        step = float(entry.global_step) if use_step and entry.global_step is not None else 0.0
        epoch = float(entry.epoch) if use_epoch and entry.epoch is not None else 0.0
        return (step, epoch, entry.mtime or 0.0, entry.checkpoint_path)

    return sorted(entries, key=key, reverse=True)


def experiment_best(
    entries: Sequence[Entry], among: Iterable[Entry] | None = None
) -> tuple[Entry | None, Ranking]:
    """The best checkpoint of one experiment (``entries``: its checkpoints) and the ranking used.

    The experiment's monitored metric in its mode, else the highest hmean
    (:func:`experiment_ranking`); only ``among`` compete (default: all of ``entries``). Among
    equal values (``last.ckpt`` often holds the best's score) a file wins over a link to one,
    then the more recent (:func:`recency_order`). ``None`` when none of them has a value.
    """
    ranking = experiment_ranking(entries)
    valued = [
        (ranking.order(value), "link_to" in entry.details, index, entry)
        for index, entry in enumerate(recency_order(list(entries if among is None else among)))
        if (value := ranking.value(entry)) is not None
    ]
    return (min(valued)[3] if valued else None), ranking
