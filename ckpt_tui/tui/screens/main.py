"""The main screen: the catalog table, the detail pane, the filter box and the status line.

It owns the view state (filter, sort, marks; the table owns the cursor) and the catalog workers;
the entries live in a :class:`~ckpt_tui.catalog.updates.CatalogState`, and the filtering, sorting
and scanning themselves are library functions; so is the safety verdict read after a scan. Its
keys are :attr:`MainScreen.BINDINGS` (the help screen lists them all: ``ckpt_tui.tui.keys``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.widgets import Header

from ckpt_tui.catalog.columns import next_sort_field
from ckpt_tui.catalog.filter import EntryFilter
from ckpt_tui.catalog.sort import DESCENDING_FIRST, sort_entries
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui.commands import PaletteCommand, catalog_commands
from ckpt_tui.tui.formatting import copy_refusal, safe, shown_path
from ckpt_tui.tui.screens.catalog_screen import CatalogScreen
from ckpt_tui.tui.widgets.catalog_table import CatalogTable
from ckpt_tui.tui.widgets.detail_pane import DetailPane
from ckpt_tui.tui.widgets.filter_box import FilterBox
from ckpt_tui.tui.widgets.key_footer import KeyFooter
from ckpt_tui.tui.widgets.status_line import Status, StatusLine

if TYPE_CHECKING:
    from ckpt_tui.tui.screens.conversion_view import ConversionSummary

Entry = CheckpointCatalogEntry
#: Below this width the detail pane moves under the table (the screen's ``-narrow`` class).
NARROW = 100


class MainScreen(CatalogScreen):
    """Browse, sort, filter and inspect the checkpoints under one root."""

    AUTO_FOCUS = "#catalog"
    # Not annotated ClassVar: Textual's own annotation makes it an instance variable for mypy.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="main.filter"),
        Binding("s", "sort_next", "Sort", id="main.sort_next"),
        Binding("S", "sort_reverse", "Reverse", id="main.sort_reverse"),
        Binding("space", "toggle_mark", "Mark", id="main.mark"),
        Binding("y", "copy_path", "Copy", id="main.copy"),
        Binding("c", "convert", "Convert", id="main.convert"),
        # d and p are not in the footer: at 80 columns they would push out "? Help" and "q Quit".
        Binding("d", "compare", "Compare", id="main.compare", show=False),
        Binding("p", "prune", "Prune", id="main.prune", show=False),
        Binding("ctrl+r", "rescan", "Rescan", id="main.rescan"),
        Binding("i", "toggle_details", "Details", id="main.details"),
    ]

    def __init__(
        self,
        root: Path,
        *,
        now: Callable[[], datetime],
        use_cache: bool = True,
        poll_interval: float | None = 3.0,
        columns: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(root, use_cache=use_cache, poll_interval=poll_interval)
        self._now = now
        self._columns = columns
        self._runs: dict[str, list[Entry]] | None = None
        self.marks: set[str] = set()
        """Checkpoint paths of the marked rows."""
        self.entry_filter = EntryFilter()
        """The applied filter."""
        self.sort: tuple[str, bool] = ("path", False)
        """(field, descending)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Container(id="body"):
            yield CatalogTable(now=self._now, id="catalog")
            yield DetailPane(now=self._now, id="detail")
        yield FilterBox(id="filter")
        yield StatusLine(id="status")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.title = "ckpt-tui"
        self.query_one(CatalogTable).marks = self.marks
        self.query_one(CatalogTable).choose_columns(self._columns)
        self.query_one(CatalogTable).focus()
        self._show_counts()
        self.start_polling()

    def visible_rows(self) -> list[Entry]:
        """The rows of the table, in order."""
        return self.query_one(CatalogTable).rows

    # -- the view ---------------------------------------------------------------------------

    def refresh_view(self, *, follow: bool = True) -> None:
        """Re-apply the filter and the sort to all entries and show the result.

        ``follow=False`` (a new sort or filter) puts the cursor on the first row.
        """
        self._runs = None
        rows = self.entry_filter.select(self.catalog.by_path())
        field, descending = self.sort
        if field != "path" or descending:
            rows = sort_entries(rows, field, descending)
        table = self.query_one(CatalogTable)
        table.set_sort(field, descending)
        table.set_rows(rows, follow=follow)
        self._show_counts()

    def _show_counts(self) -> None:
        catalog = self.catalog
        shown = len(self.query_one(CatalogTable).rows)
        marked = len(self.marks & catalog.entries.keys())
        table = self.query_one(CatalogTable)
        hidden = self.sort[0] != "path" and not table.shows_column(self.sort[0])
        status = Status.of(
            catalog, shown, marked, self.sort, self.entry_filter.expression, sort_hidden=hidden
        )
        self.query_one(StatusLine).show(status)
        self.sub_title = f"{safe(shown_path(self.root), 120)} · {len(catalog)} checkpoints"

    @on(FilterBox.Applied)
    def _filter_applied(self, message: FilterBox.Applied) -> None:
        changed = message.entry_filter.expression != self.entry_filter.expression
        self.entry_filter = message.entry_filter
        self.refresh_view(follow=not changed)
        if message.leave:
            self.action_focus_table()

    @on(CatalogTable.Highlighted)
    def _highlighted(self, message: CatalogTable.Highlighted) -> None:
        entry = message.entry
        self.query_one(DetailPane).show(entry, self._run_of(entry) if entry else ())

    def _run_of(self, entry: Entry) -> list[Entry]:
        # The checkpoints of each run, indexed once per change of the catalog.
        if self._runs is None:
            runs: dict[str, list[Entry]] = {}
            for other in self.catalog:
                runs.setdefault(other.exp_name, []).append(other)
            self._runs = runs
        return self._runs.get(entry.exp_name, [entry])

    @on(CatalogTable.Selected)
    def _selected(self, message: CatalogTable.Selected) -> None:
        self.query_one(DetailPane).focus()

    @on(CatalogTable.LayoutChanged)
    def _layout_changed(self) -> None:
        self._show_counts()

    @on(CatalogTable.HeaderClicked)
    def _header_clicked(self, message: CatalogTable.HeaderClicked) -> None:
        field, descending = self.sort
        if message.field == field:
            self.sort_by(field, not descending)
        else:
            self.sort_by(message.field)

    # -- actions ----------------------------------------------------------------------------

    def sort_by(self, field: str, descending: bool | None = None) -> None:
        """Sort by ``field``; by default in its natural order (metrics and dates descending)."""
        if descending is None:
            descending = field in DESCENDING_FIRST
        self.sort = (field, descending)
        self.refresh_view(follow=False)

    def action_sort_next(self) -> None:
        """Sort by the next column; after the last, back to the path order."""
        self.sort_by(next_sort_field(self.sort[0]))

    def action_sort_reverse(self) -> None:
        """Reverse the sort order (unknown values stay last)."""
        field, descending = self.sort
        self.sort_by(field, not descending)

    def action_focus_filter(self) -> None:
        """Focus the filter box."""
        self.query_one(FilterBox).focus()

    def action_focus_table(self) -> None:
        """Focus the table."""
        self.query_one(CatalogTable).focus()

    def apply_filter(self, expression: str) -> None:
        """Type ``expression`` into the filter box and apply it (palette presets)."""
        self.query_one(FilterBox).set_expression(expression)

    def toggle_column(self, key: str) -> None:
        """Show or hide column ``key`` (palette)."""
        self.query_one(CatalogTable).toggle_column(key)

    def fit_columns(self) -> None:
        """Show every column that fits the width, by priority (palette)."""
        self.query_one(CatalogTable).choose_columns(None)

    def action_toggle_details(self) -> None:
        """Hide the detail pane (the table takes the width) or show it again."""
        self.toggle_class("-no-details")
        if self.has_class("-no-details"):
            self.action_focus_table()

    def action_toggle_mark(self) -> None:
        """Mark or unmark the highlighted row."""
        entry = self.query_one(CatalogTable).cursor_entry
        if entry is None:
            return
        self.marks.symmetric_difference_update({entry.checkpoint_path})
        self.query_one(CatalogTable).refresh_marks()
        self._show_counts()

    def action_copy_path(self) -> None:
        """Copy the highlighted checkpoint's absolute path (OSC 52) and say so."""
        entry = self.query_one(CatalogTable).cursor_entry
        if entry is None:
            self.notify("nothing to copy", severity="warning")
            return
        path = shown_path(entry.abs_path or str((self.root / entry.checkpoint_path).resolve()))
        refusal = copy_refusal(path)
        if refusal is not None:
            self.notify(f"not copied: {refusal}", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(path)
        self.notify(f"copied {safe(path, 200)}", title="Clipboard", markup=False)

    def action_rescan(self) -> None:
        """Scan the root again; the rows stay until the new scan replaces them."""
        self.scan(progress=True)
        self.notify("rescanning…")

    def conversion_targets(self) -> list[Entry]:
        """The marked entries, or else every entry without a sidecar, in path order."""
        marked = [e for e in self.catalog.by_path() if e.checkpoint_path in self.marks]
        return marked or [e for e in self.catalog.by_path() if e.sidecar_path is None]

    def action_convert(self) -> None:
        """Open the conversion screen for :meth:`conversion_targets`."""
        # Imported on first use: the conversion engine is not needed to start browsing.
        from ckpt_tui.tui.screens.conversion import ConversionScreen

        screen = ConversionScreen(self.root, self.conversion_targets())
        self.app.push_screen(screen, callback=self._conversion_closed)

    def action_compare(self) -> None:
        """Compare the marked rows, else the highlighted row and the best of its experiment."""
        from ckpt_tui.tui.screens.compare import open_compare

        table = self.query_one(CatalogTable)
        open_compare(self, self.catalog.by_path(), self.marks, table.cursor_entry)

    def _conversion_closed(self, summary: ConversionSummary | None) -> None:
        """Say what the conversion did (when it ran), then rescan: sidecars change entries."""
        if summary is not None:
            self.notify(summary.describe(), title="Conversion")
        self.action_rescan()

    def action_prune(self) -> None:
        """Open the prune screen: the marked rows' experiments, else all (imported on use)."""
        from ckpt_tui.tui.screens.prune import open_prune_screen

        open_prune_screen(self)

    def palette_commands(self) -> list[PaletteCommand]:
        """The command palette entries of this screen."""
        return catalog_commands(self)
