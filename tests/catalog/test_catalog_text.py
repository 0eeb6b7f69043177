"""Terminal-safe text: control, bidi and undecodable characters are shown as escapes."""

from __future__ import annotations

import json

import pytest

from ckpt_tui.io.text import escape_for_terminal, escape_surrogates_json


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain name-é_ü.ckpt", "plain name-é_ü.ckpt"),
        ("a\x1b[31mb", "a\\x1b[31mb"),
        ("t\x1b]0;title\x07", "t\\x1b]0;title\\x07"),
        ("line\nbreak\ttab\r", "line\\nbreak\\ttab\\r"),
        ("c1\x9bx\x7f", "c1\\x9bx\\x7f"),
        ("bidi\u202egnp.ckpt", "bidi\\u202egnp.ckpt"),
        ("byte\udcff", "byte\\xff"),
        ("arabic\u061cmark", "arabic\\u061cmark"),
        ("tag\U000e0041\U000e007f", "tag\\U000e0041\\U000e007f"),
        (
            "lrm\u200erlm\u200f\u2066iso\u2069\u2028\ufeff",
            "lrm\\u200erlm\\u200f\\u2066iso\\u2069\\u2028\\ufeff",
        ),
    ],
)
def test_escape_for_terminal(raw: str, shown: str) -> None:
    assert escape_for_terminal(raw) == shown


def test_surrogates_in_json_round_trip() -> None:
    value = {"path": "run\udcff/\x1b.ckpt"}
    text = escape_surrogates_json(json.dumps(value, ensure_ascii=False))
    text.encode("utf-8")  # encodable now
    assert json.loads(text) == value


UNSAFE = [chr(c) for c in (0x7F, 0x85, 0x9B, 0x61C, 0x200E, 0x200F, 0x2028, 0x2029, 0xFEFF)]
UNSAFE += [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
UNSAFE += [chr(c) for c in range(0xE0000, 0xE0080)]


@pytest.mark.parametrize("char", UNSAFE, ids=lambda char: f"U+{ord(char):04X}")
def test_json_escapes_every_unsafe_character(char: str) -> None:
    value = {"path": f"run{char}/e.ckpt"}
    text = escape_surrogates_json(json.dumps(value, ensure_ascii=False))
    assert char not in text
    assert json.loads(text) == value
    assert char not in escape_for_terminal(value["path"])
