"""An entry's two stored forms: the cache file's JSON row and the in-process cache's packed tuple.

- :func:`dump_entry` / :func:`load_entry`: the text of a row of the persistent cache.
- :func:`pack_entry` / :func:`unpack_entry`: what the in-process cache keeps of an entry. A tuple
  of the field values that shares every immutable value (strings, numbers) with the entry it was
  packed from and holds its lists and dicts as immutable copies (the provenance as its shared
  JSON text), so it costs one tuple per entry where the row's JSON text cost about three times
  as much (at 100,000 entries, about 90 MB). Holding no dict or list, the tuple is left alone by
  the garbage collector, whose full passes would otherwise walk 100,000 more objects. Every entry
  unpacked is a new object with containers of its own.

Neither keeps ``abs_path`` or ``mtime``: the walk that finds the file again restores them.
"""

from __future__ import annotations

import json
import operator
import sys
from typing import Any

from ckpt_tui.model.entry import FIELD_NAMES, CheckpointCatalogEntry, Issue

__all__ = ["Packed", "dump_entry", "load_entry", "pack_entry", "unpack_entry"]

Packed = tuple[Any, ...]
"""An entry as :func:`pack_entry` gives it."""

# A row: two JSON texts joined by a newline (never in compact ASCII JSON): the provenance, then
# every field in FIELD_NAMES order (issues as [severity, code, message]; abs_path, mtime and
# provenance blank). An array parses faster than an object, and provenance texts repeat.
_ABS_PATH_AT = FIELD_NAMES.index("abs_path")
_MTIME_AT = FIELD_NAMES.index("mtime")
_PROVENANCE_AT = FIELD_NAMES.index("provenance")
_ISSUES_AT = FIELD_NAMES.index("issues")
_DETAILS_AT = FIELD_NAMES.index("details")
_UNSAFE_AT = FIELD_NAMES.index("unsafe_globals")
_METRICS_AT = FIELD_NAMES.index("additional_metrics")
#: Fields whose text most entries of a tree share (the run, the model, the tier): a loaded entry
#: holds one string per distinct value, not one per entry (at 100,000 entries, about 50 MB less).
_SHARED_AT = tuple(
    FIELD_NAMES.index(name)
    for name in (
        "exp_name", "architecture", "backbone", "monitor", "monitor_mode", "source", "safety",
        "decoder", "head", "loss", "created_at", "config_path", "hydra_config_path", "format",
    )
)  # fmt: skip
#: Metrics, often equal across entries (and ``monitor_value`` to one of the others): one float
#: object per value.
_FLOATS_AT = tuple(
    FIELD_NAMES.index(name)
    for name in ("hmean", "precision", "recall", "monitor_value", "validation_loss")
)
_FLOAT_MEMO: dict[float, float] = {}
_VALUES_OF = operator.attrgetter(*FIELD_NAMES)  # every field's value at C speed
_PROVENANCE_MEMO: dict[str, dict[str, str]] = {}
_PROVENANCE_MEMO_LIMIT = 4096


def dump_entry(entry: CheckpointCatalogEntry) -> str:
    """The entry as compact JSON text, details included (``abs_path`` and ``mtime`` are not);
    ``TypeError`` / ``ValueError`` when it cannot be written."""
    row: list[Any] = [getattr(entry, name) for name in FIELD_NAMES]
    row[_ABS_PATH_AT] = ""
    row[_MTIME_AT] = None
    row[_PROVENANCE_AT] = None
    row[_ISSUES_AT] = [[issue.severity, issue.code, issue.message] for issue in entry.issues]
    row[_DETAILS_AT] = entry.details or None
    # ensure_ascii escapes lone surrogates (undecodable path bytes) that UTF-8 text refuses.
    provenance = json.dumps(entry.provenance, ensure_ascii=True, separators=(",", ":"))
    values = json.dumps(row, ensure_ascii=True, separators=(",", ":"), default=repr)
    return f"{provenance}\n{values}"


