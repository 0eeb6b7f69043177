"""How values look on screen: metrics, sizes, relative dates, and text that is safe to render.

Every string that came from a file (names, paths, messages) passes through :func:`safe` before it
is shown: control characters are escaped (a name holding an ANSI escape must never reach the
terminal raw) and long strings are truncated. Rich ``Text`` is built without markup parsing.
"""

from __future__ import annotations

from datetime import datetime, timezone

from rich.cells import cell_len, set_cell_size

from ckpt_tui.io.text import escape_for_terminal

#: Longest string ever rendered whole; longer ones are cut with a note.
MAX_TEXT = 300


def safe(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as one printable line: controls, bidi and undecodable bytes escaped
    (``ckpt_tui.io.text``), cut to ``limit`` characters."""
    text = escape_for_terminal(str(value))
    if len(text) > limit:
        cut = len(text) - limit
        return f"{text[:limit]}… (+{cut} chars)"
    return text


def metric(value: float | None) -> str | None:
    """A metric with 3 decimals, or ``None`` when unknown."""
    return None if value is None else f"{value:.3f}"


def integer(value: int | None) -> str | None:
    """An integer, or ``None`` when unknown."""
    return None if value is None else str(value)


def human_size(size: int | None) -> str | None:
    """Bytes in decimal units: ``512 B``, ``1.2 kB``, ``120.5 MB``, ``3.1 GB``."""
    if size is None:
        return None
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return None  # pragma: no cover - the loop always returns


def parse_time(stamp: str | None) -> datetime | None:
    """An ISO 8601 string as an aware datetime (naive means local time), or ``None``."""
    if not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.astimezone()


def relative_time(when: datetime | None, now: datetime) -> str | None:
    """``when`` relative to ``now``: ``just now``, ``5m ago``, ``3h ago``, ``2d ago``, ``4mo ago``,
    ``2y ago``."""
    if when is None:
        return None
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return "future"
    for limit, size, unit in (
        (60, 1, ""),
        (3600, 60, "m"),
        (86400, 3600, "h"),
        (86400 * 60, 86400, "d"),
        (86400 * 730, 86400 * 30, "mo"),
    ):
        if seconds < limit:
            return "just now" if not unit else f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds // (86400 * 365))}y ago"


def timestamp(when: datetime | None) -> str | None:
    """An absolute time for the detail pane: ``2025-10-18 14:32 UTC``."""
    if when is None:
        return None
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def ellipsize(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, ending in ``…`` when it was longer."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "…"
