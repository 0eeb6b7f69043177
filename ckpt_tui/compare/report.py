"""The comparison as JSON-ready data: the ``ckpt-tui diff --json`` document (docs/reference.md)."""

from __future__ import annotations

from typing import Any

from ckpt_tui.compare.diff import ABSENT, SECTIONS, Comparison, DiffRow, TensorShape
from ckpt_tui.compare.snapshot import CheckpointSnapshot

ALWAYS_LISTED = frozenset({"safety", "metrics", "training", "model", "weights"})
"""Sections whose rows are listed even when equal (they are few and give context); the config
lists only the keys that differ unless asked for all."""


def plain(value: Any) -> Any:
    """A row value as JSON data: an absent key is ``null``, a tensor ``{dtype, shape}``."""
    if value is ABSENT:
        return None
    if isinstance(value, TensorShape):
        return {"dtype": value.dtype, "shape": list(value.shape)}
    return value


def _side(snapshot: CheckpointSnapshot) -> dict[str, Any]:
    entry = snapshot.entry
    return {
        "checkpoint_path": entry.checkpoint_path,
        "path": entry.abs_path,
        "display_name": entry.display_name,
        "size_bytes": entry.size_bytes,
        "format": snapshot.format,
        "safety": entry.safety,
        "unsafe_globals": list(entry.unsafe_globals),
        "config_source": snapshot.config_source,
        "issues": [issue.to_dict() for issue in snapshot.read_issues],
    }


def _row(row: DiffRow) -> dict[str, Any]:
    a, b = row.values[0], row.values[-1]
    return {"key": row.key, "change": row.change, "a": plain(a), "b": plain(b)}


def comparison_json(comparison: Comparison, *, all_keys: bool = False) -> dict[str, Any]:
    """Two sides' comparison: ``a``, ``b``, ``equal``, ``differences`` (per section) and
    ``sections`` (rows ``{key, change, a, b}``); the config's equal keys only with
    ``all_keys``."""
    if len(comparison.sides) != 2:
        raise ValueError("the JSON document compares exactly two checkpoints")
    sections = {
        name: [
            _row(row)
            for row in comparison.section(
                name, only_differences=name not in ALWAYS_LISTED and not all_keys
            )
        ]
        for name in SECTIONS
    }
    return {
        "a": _side(comparison.sides[0]),
        "b": _side(comparison.sides[1]),
        "equal": comparison.equal,
        "differences": comparison.differences(),
        "sections": sections,
    }


def display_value(value: Any) -> str:
    """A row value as short text for people (the CLI and the TUI): an absent key is
    ``(absent)``, unknown ``—``, a tensor ``float32 [64, 3, 3, 3]``, numbers compactly."""
    import json

    if value is ABSENT:
        return "(absent)"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, TensorShape):
        return str(value)
    if isinstance(value, dict) and value and all(type(v) is int for v in value.values()):
        return ", ".join(f"{key}×{count}" for key, count in value.items())
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False, default=repr, separators=(", ", ": "))
        return text if len(text) <= 400 else text[:399] + "…"
    return str(value)
