"""Text that is safe to show on a terminal.

File names are chosen by whoever wrote the files: they can hold escape sequences that move the
cursor or retitle the window, bidi overrides that reorder what is shown, or bytes that are not
UTF-8 (kept by ``os`` as lone surrogates). None of that may reach a terminal raw.
"""

from __future__ import annotations

import re
from datetime import datetime

# C0 and C1 controls, DEL, lone surrogates (undecodable bytes), bidi embeddings/overrides/isolates,
# line/paragraph separators and the BOM. Everything else prints as itself.
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]"
)
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


# Lone surrogates (undecodable bytes) cannot be encoded; C1 controls and bidi overrides can, but a
# terminal would act on them. All become \uXXXX escapes: valid JSON, the same string.
_SURROGATE = re.compile(r"[\ud800-\udfff\u007f-\u009f\u202a-\u202e\u2066-\u2069]")


def escape_surrogates_json(text: str) -> str:
    """JSON text with lone surrogates, C1 controls and bidi overrides as ``\\uXXXX`` escapes.

    ``json.dumps(..., ensure_ascii=False)`` leaves lone surrogates (undecodable path bytes) raw,
    which no UTF-8 writer accepts; the escape is valid JSON and reads back as the same string.
    """
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def iso_local_time(seconds: float | None = None) -> str:
    """``seconds`` since the epoch (default: now) as ISO 8601 local time with its UTC offset.

    The one timestamp format ckpt-tui writes (``created_at`` of a sidecar, an entry's file time):
    ``2026-12-07T18:20:24+00:00``.
    """
    moment = datetime.now() if seconds is None else datetime.fromtimestamp(seconds)
    return moment.astimezone().isoformat(timespec="seconds")
