"""The comparison as JSON-ready data: the ``ckpt-tui diff --json`` document (docs/reference.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ckpt_tui.compare.diff import ABSENT, SECTIONS, Comparison, DiffRow, TensorShape
from ckpt_tui.compare.snapshot import CheckpointSnapshot
from ckpt_tui.io.text import shorten

ALWAYS_LISTED = frozenset({"safety", "metrics", "training", "model", "weights"})
"""Sections whose rows are listed even when equal (they are few and give context); the config
lists only the keys that differ unless asked for all."""
SHORT_CHARS = 400
"""Longest text of a value shown to people (the CLI's lines and tables, the TUI's cells)."""
MAX_JSON_VALUE_CHARS = 64 * 1024
"""Longest JSON encoding of one value in the ``--json`` document; a longer value is cut to a
string ending in "…" and its row is marked ``"truncated": true``."""
MAX_JSON_VALUES_CHARS = 16 * 1024 * 1024
"""All values of one ``--json`` document together; past this, each value is cut at
:data:`SHORT_CHARS` (aliases can repeat one long text in thousands of keys of a config)."""


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


@dataclass
class _Budget:
    left: int


def json_prefix(value: Any, limit: int) -> str:
    """The JSON text of ``value`` (as :func:`display_value` spells it), cut after ``limit + 1``
    characters: the encoding stops there, so a value of many aliases to one long text costs no
    more than the cut. Shorter than ``limit + 1`` characters means whole."""
    encoder = json.JSONEncoder(ensure_ascii=False, default=repr, separators=(", ", ": "))
    parts: list[str] = []
    size = 0
    for chunk in encoder.iterencode(value):
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return "".join(parts)[: limit + 1]


def _json_value(value: Any, budget: _Budget) -> tuple[Any, bool]:
    """``value`` for the JSON document, or its text cut to the budget (and ``True``)."""
    limit = max(SHORT_CHARS, min(MAX_JSON_VALUE_CHARS, budget.left))
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, dict)):
        text = json_prefix(value, limit)
    else:
        return value, False
    budget.left -= min(len(text), limit)
    if len(text) <= limit:
        return value, False
    return text[: limit - 1] + "…", True


def _row(row: DiffRow, budget: _Budget) -> dict[str, Any]:
    out: dict[str, Any] = {"key": row.key, "change": row.change}
    truncated = False
    for side, value in (("a", row.values[0]), ("b", row.values[-1])):
        out[side], cut = _json_value(plain(value), budget)
        truncated = truncated or cut
    if truncated:
        out["truncated"] = True
    return out


def comparison_json(comparison: Comparison, *, all_keys: bool = False) -> dict[str, Any]:
    """Two sides' comparison: ``a``, ``b``, ``equal``, ``differences`` (per section) and
    ``sections`` (rows ``{key, change, a, b}``); the config's equal keys only with
    ``all_keys``. A value too long for the document is cut to a string ending in "…" and its
    row gets ``"truncated": true`` (:data:`MAX_JSON_VALUE_CHARS`, :data:`MAX_JSON_VALUES_CHARS`).
    """
    if len(comparison.sides) != 2:
        raise ValueError("the JSON document compares exactly two checkpoints")
    budget = _Budget(MAX_JSON_VALUES_CHARS)
    sections = {
        name: [
            _row(row, budget)
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
    ``(absent)``, unknown ``—``, a tensor ``float32 [64, 3, 3, 3]``, numbers compactly; text
    over :data:`SHORT_CHARS` characters is cut, ending in "…"."""
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
        return cut_text(", ".join(f"{key}×{count}" for key, count in value.items()))
    text = json_prefix(value, SHORT_CHARS) if isinstance(value, (list, dict)) else str(value)
    return cut_text(text)


def cut_text(text: str, limit: int = SHORT_CHARS) -> str:
    """``text``, or its first ``limit - 1`` characters and "…" when it is longer."""
    return shorten(text, limit)
