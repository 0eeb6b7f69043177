"""Nested configuration data flattened to dotted keys, for a key-by-key comparison."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MAX_KEYS = 20_000
"""At most this many flattened keys per configuration (a hostile file may nest absurdly)."""


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"encoder": {"name": "x"}}}`` → ``{"model.encoder.name": "x"}``.

    Mappings are walked; a list is one value (``[24, 40, 112]``) unless it holds mappings, whose
    keys then carry their index (``callbacks.0.monitor``). An empty mapping is a value of its
    own (``{}``), so a section that became empty still shows.
    """
    out: dict[str, Any] = {}
    _walk(data, prefix, out)
    return out


def _walk(value: Any, key: str, out: dict[str, Any]) -> None:
    if len(out) >= MAX_KEYS:
        return
    if isinstance(value, Mapping) and value:
        for name, item in value.items():
            _walk(item, f"{key}.{name}" if key else str(name), out)
    elif isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
        for index, item in enumerate(value):
            _walk(item, f"{key}.{index}" if key else str(index), out)
    elif key:
        out[key] = dict(value) if isinstance(value, Mapping) else value


def ordered_union(maps: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of ``maps``: the first map's keys in its order, then each later map's new ones
    (so a key a later side added shows where that side has it, after the common ones)."""
    seen: dict[str, None] = {}
    for mapping in maps:
        for key in mapping:
            seen.setdefault(key, None)
    return list(seen)