def load_entry(data: str) -> CheckpointCatalogEntry:
    """The entry :func:`dump_entry` wrote (``ValueError`` when the text is not one)."""
    provenance, _, text = data.partition("\n")
    row = json.loads(text)
    if type(row) is not list or len(row) != len(FIELD_NAMES):
        raise ValueError("not a cached entry row")
    row[_PROVENANCE_AT] = shared_provenance(provenance)
    row[_DETAILS_AT] = row[_DETAILS_AT] or {}
    for at in _SHARED_AT:
        if type(row[at]) is str:
            row[at] = sys.intern(row[at])
    if len(_FLOAT_MEMO) >= _PROVENANCE_MEMO_LIMIT:
        _FLOAT_MEMO.clear()
    for at in _FLOATS_AT:
        if type(row[at]) is float and row[at]:  # 0.0 == -0.0: never shared, keeps its sign
            row[at] = _FLOAT_MEMO.setdefault(row[at], row[at])
    try:
        row[_ISSUES_AT] = [
            Issue(severity=severity, code=code, message=message)
            for severity, code, message in row[_ISSUES_AT]
        ]
        return CheckpointCatalogEntry.from_row(row)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a cached entry: {exc}") from None


def shared_provenance(text: str) -> dict[str, str]:
    """The provenance dict of the JSON ``text``, one object for every equal text (``ValueError``
    when it is not one). Shared: nothing changes a loaded entry's provenance in place, and one
    per entry would cost ~65 MB at 100,000 entries."""
    known = _PROVENANCE_MEMO.get(text)
    if known is None:
        known = json.loads(text)
        if type(known) is not dict:
            raise ValueError("not a cached provenance")
        if len(_PROVENANCE_MEMO) >= _PROVENANCE_MEMO_LIMIT:
            _PROVENANCE_MEMO.clear()
        _PROVENANCE_MEMO[text] = known
    return known


def pack_entry(entry: CheckpointCatalogEntry, data: str) -> Packed:
    """What the in-process cache keeps of ``entry``: its field values in :data:`FIELD_NAMES`
    order, lists as tuples, ``additional_metrics`` as a tuple of items, the provenance and
    ``details`` as JSON text (``details``: ``None`` when empty) and no ``abs_path`` / ``mtime``.

    ``data`` is the entry's :func:`dump_entry` text (the provenance is taken from it).
    """
    row: list[Any] = list(_VALUES_OF(entry))
    row[_ABS_PATH_AT] = ""
    row[_MTIME_AT] = None
    for at in _SHARED_AT:  # what a rescan hands out shares its names, as a loaded entry does
        if type(row[at]) is str:
            row[at] = sys.intern(row[at])
    row[_PROVENANCE_AT] = sys.intern(data.partition("\n")[0])  # one text per distinct provenance
    row[_ISSUES_AT] = tuple(entry.issues)
    row[_UNSAFE_AT] = tuple(entry.unsafe_globals)
    row[_METRICS_AT] = tuple(entry.additional_metrics.items())
    # The details (rare outside the checkpoint tier) may nest: as text, every unpacked entry gets
    # a deep copy of its own, as a row of the cache file would give.
    details = entry.details
    row[_DETAILS_AT] = (
        json.dumps(details, ensure_ascii=True, separators=(",", ":"), default=repr)
        if details
        else None
    )
    return tuple(row)


def unpack_entry(packed: Packed) -> CheckpointCatalogEntry:
    """A new entry equal to the one :func:`pack_entry` packed (``abs_path`` blank, ``mtime``
    unknown), with lists and dicts of its own."""
    row = list(packed)
    row[_PROVENANCE_AT] = shared_provenance(packed[_PROVENANCE_AT])
    row[_ISSUES_AT] = list(packed[_ISSUES_AT])
    row[_UNSAFE_AT] = list(packed[_UNSAFE_AT])
    row[_METRICS_AT] = dict(packed[_METRICS_AT])
    details = packed[_DETAILS_AT]
    row[_DETAILS_AT] = {} if details is None else json.loads(details)
    return CheckpointCatalogEntry(*row)
