"""The main screen: the catalog table, the detail pane, the filter box and the status line.

It owns the view state (filter, sort, marks; the table owns the cursor) and the catalog workers;
the entries live in a :class:`~ckpt_tui.catalog.updates.CatalogState`, and the filtering, sorting
and scanning themselves are library functions; so is the safety verdict read after a scan. Keys:
:mod:`ckpt_tui.tui.keys`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from ckpt_tui.catalog.filter import EntryFilter
from ckpt_tui.catalog.fingerprint import tree_fingerprint
from ckpt_tui.catalog.sort import DESCENDING_FIRST, sort_entries
from ckpt_tui.catalog.updates import CatalogState, CatalogUpdate
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui.commands import PaletteCommand, catalog_commands
from ckpt_tui.tui.formatting import copy_refusal, safe, shown_path
from ckpt_tui.tui.loading import CatalogBatch, CatalogProgress, TreeSignature, stream_catalog
from ckpt_tui.tui.verifying import VerdictBatch, stream_verdicts, unchecked
from ckpt_tui.tui.widgets.catalog_table import COLUMNS, CatalogTable
from ckpt_tui.tui.widgets.detail_pane import DetailPane
from ckpt_tui.tui.widgets.filter_box import FilterBox
from ckpt_tui.tui.widgets.status_line import Status, StatusLine

if TYPE_CHECKING:
    from ckpt_tui.tui.screens.conversion_view import ConversionSummary

Entry = CheckpointCatalogEntry
#: Below this width the detail pane moves under the table (the screen's ``-narrow`` class).
NARROW = 100


class MainScreen(Screen[None]):
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
    ]

    def __init__(
        self,
        root: Path,
        *,
        now: Callable[[], datetime],
        use_cache: bool = True,
        poll_interval: float | None = 3.0,
    ) -> None:
        super().__init__()
        self.root = root
        """The folder shown (as given: it is displayed)."""
        self._now = now
        self._use_cache = use_cache
        self._poll_interval = poll_interval
        self.catalog = CatalogState()
        """Every entry, merged from the scans' updates."""
        self.marks: set[str] = set()
        """Checkpoint paths of the marked rows."""
        self.entry_filter = EntryFilter()
        """The applied filter."""
        self.sort: tuple[str, bool] = ("path", False)
        """(field, descending)."""
        self.scans_completed = 0
        """Finished scans, polls included (tests wait on it)."""
        self.is_loading = False
        """Whether a visible scan (start-up or rescan) is running."""
        self.is_verifying = False
        """Whether unchecked files are being read for their verdict (tests wait on it)."""
        self._scan: Worker[None] | None = None
        self._verify: Worker[None] | None = None
        self._scanning = False
        self._signature: int | None = None

    @property
    def entries(self) -> Mapping[str, Entry]:
        """Every entry by checkpoint path (read-only: only scans change it)."""
        return self.catalog.entries

    def compose(self) -> ComposeResult:
        yield Header()
        with Container(id="body"):
            yield CatalogTable(now=self._now, id="catalog")
            yield DetailPane(now=self._now, id="detail")
        yield FilterBox(id="filter")
        yield StatusLine(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "ckpt-tui"
        self.query_one(CatalogTable).marks = self.marks
        self.query_one(CatalogTable).focus()
        self._show_counts()
        self.scan(progress=True)
        if self._poll_interval:
            self.set_interval(self._poll_interval, self._poll)

    def cancel_scans(self) -> None:
        """Stop the scan and the verification in flight (quit); unmounting also does."""
        self.workers.cancel_group(self, "catalog")
        self._stop_verifying()

    # -- scanning ---------------------------------------------------------------------------

    def scan(self, *, progress: bool) -> None:
        """Start a scan of the root, cancelling any scan in flight."""
        self._scanning = True
        self.is_loading = progress
        # The scan replaces the entries being verified: verify what it finds instead.
        self._stop_verifying()
        if progress:
            self.query_one(StatusLine).progress(0, 0, loading=True)
        self.catalog.start()
        # Exclusive: starting this worker cancels the one in flight, whose late messages are
        # then ignored (they name a cancelled worker).
        self._scan = self._scan_worker(progress)

    @work(thread=True, exclusive=True, exit_on_error=False, group="catalog")
    def _scan_worker(self, progress: bool) -> None:
        stream_catalog(
            self.root,
            post=self.post_message,
            use_cache=self._use_cache,
            progress=progress,
        )

    def _current(self, worker: Worker[None]) -> bool:
        # Only the latest scan's messages count: an older one was cancelled by a rescan.
        return worker is self._scan and not worker.is_cancelled

    def _poll(self) -> None:
        # Live updates: a cheap look at the tree every few seconds; a scan only on a change.
        if self._scanning or self._signature is None:
            return
        self._poll_worker()

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _poll_worker(self) -> None:
        try:
            signature = tree_fingerprint(self.root)
        except OSError:
            return  # the root went away: a rescan (ctrl+r) reports it; polling stays quiet
        self.post_message(TreeSignature(signature))

    @on(TreeSignature)
    def _tree_signature(self, message: TreeSignature) -> None:
        if not self._scanning and message.signature != self._signature:
            self.scan(progress=False)

    @on(CatalogProgress)
    def _progress(self, message: CatalogProgress) -> None:
        if self._current(message.worker) and self.is_loading:
            self.query_one(StatusLine).progress(message.done, message.total, loading=True)

    @on(CatalogBatch)
    def _batch(self, message: CatalogBatch) -> None:
        if not self._current(message.worker):
            return
        update = message.update
        changed = self.catalog.apply(update)
        if self.is_loading:
            self.query_one(StatusLine).progress(update.done, update.total, loading=True)
        if changed:
            self.refresh_view()
        if update.scan_issues:
            first = safe(update.scan_issues[0].message, 120)
            self.notify(
                f"{len(update.scan_issues)} scan problem(s): {first}",
                severity="warning",
                markup=False,  # file names may hold "[...]": never parse them as markup
            )
        if update.final:
            self._signature = message.signature
            self._finish_scan()

    def _finish_scan(self) -> None:
        if self.is_loading and not self.catalog:
            self.notify(f"no checkpoints under {safe(self.root)}", severity="warning", markup=False)
        self.is_loading = self._scanning = False
        self.query_one(StatusLine).progress(0, 0, loading=False)
        self.scans_completed += 1
        self.verify()

    # -- verifying --------------------------------------------------------------------------

    def verify(self) -> None:
        """Read the verdict of every ``unchecked`` entry in the background (rows in view first)."""
        self._stop_verifying()
        todo = unchecked(self.query_one(CatalogTable).rows, self.catalog.by_path())
        if not todo:
            return
        self.is_verifying = True
        self.query_one(StatusLine).verifying(0, len(todo))
        self._verify = self._verify_worker(todo)

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify_worker(self, todo: list[Entry]) -> None:
        root = str(self.root) if self._use_cache else None
        stream_verdicts(todo, post=self.post_message, root=root)

    def _stop_verifying(self) -> None:
        if self._verify is not None:
            self._verify.cancel()
        self._verify, self.is_verifying = None, False
        self.query_one(StatusLine).verifying(0, 0)

    @on(VerdictBatch)
    def _verdicts(self, message: VerdictBatch) -> None:
        if message.worker is not self._verify or message.worker.is_cancelled:
            return
        # Replacements only, never final: that would end the scan's own bookkeeping.
        update = CatalogUpdate(message.entries, self.catalog.done, self.catalog.total)
        if self.catalog.apply(update):
            self.refresh_view()
        self.query_one(StatusLine).verifying(message.done, message.total)
        if message.final:
            self._stop_verifying()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # The one place worker failures surface: a scan that crashed is shown, not swallowed.
        if event.state != WorkerState.ERROR:
            return
        self.notify(
            f"{event.worker.group} failed: {safe(event.worker.error, 200)}",
            severity="error",
            markup=False,
        )
        if event.worker is self._scan:
            self._finish_scan()
        elif event.worker is self._verify:
            self._stop_verifying()

    # -- the view ---------------------------------------------------------------------------

    def refresh_view(self, *, follow: bool = True) -> None:
        """Re-apply the filter and the sort to all entries and show the result.

        ``follow=False`` (a new sort or filter) puts the cursor on the first row.
        """
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
        status = Status.of(catalog, shown, marked, self.sort, self.entry_filter.expression)
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
        self.query_one(DetailPane).show(message.entry)

    @on(CatalogTable.Selected)
    def _selected(self, message: CatalogTable.Selected) -> None:
        self.query_one(DetailPane).focus()

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
        """Sort by the next column (after the last, back to the first)."""
        keys = [column.key for column in COLUMNS]
        field = self.sort[0]
        following = keys[(keys.index(field) + 1) % len(keys)] if field in keys else keys[0]
        self.sort_by(following)

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
