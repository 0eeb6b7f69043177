"""The catalog's columns as people read them: one definition for the TUI table and ``list``.

Each :class:`Column` says how a cell is made from an entry, how narrow and how wide it may get,
and how much it matters (:attr:`Column.priority`). :func:`fit_columns` lays the columns out in a
given width: each gets the width its data needs (:func:`data_widths`), and when they do not all
fit the least useful ones are dropped first, then the text columns are narrowed. Experiment and
File, the two that tell rows apart, are never dropped.

Cells are plain one-line strings, escaped for the terminal (a file name may hold escape
sequences or tabs); an unknown value is ``None`` (shown as :data:`NULL`, never "unknown").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, set_cell_size

from ckpt_tui.io.text import escape_for_terminal
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue

Entry = CheckpointCatalogEntry
#: How an unknown value is shown.
NULL = "—"
#: Rows measured for the columns' widths when there are more (evenly spaced through the rows).
WIDTH_SAMPLE = 400


# -- values as text ---------------------------------------------------------------------------


def text(value: object, limit: int = 200) -> str | None:
    """A name from a file as one printable line (escaped, cut to ``limit``), ``None`` if empty."""
    if value is None or value == "":
        return None
    shown = escape_for_terminal(str(value))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


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


def ellipsize(value: str, width: int) -> str:
    """``value`` cut to ``width`` cells, ending in ``…`` when it was longer."""
    if width <= 0:
        return ""
    if cell_len(value) <= width:
        return value
    return set_cell_size(value, width - 1) + "…"


# -- the columns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column: its sort field, header, how a cell is made, its width bounds and priority."""

    key: str
    """Sort field name (``ckpt_tui.catalog.sort.SORT_FIELDS``) and ``--columns`` name."""
    label: str
    """Header text."""
    cell: Callable[[Entry, datetime], str | None]
    """The cell's text, or ``None`` for unknown."""
    priority: int
    """0 is never dropped; a column with a higher number is dropped before one with a lower."""
    max_width: int
    """The widest it gets, whatever its data."""
    min_width: int = 0
    """How narrow it gets before columns of less use are dropped (text columns)."""
    right: bool = False
    """Right-aligned (numbers)."""

    @property
    def narrowest(self) -> int:
        """The narrowest it ever gets: its label and a sort arrow."""
        return cell_len(self.label) + 1


def issues_summary(entry: Entry) -> str | None:
    """The issues counted by kind, worst first: ``1 SECURITY, 2 errors, 1 warning``."""
    counts = {"security": 0, "error": 0, "warning": 0}
    for issue in entry.issues:
        kind = issue_kind(issue)
        if kind in counts:
            counts[kind] += 1
    parts = []
    if counts["security"]:
        parts.append(f"{counts['security']} SECURITY")
    for kind in ("error", "warning"):
        if counts[kind]:
            parts.append(f"{counts[kind]} {kind}{'s' if counts[kind] > 1 else ''}")
    return ", ".join(parts) or None


def _created(entry: Entry, now: datetime) -> str | None:
    return relative_time(parse_time(entry.created_at), now)


COLUMNS: tuple[Column, ...] = (
    Column("experiment", "Experiment", lambda e, _: text(e.exp_name), 0, 32, min_width=16),
    Column("file", "File", lambda e, _: text(e.file_name), 0, 40, min_width=28),
    Column("arch", "Arch", lambda e, _: text(e.architecture), 4, 14, min_width=8),
    Column("encoder", "Encoder", lambda e, _: text(e.backbone), 6, 18, min_width=9),
    Column("epoch", "Epoch", lambda e, _: integer(e.epoch), 2, 6, right=True),
    Column("step", "Step", lambda e, _: integer(e.global_step), 7, 9, right=True),
    Column("hmean", "hmean", lambda e, _: metric(e.hmean), 1, 6, right=True),
    Column("precision", "prec", lambda e, _: metric(e.precision), 5, 6, right=True),
    Column("recall", "rec", lambda e, _: metric(e.recall), 5, 6, right=True),
    Column("monitor", "Monitor", lambda e, _: text(e.monitor), 10, 16, min_width=8),
    Column("created", "Created", _created, 8, 9),
    Column("size", "Size", lambda e, _: human_size(e.size_bytes), 9, 9, right=True),
    Column("source", "Source", lambda e, _: e.source, 11, 10),
    Column("safety", "Safety", lambda e, _: e.safety, 12, 10),
    Column("issues", "Issues", lambda e, _: issues_summary(e), 13, 28, min_width=10),
)
COLUMNS_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}


