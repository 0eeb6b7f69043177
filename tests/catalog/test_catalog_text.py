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
    ],
)
def test_escape_for_terminal(raw: str, shown: str) -> None:
    assert escape_for_terminal(raw) == shown


def test_surrogates_in_json_round_trip() -> None:
    value = {"path": "run\udcff/\x1b.ckpt"}
    text = escape_surrogates_json(json.dumps(value, ensure_ascii=False))
    text.encode("utf-8")  # encodable now
    assert json.loads(text) == value
