"""The catalog table: one row per checkpoint, rendered lazily so 100,000 rows stay instant.

Textual's ``DataTable`` measures every cell of every row it is given, so sorting or filtering a
large catalog by rebuilding it would take seconds at 10,000 rows (``make bench``). This widget
uses the Line API instead: replacing the rows is a list assignment and only the visible lines are
ever formatted (``table_render``). The columns (``ckpt_tui.catalog.columns``) take the width
their data needs; those of least use are dropped when the screen is too narrow, unless chosen
with :meth:`CatalogTable.choose_columns`. The mark/flag gutter, Experiment and File stay in
place while the other columns scroll sideways. The flag is the safety verdict when it matters
(``☠`` reversed red: a security finding, e.g. loading would run code outside the allowlist;
``ƒ`` a TorchScript or torch.export archive), else the worst issue (``✗`` error, ``!`` warning).

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

from ckpt_tui.catalog.columns import COLUMNS, COLUMNS_BY_KEY, Column, data_widths, fit_columns
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui.widgets.table_render import (
    GUTTER,
    TableStyles,
    frozen_count,
    header_parts,
    row_parts,
)

Entry = CheckpointCatalogEntry
#: A column's place in the cached cells of a row.
COLUMN_INDEX: dict[str, int] = {column.key: i for i, column in enumerate(COLUMNS)}


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

    class LayoutChanged(Message):
        """Other columns are shown (the width or the chosen columns changed)."""

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
        self._chosen: tuple[str, ...] | None = None
        self._widths: dict[str, int] = {}
        self.column_layout: list[tuple[Column, int]] = []
        """The columns shown and their widths, in table order."""
        self._shown_keys: list[str] = []
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
        self._widths = data_widths(COLUMNS, rows, self._now())
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

    @property
    def chosen_columns(self) -> tuple[str, ...] | None:
        """The columns chosen (in order), or ``None``: every column that fits, by priority."""
        return self._chosen

    def choose_columns(self, keys: tuple[str, ...] | None) -> None:
        """Show exactly ``keys`` (never dropped: ← → scroll to them), or with ``None`` every
        column that fits the width."""
        self._chosen = keys
        self._cells.clear()
        self._update_virtual_size()
        self.refresh()

    def toggle_column(self, key: str) -> None:
        """Show column ``key`` if it is not on the table, else hide it (the columns shown
        become the chosen ones)."""
        shown = [column.key for column, _width in self.column_layout]
        if key in shown:
            keys = [k for k in shown if k != key]
        else:
            order = list(COLUMNS_BY_KEY)
            keys = sorted([*shown, key], key=order.index)
        self.choose_columns(tuple(keys) or None)

    def shows_column(self, key: str) -> bool:
        """Whether column ``key`` is on the table (it may be scrolled sideways)."""
        return any(column.key == key for column, _width in self.column_layout)

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

    def _visible_rows(self) -> int:
        # The region inside the scrollbars: a horizontal scrollbar covers the last line.
        return max(1, self.scrollable_content_region.height - 1)

    def _page(self) -> int:
        return max(1, self._visible_rows() - 1)

    def _scroll_to_cursor(self) -> None:
        visible = self._visible_rows()
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
        # The gutter and a space after it, and a space after every column.
        available = self.scrollable_content_region.width - GUTTER - 2
        if self._chosen is None:
            self.column_layout = fit_columns(COLUMNS, self._widths, available)
        else:
            # Chosen columns keep their data widths: ← → scroll to those that do not fit.
            chosen = [COLUMNS_BY_KEY[key] for key in self._chosen]
            self.column_layout = [(c, self._widths.get(c.key, c.narrowest)) for c in chosen]
        shown = [column.key for column, _size in self.column_layout]
        if shown != self._shown_keys:
            self._shown_keys = shown
            self.post_message(self.LayoutChanged())
        width = GUTTER + 1 + sum(size + 1 for _column, size in self.column_layout)
        self.virtual_size = Size(width, len(self.rows) + 1)

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
        if x < GUTTER + 1:
            return None
        frozen = frozen_count(self.column_layout)
        offset = GUTTER + 1
        for i, (column, width) in enumerate(self.column_layout):
            if i == frozen:  # the scrolled part starts here
                offset -= int(self.scroll_x)
            if x < offset + width:
                return column.key if x >= offset else None
            offset += width + 1
        return None

    # -- rendering --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """One screen line: the header at the top, then the rows from the scroll offset."""
        width = self.size.width
        styles = self._styles()
        if y == 0:
            return self._join(header_parts(self.column_layout, self._sort, styles), width)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        entry = self.rows[index]
        cells = self._cells.get(index)
        if cells is None:
            now = self._now()
            cells = self._cells[index] = [column.cell(entry, now) for column in COLUMNS]
        shown = [cells[COLUMN_INDEX[column.key]] for column, _width in self.column_layout]
        base = self.rich_style
        if index == self.cursor_row:
            base = base + styles.cursor
        marked = entry.checkpoint_path in self.marks
        parts = row_parts(entry, shown, self.column_layout, base=base, marked=marked, styles=styles)
        return self._join(parts, width)

    def _join(self, parts: tuple[list[Segment], list[Segment]], width: int) -> Strip:
        fixed, rest = parts
        scroll_x = int(self.scroll_x)
        rest_strip = Strip(rest).crop(scroll_x, scroll_x + width)
        return Strip.join([Strip(fixed), rest_strip]).adjust_cell_length(width, self.rich_style)

    def _styles(self) -> TableStyles:
        def partial(name: str) -> Style:
            # Only the attributes the class sets, so the cursor's background shows through.
            return self.get_component_rich_style(f"catalog-table--{name}", partial=True)

        return TableStyles(
            header=self.get_component_rich_style("catalog-table--header"),
            sorted=self.get_component_rich_style("catalog-table--sorted"),
            cursor=self.get_component_rich_style("catalog-table--cursor"),
            null=partial("null"),
            marked=partial("marked"),
            error=partial("error"),
            warning=partial("warning"),
            security=partial("security"),
            code=partial("code"),
        )
