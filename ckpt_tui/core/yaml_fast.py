"""A fast reader for the plain block-style YAML that sidecars are written in.

libyaml's ``CSafeLoader`` still builds every value in Python and costs about half a millisecond
per 2 KB sidecar on a slow core, which alone would put a 10,000-sidecar build over its budget.
Sidecars (``dump_yaml`` here, ``yaml.dump`` in the reference) use a tiny part of YAML: block
mappings and sequences, plain or simply quoted scalars, ``{}`` and ``[]``. This module reads
exactly that part and answers :data:`FALLBACK` for anything else (anchors, tags, flow
collections, multi-line scalars, comments after values, document markers, odd characters,
unusual numbers), so the caller hands the text to the real safe loader.

Whatever it accepts it reads to the same value as ``yaml.safe_load`` (a property test checks
this against PyYAML), and it builds only ``dict``, ``list``, ``str``, ``int``, ``float``,
``bool`` and ``None``: nothing here can construct an object.
"""

from __future__ import annotations

import re
from typing import Any, Final

import yaml

from ckpt_tui.core.safe_yaml import MAX_DEPTH, MAX_NODES


class _Fallback:
    """The text is outside the subset: parse it with the full safe loader."""

    def __repr__(self) -> str:
        return "FALLBACK"


FALLBACK: Final = _Fallback()
"""Returned by :func:`parse_simple_yaml` when the text needs the full safe loader."""

# Characters that libyaml refuses or treats specially (tabs, CR, NEL, line separators, BOM,
# controls, surrogates): any of them sends the whole text to the real loader.
_ODD_CHARS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
# Plain scalars may not start with an indicator; "-x" is fine, "- x" is a sequence entry.
_PLAIN_START_BAD = frozenset("?:,[]{}#&*!|>'\"%@`")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?|\.[0-9]+(?:[eE][-+][0-9]+)?")
_BOOLS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_BOOL_WORDS = frozenset(
    "yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF".split()
)
_NULL_WORDS = frozenset(("null", "Null", "NULL"))
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_RESOLVER = yaml.resolver.Resolver()


class _OutsideSubset(Exception):
    """Raised inside the parser to abandon the fast path."""


# One line of the subset: indent, optional "- " entry marker, optional "key:" and the rest.
_LINE = re.compile(
    r"^( *)(?:(-)(?: +|$))?(?:([A-Za-z0-9_][A-Za-z0-9_./@+=-]*):(?: +|$))?(.*?) *$", re.MULTILINE
)
# (indent, is_entry, key or "", rest or "")
_Line = tuple[int, bool, str, str]


def parse_simple_yaml(text: str) -> Any:
    """The value of ``text``, or :data:`FALLBACK` when it is outside the simple subset."""
    if _ODD_CHARS.search(text):
        return FALLBACK
    lines: list[_Line] = []
    for indent, dash, key, rest in _LINE.findall(text):
        if not dash and not key and (not rest or rest[0] == "#"):
            continue  # blank or comment line
        lines.append((len(indent), bool(dash), key, rest))
    if not lines:
        return None
    if 3 * len(lines) > MAX_NODES:
        return FALLBACK  # each line makes at most three nodes; the real loader enforces the budget
    try:
        value, end = _block(lines, 0, lines[0][0], 0)
    except (_OutsideSubset, RecursionError):
        return FALLBACK
    return value if end == len(lines) else FALLBACK


def _block(lines: list[_Line], i: int, indent: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise _OutsideSubset
    if lines[i][1]:
        return _sequence(lines, i, indent, depth)
    return _mapping(lines, i, indent, depth)


def _mapping(lines: list[_Line], i: int, indent: int, depth: int) -> tuple[dict[str, Any], int]:
    n = len(lines)
    result: dict[str, Any] = {}
    while i < n:
        line_indent, entry, key, rest = lines[i]
        if line_indent != indent:
            if line_indent > indent:
                raise _OutsideSubset
            break
        if entry or not key or not isinstance(_resolve_plain(key), str):
            raise _OutsideSubset
        i += 1
        if rest:
            result[key] = _scalar(rest)
            if i < n and lines[i][0] > indent:
                raise _OutsideSubset  # a continued (multi-line) scalar
        elif i < n and (lines[i][0] > indent or (lines[i][0] == indent and lines[i][1])):
            result[key], i = _block(lines, i, lines[i][0], depth + 1)
        else:
            result[key] = None
    return result, i


def _sequence(lines: list[_Line], i: int, indent: int, depth: int) -> tuple[list[Any], int]:
    n = len(lines)
    items: list[Any] = []
    while i < n:
        line_indent, entry, key, rest = lines[i]
        if line_indent != indent or not entry:
            if line_indent > indent:
                raise _OutsideSubset
            break
        if key:
            raise _OutsideSubset  # a mapping started on the entry's line
        i += 1
        if rest:
            items.append(_scalar(rest))
            if i < n and lines[i][0] > indent:
                raise _OutsideSubset
        elif i < n and lines[i][0] > indent:
            value, i = _block(lines, i, lines[i][0], depth + 1)
            items.append(value)
        else:
            items.append(None)
    return items, i


def _scalar(text: str) -> Any:
    first = text[0]
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            raise _OutsideSubset
        return inner.replace("''", "'")
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            raise _OutsideSubset
        return inner
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if (
        first in _PLAIN_START_BAD
        or (first == "-" and (len(text) == 1 or text[1] == " "))
        or ": " in text
        or " #" in text
        or text.endswith(":")
        or text in ("---", "...")
    ):
        raise _OutsideSubset
    return _resolve_plain(text)


def _resolve_plain(text: str) -> Any:
    """A plain scalar's value, as YAML 1.1's implicit resolvers (PyYAML's) would type it."""
    first = text[0]
    if first.isalpha() or first == "_":
        # Only bool and null resolvers apply to a scalar starting with a letter (PyYAML keys its
        # resolvers by first character); checking those words directly skips the regex walk.
        if first in "yYnNtTfFoO":
            if text in _BOOL_WORDS:
                return _BOOLS[text.lower()]
            if text in _NULL_WORDS:
                return None
        return text
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    if tag == _STR_TAG:
        return text
    if tag == _NULL_TAG:
        return None
    raise _OutsideSubset  # timestamps, octal, sexagesimal, .inf, merge keys, ...