def next_sort_field(field: str) -> str:
    """The sort after ``field`` when cycling: the path order, then each column in table order,
    then the path order again."""
    keys = ["path", *COLUMNS_BY_KEY]
    return keys[(keys.index(field) + 1) % len(keys)] if field in keys else keys[0]


def parse_columns(spec: str) -> tuple[str, ...]:
    """The column keys of a ``--columns`` setting (``"file,hmean,epoch"``), in the given order.

    ``ValueError`` names the choices when one is not a column."""
    keys = tuple(part.strip().lower() for part in spec.split(",") if part.strip())
    unknown = [key for key in keys if key not in COLUMNS_BY_KEY]
    if unknown or not keys:
        named = ", ".join(unknown) or repr(spec)
        raise ValueError(f"unknown column {named}; choose from {', '.join(COLUMNS_BY_KEY)}")
    return tuple(dict.fromkeys(keys))


def data_widths(
    columns: Iterable[Column],
    rows: Sequence[Entry],
    now: datetime,
    *,
    sample: int | None = WIDTH_SAMPLE,
) -> dict[str, int]:
    """Each column's width for ``rows``: its widest cell (or header and arrow), within its bounds.

    With ``sample``, at most that many rows (evenly spaced) are measured, so the cost does not
    grow with the catalog; a longer cell elsewhere is ellipsized."""
    if sample is not None and len(rows) > sample:
        step = len(rows) / sample
        measured: Sequence[Entry] = [rows[int(i * step)] for i in range(sample)]
    else:
        measured = rows
    widths: dict[str, int] = {}
    for column in columns:
        widest = column.narrowest
        for entry in measured:
            value = column.cell(entry, now)
            size = len(NULL) if value is None else cell_len(value)
            if size > widest:
                widest = size
        widths[column.key] = min(widest, max(column.max_width, column.narrowest))
    return widths


def fit_columns(
    columns: Sequence[Column],
    widths: dict[str, int],
    available: int,
    *,
    drop: bool = True,
) -> list[tuple[Column, int]]:
    """The columns shown in ``available`` cells (a space between two), in table order, with
    their widths.

    Each column gets its data width (``widths``). When they do not fit: the text columns are
    narrowed to their :attr:`Column.min_width`, widest first; then, with ``drop``, the columns
    of least use (highest :attr:`Column.priority`) are dropped, never those of priority 0; then
    the columns are narrowed down to :attr:`Column.narrowest`."""
    kept = list(columns)
    sizes = {c.key: max(c.narrowest, widths.get(c.key, c.narrowest)) for c in kept}

    def excess() -> int:
        return sum(sizes[c.key] for c in kept) + max(0, len(kept) - 1) - available

    def narrow(floor: Callable[[Column], int]) -> None:
        while excess() > 0:
            room = [c for c in kept if sizes[c.key] > floor(c)]
            if not room:
                return
            widest = max(room, key=lambda c: sizes[c.key] - floor(c))
            sizes[widest.key] -= 1

    # Only text columns (those with a min_width) are narrowed before others are dropped.
    narrow(lambda c: max(c.min_width, c.narrowest) if c.min_width else sizes[c.key])
    while drop and excess() > 0:
        candidates = [c for c in kept if c.priority > 0]
        if not candidates:
            break
        kept.remove(max(candidates, key=lambda c: (c.priority, kept.index(c))))
    # A dropped column may have left room: give it back, a cell at a time to the column
    # missing the most.
    while excess() < 0:
        short = [c for c in kept if sizes[c.key] < widths.get(c.key, 0)]
        if not short:
            break
        neediest = max(short, key=lambda c: widths[c.key] - sizes[c.key])
        sizes[neediest.key] += 1
    narrow(lambda c: c.narrowest)
    return [(column, sizes[column.key]) for column in kept]


def render_cell(column: Column, value: str | None, width: int) -> str:
    """``value`` (``None``: :data:`NULL`) fitted to ``width`` cells, aligned as the column is."""
    shown = ellipsize(NULL if value is None else value, width)
    pad = width - cell_len(shown)
    return " " * pad + shown if column.right else shown + " " * pad


def header_label(column: Column, width: int, arrow: str = "") -> str:
    """The header of ``column`` in ``width`` cells: the label and the sort ``arrow``, the label
    cut only when the column is narrower than both."""
    label = ellipsize(column.label, max(1, width - len(arrow))) + arrow
    pad = width - cell_len(label)
    return " " * pad + label if column.right else label + " " * pad


def issue_kind(issue: Issue) -> str:
    """``"security"`` for a security finding (whatever its severity), else the severity: a
    security finding is never shown as a mere error or warning."""
    return "security" if issue.code.startswith("security") else issue.severity
