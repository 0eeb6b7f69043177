"""Text that is safe to show on a terminal.

File names are chosen by whoever wrote the files: they can hold escape sequences that move the
cursor or retitle the window, bidi overrides that reorder what is shown, or bytes that are not
UTF-8 (kept by ``os`` as lone surrogates). None of that may reach a terminal raw.
"""

from __future__ import annotations

import re
from datetime import datetime

# C0 and C1 controls, DEL, lone surrogates (undecodable bytes), bidi marks (U+061C, U+200E/F),
# embeddings/overrides/isolates, line/paragraph separators, the BOM and the tag characters
# (invisible, and able to smuggle ASCII text past a reader). Everything else prints as itself.
_UNSAFE_ABOVE_C0 = (
    "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff\U000e0000-\U000e007f"
)
_UNSAFE = re.compile(f"[\x00-\x1f{_UNSAFE_ABOVE_C0}\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:
        # os.fsdecode's surrogateescape: U+DC80..U+DCFF stand for the raw bytes 0x80..0xFF.
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code > 0xFFFF:
        return f"\\U{code:08x}"
    return f"\\u{code:04x}"


def escape_for_terminal(text: str) -> str:
    """``text`` with every control, bidi and undecodable character shown as a backslash escape.

    ``"a\\x1b[31mb"`` becomes ``"a\\\\x1b[31mb"``; a name holding the undecodable byte 0xff shows
    as ``\\xff``. Printable text, including non-ASCII letters, is unchanged.
    """
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(lambda match: _escape_char(match.group()), text)


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """``text`` with its lone surrogates (undecodable file-name bytes) as backslash escapes.

    UTF-8 (YAML, a terminal) cannot hold them; the byte 0xff shows as ``\\xff``, as everywhere
    else in ckpt-tui. Everything else is unchanged.
    """
    if text.isascii() or not _LONE_SURROGATE.search(text):
        return text
    return _LONE_SURROGATE.sub(lambda match: _escape_char(match.group()), text)


# Lone surrogates (undecodable bytes) cannot be encoded; DEL, C1 controls, bidi marks and the other
# characters escape_for_terminal escapes can, but a terminal would act on them or hide them. All
# become \uXXXX escapes (a surrogate pair above U+FFFF): valid JSON, the same string. C0 controls
# are already escaped by json.dumps.
_SURROGATE = re.compile(f"[{_UNSAFE_ABOVE_C0}\ud800-\udfff]")


def _json_escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def escape_surrogates_json(text: str) -> str:
    """JSON text with lone surrogates, controls, bidi and tag characters as ``\\uXXXX`` escapes.

    ``json.dumps(..., ensure_ascii=False)`` leaves lone surrogates (undecodable path bytes) raw,
    which no UTF-8 writer accepts; the escape is valid JSON and reads back as the same string.
    Only use it on JSON text: a C0 control there is already escaped, or is JSON's own white space.
    """
    return _SURROGATE.sub(lambda match: _json_escape(match.group()), text)


def shorten(text: str, limit: int) -> str:
    """``text``, or its first ``limit - 1`` characters and "…" when it is longer."""
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def cut_counted(text: str, keep: int) -> str:
    """``text`` reduced to its first ``keep`` characters, saying how many were cut:
    ``abc… (+12 chars)``; ``text`` itself when it is no longer."""
    if len(text) <= keep:
        return text
    return f"{text[:keep]}… (+{len(text) - keep} chars)"


def plural(count: int, noun: str) -> str:
    """``1 file``, ``3 files``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def iso_local_time(seconds: float | None = None) -> str:
    """``seconds`` since the epoch (default: now) as ISO 8601 local time with its UTC offset.

    The one timestamp format ckpt-tui writes (``created_at`` of a sidecar, an entry's file time):
    ``2026-12-07T18:20:24+00:00``.
    """
    moment = datetime.now() if seconds is None else datetime.fromtimestamp(seconds)
    return moment.astimezone().isoformat(timespec="seconds")
