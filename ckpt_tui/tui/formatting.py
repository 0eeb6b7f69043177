"""How values look on screen: metrics, sizes, relative dates, and text that is safe to render.

Every string that came from a file (names, paths, messages) passes through :func:`safe` before it
is shown: control characters are escaped (a name holding an ANSI escape must never reach the
terminal raw) and long strings are truncated. Rich ``Text`` is built without markup parsing.
A path is copied to the clipboard only when :func:`copy_refusal` finds nothing in it to refuse.
The safety verdict's markers (:func:`safety_marker`) are the same in every screen. The value
formats (metrics, sizes, relative dates) are the catalog columns' own, re-exported here.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone

from ckpt_tui.catalog.columns import ellipsize as ellipsize
from ckpt_tui.catalog.columns import human_size as human_size
from ckpt_tui.catalog.columns import integer as integer
from ckpt_tui.catalog.columns import metric as metric
from ckpt_tui.catalog.columns import parse_time as parse_time
from ckpt_tui.catalog.columns import relative_time as relative_time
from ckpt_tui.io.text import cut_counted, escape_for_terminal
from ckpt_tui.model.entry import CheckpointCatalogEntry

#: Longest string ever rendered whole; longer ones are cut with a note.
MAX_TEXT = 300

# Every character a terminal (or a program the text is pasted into) could act on or that
# reorders what is shown: C0, DEL, C1, the Arabic letter mark, the bidi marks, embeddings,
# overrides and isolates, the line and paragraph separators, the BOM, the tag characters, and
# lone surrogates (undecodable file-name bytes, which no clipboard encoding can carry).
_NOT_COPYABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ufeff\ud800-\udfff\U000e0000-\U000e007f]"
)
# What ``escape_for_terminal`` may leave raw of the above: escaped here as well, so the screen
# never shows them whatever that function covers.
_EXTRA_ESCAPES = re.compile("[\u061c\U000e0000-\U000e007f]")

#: The table's marker for an ``unsafe`` checkpoint (loading it would run a global outside the
#: allowlist): distinct from the issue flags ``✗`` (error) and ``!`` (warning).
UNSAFE_GLYPH = "☠"
#: The table's marker for a ``code`` checkpoint (a TorchScript or torch.export archive).
CODE_GLYPH = "ƒ"


def safe(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as one printable line: controls, bidi and undecodable bytes escaped
    (``ckpt_tui.io.text``), cut to ``limit`` characters."""
    text = escape_for_terminal(str(value))
    if _EXTRA_ESCAPES.search(text):
        text = _EXTRA_ESCAPES.sub(lambda match: _escape(match.group()), text)
    return cut_counted(text, limit)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def copy_refusal(text: str) -> str | None:
    """Why ``text`` must not be copied to the clipboard, or ``None`` when it may be.

    A pasted control character can run a command (a newline, or ``ESC[201~`` ending a
    bracketed paste early), and a bidi character makes the pasted text differ from what is
    shown; an escaped form would be a different path, so such a path is not copied at all.
    """
    found = _NOT_COPYABLE.search(text)
    if found is None:
        return None
    char = found.group()
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        kind = "a control character"
    elif 0xD800 <= code <= 0xDFFF:
        kind = "bytes that are not UTF-8"
    elif code in (0x2028, 0x2029):
        kind = "a line separator"
    elif 0xE0000 <= code <= 0xE007F:
        kind = "an invisible tag character"
    else:
        kind = "a bidi or invisible formatting character"
    return f"the path holds {kind} ({safe(char)})"


def is_unsafe(entry: CheckpointCatalogEntry) -> bool:
    """Whether loading ``entry``'s file would run a global outside the allowlist."""
    return entry.safety == "unsafe" or bool(entry.unsafe_globals)


def safety_marker(entry: CheckpointCatalogEntry) -> str | None:
    """The verdict's one-cell marker: :data:`UNSAFE_GLYPH`, :data:`CODE_GLYPH`, or ``None``
    (``safe``, ``unchecked`` and ``unreadable`` have none: the issue flags cover a read
    that failed)."""
    if is_unsafe(entry):
        return UNSAFE_GLYPH
    if entry.safety == "code":
        return CODE_GLYPH
    return None


def timestamp(when: datetime | None) -> str | None:
    """An absolute time for the detail pane: ``2025-10-18 14:32 UTC``."""
    if when is None:
        return None
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` as the user knows it: the URL when it is a remote root's local stand-in."""
    from ckpt_tui.io.storage import public_path

    return public_path(path)
