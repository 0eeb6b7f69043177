"""Nested configuration data flattened to dotted keys, for a key-by-key comparison."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

MAX_KEYS = 20_000
"""At most this many flattened keys per configuration (a hostile file may nest absurdly)."""
MAX_PART_CHARS = 200
"""Longest part of a key path kept whole; a longer one is cut, ending in "…" and a digest of
the whole part (so two long names that start alike stay two keys)."""
MAX_KEY_CHARS = 4 * 1024 * 1024
"""All the key paths of one configuration together: aliases let a few long names be reused in
every key of a deep mapping."""
TRUNCATED_KEY = "…"
"""The key of the note that says the flattening stopped (too many keys, or too long)."""


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"encoder": {"name": "x"}}}`` → ``{"model.encoder.name": "x"}``.

    Mappings are walked; a list is one value (``[24, 40, 112]``) unless it holds mappings, whose
    keys then carry their index (``callbacks.0.monitor``). An empty mapping is a value of its
    own (``{}``), so a section that became empty still shows. Past :data:`MAX_KEYS` keys or
    :data:`MAX_KEY_CHARS` characters of key paths the walk stops and the key
    :data:`TRUNCATED_KEY` says so.
    """
    walk = _Walk()
    walk.walk(data, prefix)
    if walk.stopped:
        walk.out[TRUNCATED_KEY] = walk.stopped
    return walk.out


class _Walk:
    def __init__(self) -> None:
        self.out: dict[str, Any] = {}
        self.chars_left = MAX_KEY_CHARS
        self.stopped = ""
        self._parts: dict[int, str] = {}  # id of a long name (alive in the data) -> its cut

    def walk(self, value: Any, key: str) -> None:
        if self.stopped:
            return
        if len(self.out) >= MAX_KEYS:
            self.stopped = f"more keys not compared (over {MAX_KEYS:,})"
            return
        if isinstance(value, Mapping) and value:
            for name, item in value.items():
                self.walk(item, self._join(key, name))
                if self.stopped:
                    return
        elif isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
            for index, item in enumerate(value):
                self.walk(item, self._join(key, index))
                if self.stopped:
                    return
        elif key:
            self.out[key] = dict(value) if isinstance(value, Mapping) else value

    def _join(self, key: str, name: Any) -> str:
        part = name if isinstance(name, str) else str(name)
        if len(part) > MAX_PART_CHARS:
            # A name is cut once: aliases reuse the same string object in many keys.
            part = self._cut(part) if part is name else _cut(part)
        joined = f"{key}.{part}" if key else part
        self.chars_left -= len(joined)
        if self.chars_left < 0 and not self.stopped:
            self.stopped = f"more keys not compared (key paths over {MAX_KEY_CHARS:,} characters)"
        return joined

    def _cut(self, part: str) -> str:
        cut = self._parts.get(id(part))
        if cut is None:
            cut = self._parts[id(part)] = _cut(part)
        return cut


def _cut(part: str) -> str:
    digest = hashlib.blake2b(part.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    return f"{part[: MAX_PART_CHARS - 10]}…{digest}"


def ordered_union(maps: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of ``maps``: the first map's keys in its order, then each later map's new ones
    (so a key a later side added shows where that side has it, after the common ones)."""
    seen: dict[str, None] = {}
    for mapping in maps:
        for key in mapping:
            seen.setdefault(key, None)
    return list(seen)
