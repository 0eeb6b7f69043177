"""A fast reader for the plain block-style YAML that sidecars are written in.

libyaml's ``CSafeLoader`` still builds every value in Python, which for a tree of thousands of
sidecars is most of a cold catalog build; plain line parsing reads the same sidecar faster.
Sidecars (``dump_yaml`` here, ``yaml.dump`` in the reference) use a tiny part of YAML: block
mappings and sequences, plain or simply quoted scalars, ``{}`` and ``[]``. This module reads
exactly that part and answers :data:`FALLBACK` for anything else (anchors, tags, flow
collections, multi-line scalars, comments after values, document markers, odd characters,
unusual numbers), so the caller hands the text to the real safe loader.

Whatever it accepts it reads to the same value as ``yaml.safe_load`` (a property test checks
this against PyYAML); anything it is unsure of, or any failure inside it, is :data:`FALLBACK`.
YAML's white space is the space and the tab only, and its line breaks are LF, CR, NEL, LS and PS,
so this reader never uses Python's idea of white space (``str.strip()``, regex white space,
``splitlines()``), which also counts U+00A0, U+3000 and their kin that YAML keeps as text. It
builds only ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``: nothing here
can construct an object.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ckpt_tui.io.safe_yaml import MAX_DEPTH, MAX_INT, MAX_NODES, resolve_plain_scalar


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
    [
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
    ]
)
_NULL_WORDS = frozenset(("null", "Null", "NULL"))
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_MEMO_LIMIT = 4096
_SCALARS: dict[str, Any] = {}
_STR_KEYS: set[str] = set()


class _OutsideSubset(Exception):
    """Raised inside the parser to abandon the fast path."""


# One line of the subset: indent, optional "- " entry marker, optional "key:" and the rest.
# Spaces are spelled " " (never \s) and lines end at "\n" only (the odd characters above have
# sent CR, NEL, LS and PS to the real loader): exactly where YAML splits a line. The rest keeps
# its trailing spaces, which _parse strips: a lazy "(.*?) *$" would retry the tail at every
# space of a run inside a value, quadratic in the run's length.
_LINE = re.compile(
    r"^( *)(?:(-)(?: +|$))?(?:([A-Za-z0-9_][A-Za-z0-9_./@+=-]*):(?: +|$))?(.*)$", re.MULTILINE
)


def parse_simple_yaml(text: str, duplicates: list[str] | None = None) -> Any:
    """The value of ``text``, or :data:`FALLBACK` when it is outside the simple subset.

    Never raises: any failure inside this reader means "not sure", and the caller's safe loader
    then decides (and words the error, when there is one). A number over ``MAX_INT`` is outside
    the subset, so the safe loader reports it. ``duplicates``, when given, receives the key path
    of each duplicate key (the last value wins, as in PyYAML).
    """
    try:
        # str.isprintable() is False for every odd character (and for harmless ones, such as
        # U+00A0 or U+3000), and much faster than the regex: the regex only runs for texts it
        # cannot clear.
        if not text.replace("\n", "").isprintable() and _ODD_CHARS.search(text):
            return FALLBACK
        if 3 * (text.count("\n") + 1) > MAX_NODES:
            return FALLBACK  # each line makes at most three nodes; the real loader says why
        return _parse(_LINE.findall(text), duplicates)
    except Exception:  # _OutsideSubset, RecursionError, or a bug: the safe loader decides
        return FALLBACK


def _parse(lines: list[tuple[str, str, str, str]], duplicates: list[str] | None) -> Any:
    # One pass with a stack of open blocks: (indent, container, is_sequence, key path).
    root: Any = None
    stack: list[tuple[int, Any, bool, str]] = []
    # (container, key, indent, is_sequence, key path of the slot)
    pending: tuple[Any, Any, int, bool, str] | None = None
    scalar_indent = -1  # a line deeper than a scalar's would continue it (multi-line scalar)
    for indent_text, dash, key, rest in lines:
        rest = rest.rstrip(" ")
        if not dash and not key and (not rest or rest[0] == "#"):
            continue  # blank or comment line
        indent = len(indent_text)
        if indent <= scalar_indent:
            scalar_indent = -1
        elif scalar_indent >= 0:
            raise _OutsideSubset
        if pending is not None:
            parent, slot, parent_indent, in_sequence, slot_path = pending
            pending = None
            if indent > parent_indent or (indent == parent_indent and dash and not in_sequence):
                block: Any = [] if dash else {}
                parent[slot] = block
                stack.append((indent, block, bool(dash), slot_path))
                if len(stack) > MAX_DEPTH:
                    raise _OutsideSubset
        if not stack:
            if root is not None:
                raise _OutsideSubset  # a second top-level block
            root = [] if dash else {}
            stack.append((indent, root, bool(dash), ""))
        while stack and (
            indent < stack[-1][0]
            or (indent == stack[-1][0] and stack[-1][2] and not dash and len(stack) > 1)
        ):
            stack.pop()
        if not stack or indent != stack[-1][0]:
            raise _OutsideSubset
        _indent, container, is_sequence, path = stack[-1]
        if is_sequence:
            if not dash or key:
                raise _OutsideSubset  # a mapping inside an entry's line, or a key in a list
            if rest:
                container.append(_scalar(rest))
                scalar_indent = indent
            else:
                container.append(None)
                index = len(container) - 1
                pending = (
                    container,
                    index,
                    indent,
                    True,
                    f"{path}.{index}" if path else str(index),
                )
        else:
            if dash or not key or (key not in _STR_KEYS and not _str_key(key)):
                raise _OutsideSubset
            if key in container and duplicates is not None:
                duplicates.append(f"{path}.{key}" if path else key)
            if rest:
                container[key] = _scalar(rest)
                scalar_indent = indent
            else:
                container[key] = None
                pending = (container, key, indent, False, f"{path}.{key}" if path else key)
    return root


def _str_key(key: str) -> bool:
    if not isinstance(_resolve_plain(key), str):
        return False
    if len(_STR_KEYS) > _MEMO_LIMIT:
        _STR_KEYS.clear()
    _STR_KEYS.add(key)
    return True


def _scalar(text: str) -> Any:
    # Sidecars repeat the same names, flags and small numbers: remember immutable results.
    try:
        return _SCALARS[text]
    except KeyError:
        pass
    value = _read_scalar(text)
    if not isinstance(value, (dict, list)):
        if len(_SCALARS) > _MEMO_LIMIT:
            _SCALARS.clear()
        _SCALARS[text] = value
    return value


def _read_scalar(text: str) -> Any:
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
        # Checked by length before converting: a long numeral costs, and is refused anyway.
        value = int(text) if len(text) <= 20 else MAX_INT + 1
        if abs(value) > MAX_INT:
            raise _OutsideSubset  # the safe loader names it as too large
        return value
    if _FLOAT.fullmatch(text):
        return float(text)
    tag = resolve_plain_scalar(text)
    if tag == _STR_TAG:
        return text
    if tag == _NULL_TAG:
        return None
    raise _OutsideSubset  # timestamps, octal, sexagesimal, .inf, merge keys, ...
