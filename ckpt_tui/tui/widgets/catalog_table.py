"""The catalog table: one row per checkpoint, rendered lazily so 10,000 rows stay instant.

Textual's ``DataTable`` measures every cell of every row it is given, so sorting or filtering a
large catalog by rebuilding it would take seconds at 10,000 rows (``make bench``). This widget
uses the Line API instead: replacing the rows is a list assignment and only the visible lines are
ever formatted. The leading mark/flag column and Experiment stay in place while the other
columns scroll sideways. The flag is the safety verdict when it matters (``☠`` unsafe: loading
would run code outside the allowlist; ``ƒ`` a TorchScript or torch.export archive), else the
worst issue (``✗`` error, ``!`` warning).

| key | action |
|---|---|
| ↑ ↓ / k j | move the cursor |
| PgUp PgDn Home End | move by a page / to the ends |
| ← → | scroll the columns sideways |
| enter | select the row (the screen focuses the detail pane) |

A click on a row moves the cursor; a click on a header posts :class:`CatalogTable.HeaderClicked`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui import formatting as fmt

Entry = CheckpointCatalogEntry


@dataclass(frozen=True)
class Column:
    """One table column: its sort field, header, width and how a cell is made."""

    key: str
    """Sort field name (``ckpt_tui.catalog.sort.SORT_FIELDS``)."""
    label: str
    """Header text."""
    width: int
    """Width in cells (the Experiment column's minimum: it takes the spare width)."""
    cell: Callable[[Entry, datetime], str | None]
    """The cell's text, or ``None`` for unknown (shown as a dim dash)."""
    right: bool = False
    """Right-align (numbers)."""


COLUMNS: tuple[Column, ...] = (
    Column("experiment", "Experiment", 14, lambda e, _: fmt.safe(e.exp_name, 200) or None),
    Column("arch", "Arch", 8, lambda e, _: e.architecture and fmt.safe(e.architecture, 80)),
    Column("encoder", "Encoder", 12, lambda e, _: e.backbone and fmt.safe(e.backbone, 80)),
    Column("epoch", "Epoch", 5, lambda e, _: fmt.integer(e.epoch), right=True),
    Column("step", "Step", 7, lambda e, _: fmt.integer(e.global_step), right=True),
    Column("hmean", "hmean", 6, lambda e, _: fmt.metric(e.hmean), right=True),
    Column("precision", "prec", 5, lambda e, _: fmt.metric(e.precision), right=True),
    Column("recall", "rec", 5, lambda e, _: fmt.metric(e.recall), right=True),
    Column("monitor", "Monitor", 10, lambda e, _: e.monitor and fmt.safe(e.monitor, 80)),
    Column(
        "created",
        "Created",
        8,
        lambda e, now: fmt.relative_time(fmt.parse_time(e.created_at), now),
    ),
    Column("size", "Size", 8, lambda e, _: fmt.human_size(e.size_bytes), right=True),
    Column("source", "Source", 10, lambda e, _: e.source),
)
#: Cells before the first column: the mark (●) and the flag (☠ unsafe, ƒ code, ✗, !).
GUTTER = 2
EXPERIMENT_MAX = 40
#: Columns kept on screen before Experiment grows: up to and including recall.
KEEP_VISIBLE = 8
NULL = "—"


class CatalogTable(ScrollView, can_focus=True):
    """A lazily rendered table of checkpoint entries with a row cursor and marks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home", "first", "First", show=False, id="table.first"),
        Binding("end", "last", "Last", show=False, id="table.last"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="table.left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="table.right"),
        Binding("enter", "select", "Details", show=False, id="table.select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "catalog-table--header",
        "catalog-table--sorted",
        "catalog-table--cursor",
        "catalog-table--null",
        "catalog-table--marked",
        "catalog-table--error",
        "catalog-table--warning",
        "catalog-table--security",
        "catalog-table--code",
    }

    DEFAULT_CSS = """
    CatalogTable { background: $surface; scrollbar-gutter: stable; }
    CatalogTable > .catalog-table--header { text-style: bold; background: $panel; }
    CatalogTable > .catalog-table--sorted { text-style: bold underline; background: $panel; }
    CatalogTable > .catalog-table--cursor { background: $block-cursor-blurred-background; }
    CatalogTable:focus > .catalog-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
    }
    CatalogTable > .catalog-table--null { color: $text-muted; }
    CatalogTable > .catalog-table--marked { color: $accent; text-style: bold; }
    CatalogTable > .catalog-table--error { color: $error; text-style: bold; }
    CatalogTable > .catalog-table--warning { color: $warning; text-style: bold; }
    CatalogTable > .catalog-table--security { color: $error; text-style: bold reverse; }
    CatalogTable > .catalog-table--code { color: magenta; text-style: bold; }
    """

    cursor_row: reactive[int] = reactive(0, always_update=False)
    """Index of the highlighted row in the current rows."""

    class Highlighted(Message):
        """The cursor moved to another entry (``None`` when the table is empty)."""

        def __init__(self, entry: Entry | None) -> None:
            super().__init__()
            self.entry = entry

    class Selected(Message):
        """Enter was pressed on an entry."""

        def __init__(self, entry: Entry) -> None:
            super().__init__()
            self.entry = entry

    class HeaderClicked(Message):
        """A column header was clicked: sort by ``field``."""

        def __init__(self, field: str) -> None:
            super().__init__()
            self.field = field

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._now = now
        self.rows: list[Entry] = []
        """The entries shown, in display order."""
        self.marks: set[str] = set()
        """Checkpoint paths of marked rows (shared with the screen)."""
        self._sort: tuple[str, bool] | None = None
        self._cells: dict[int, list[str | None]] = {}
        self._exp_width = COLUMNS[0].width
        self._last_highlight: str | None = None

    # -- public API -------------------------------------------------------------------------

    @property
    def cursor_entry(self) -> Entry | None:
        """The highlighted entry, if any."""
        if 0 <= self.cursor_row < len(self.rows):
            return self.rows[self.cursor_row]
        return None

    def set_rows(self, rows: list[Entry], *, follow: bool = True) -> None:
        """Show ``rows``. With ``follow`` the cursor stays on the same checkpoint when it is
        still shown (live updates); otherwise it goes to the first row (a new sort or filter)."""
        current = self.cursor_entry if follow else None
        path = current.checkpoint_path if current else None
        self.rows = rows
        self._cells.clear()
        index = None
        if path is not None:
            index = next((i for i, e in enumerate(rows) if e.checkpoint_path == path), None)
        if index is None:
            index = self.cursor_row if follow else 0
        self._update_virtual_size()
        self.cursor_row = index
        self._scroll_to_cursor()
        self._announce()
        self.refresh()

    def set_sort(self, field: str | None, descending: bool) -> None:
        """Show which column the rows are sorted by (an arrow in its header)."""
        self._sort = None if field is None else (field, descending)
        self.refresh()

    def refresh_marks(self) -> None:
        """Repaint after :attr:`marks` changed."""
        self.refresh()

    def move_to(self, index: int) -> None:
        """Move the cursor to row ``index`` (clamped to the rows)."""
        self.cursor_row = index

    # -- actions ----------------------------------------------------------------------------

    def action_cursor_up(self) -> None:
        """Move up one row."""
        self.move_to(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        """Move down one row."""
        self.move_to(self.cursor_row + 1)

    def action_page_up(self) -> None:
        """Move up one page."""
        self.move_to(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        """Move down one page."""
        self.move_to(self.cursor_row + self._page())

    def action_first(self) -> None:
        """Move to the first row."""
        self.move_to(0)

    def action_last(self) -> None:
        """Move to the last row."""
        self.move_to(len(self.rows) - 1)

    def action_select(self) -> None:
        """Post :class:`Selected` for the highlighted entry."""
        entry = self.cursor_entry
        if entry is not None:
            self.post_message(self.Selected(entry))

    # -- reactive plumbing ------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        """Keep the cursor on a row (0 when there are none)."""
        return max(0, min(row, len(self.rows) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        entry = self.cursor_entry
        path = entry.checkpoint_path if entry else None
        # Post on every change of the highlighted entry, including "same index, new entry".
        key = f"{path}\0{id(entry)}"
        if key != self._last_highlight:
            self._last_highlight = key
            self.post_message(self.Highlighted(entry))

    def _page(self) -> int:
        return max(1, self.size.height - 2)

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif not self.rows:
            self.scroll_to(y=0, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self._scroll_to_cursor()

    def _update_virtual_size(self) -> None:
        # Experiment takes what is left once the columns up to recall fit (so the metrics stay
        # on screen at 80-100 columns), within [its minimum, EXPERIMENT_MAX].
        core = sum(column.width + 1 for column in COLUMNS[1:KEEP_VISIBLE])
        spare = self.scrollable_content_region.width - GUTTER - 1 - core - 1
        self._exp_width = max(COLUMNS[0].width, min(EXPERIMENT_MAX, spare))
        others = sum(column.width + 1 for column in COLUMNS[1:])
        self.virtual_size = Size(GUTTER + 1 + self._exp_width + others, len(self.rows) + 1)

    # -- mouse ------------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            field = self._column_at(event.x)
            if field is not None:
                self.post_message(self.HeaderClicked(field))
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.rows):
            self.cursor_row = index
            if event.chain > 1:
                self.action_select()

    def _column_at(self, x: int) -> str | None:
        fixed = GUTTER + 1 + self._exp_width
        if x < fixed:
            return COLUMNS[0].key if x >= GUTTER else None
        offset = fixed + 1 - int(self.scroll_x)
        for column in COLUMNS[1:]:
            if x < offset + column.width:
                return column.key if x >= offset else None
            offset += column.width + 1
        return None

    # -- rendering --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """One screen line: the header at the top, then the rows from the scroll offset."""
        width = self.size.width
        if y == 0:
            return self._join_parts(self._header_segments(), width)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        return self._join_parts(self._row_segments(index), width)

    def _join_parts(self, parts: tuple[list[Segment], list[Segment]], width: int) -> Strip:
        fixed, rest = parts
        fixed_strip = Strip(fixed)
        rest_strip = Strip(rest).crop(int(self.scroll_x), int(self.scroll_x) + width)
        return Strip.join([fixed_strip, rest_strip]).adjust_cell_length(width, self.rich_style)

    def _header_segments(self) -> tuple[list[Segment], list[Segment]]:
        header = self.get_component_rich_style("catalog-table--header")
        sorted_style = self.get_component_rich_style("catalog-table--sorted")
        fixed: list[Segment] = [Segment(" " * (GUTTER + 1), header)]
        rest: list[Segment] = []
        for i, column in enumerate(COLUMNS):
            label = column.label
            style = header
            if self._sort is not None and self._sort[0] == column.key:
                label = f"{label}{'↓' if self._sort[1] else '↑'}"
                style = sorted_style
            width = self._exp_width if i == 0 else column.width
            text = fmt.ellipsize(label, width)
            text = text.rjust(width) if column.right else text.ljust(width)
            target = fixed if i == 0 else rest
            target.append(Segment(text, style))
            target.append(Segment(" ", header))
        return fixed, rest

    def _row_segments(self, index: int) -> tuple[list[Segment], list[Segment]]:
        entry = self.rows[index]
        cells = self._cells.get(index)
        if cells is None:
            now = self._now()
            cells = [column.cell(entry, now) for column in COLUMNS]
            self._cells[index] = cells
        base = self.rich_style
        if index == self.cursor_row:
            base = base + self.get_component_rich_style("catalog-table--cursor")
        null = base + self._partial("catalog-table--null")
        fixed: list[Segment] = [*self._gutter(entry, base), Segment(" ", base)]
        rest: list[Segment] = []
        for i, (column, value) in enumerate(zip(COLUMNS, cells, strict=True)):
            width = self._exp_width if i == 0 else column.width
            style: Style = base if value is not None else null
            text = fmt.ellipsize(value if value is not None else NULL, width)
            text = text.rjust(width) if column.right else text.ljust(width)
            target = fixed if i == 0 else rest
            target.append(Segment(text, style))
            target.append(Segment(" ", base))
        return fixed, rest

    def _gutter(self, entry: Entry, base: Style) -> list[Segment]:
        marked = entry.checkpoint_path in self.marks
        mark = Segment(
            "●" if marked else " ",
            base + self._partial("catalog-table--marked"),
        )
        severities = {issue.severity for issue in entry.issues}
        # The verdict outranks the issue flags: a checkpoint that would run code on load must
        # never look like one with a mere warning.
        verdict = fmt.safety_marker(entry)
        if verdict == fmt.UNSAFE_GLYPH:
            flag = Segment(verdict, base + self._partial("catalog-table--security"))
        elif verdict == fmt.CODE_GLYPH:
            flag = Segment(verdict, base + self._partial("catalog-table--code"))
        elif "error" in severities:
            flag = Segment("✗", base + self._partial("catalog-table--error"))
        elif "warning" in severities:
            flag = Segment("!", base + self._partial("catalog-table--warning"))
        else:
            flag = Segment(" ", base)
        return [mark, flag]

    def _partial(self, name: str) -> Style:
        # Only the attributes the class sets, so the cursor's background shows through.
        return self.get_component_rich_style(name, partial=True)
