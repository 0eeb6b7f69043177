"""The compare screen: checkpoints side by side, the rows that differ highlighted.

The comparison itself is :mod:`ckpt_tui.compare` (read by the safe reader on a worker thread);
this screen only lays it out: one column per checkpoint (the key column stays put while the
others scroll sideways), a section header before each section, differing rows marked ``~`` and
highlighted, and ``o`` to show only the rows that differ. Escape returns to the table.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from ckpt_tui.io.text import shorten
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui.formatting import safe

if TYPE_CHECKING:
    from ckpt_tui.compare import Comparison

Entry = CheckpointCatalogEntry

KEY_WIDTH = 24
"""Cells of the key column (the longest keys are cut with an ellipsis)."""
MIN_SIDE_WIDTH = 18
"""Cells of a checkpoint's column at the least; at 80 columns two of them fit beside the keys."""
_VERDICT_STYLES = {"safe": "green", "unsafe": "bold red", "code": "bold magenta"}
_CHANGED = "bold yellow"


def compare_targets(
    ordered: Sequence[Entry], marks: Collection[str], cursor: Entry | None
) -> tuple[list[Entry], str | None] | str:
    """What ``d`` compares: the marked rows (two or more); one marked row and the highlighted
    one; else the highlighted row and the best other checkpoint of its experiment. Returns the
    entries and a note (why those), or a message when there is nothing to compare."""
    from ckpt_tui.compare import best_of_experiment

    marked = [entry for entry in ordered if entry.checkpoint_path in marks]
    if len(marked) >= 2:
        return marked, None
    if cursor is None:
        return "no checkpoint to compare"
    if marked and marked[0].checkpoint_path != cursor.checkpoint_path:
        return [marked[0], cursor], None
    choice = best_of_experiment(cursor, ordered)
    if choice.entry is None:
        return f"nothing to compare with: {choice.reason}"
    return [cursor, choice.entry], choice.reason


def open_compare(
    screen: Screen[None], ordered: Sequence[Entry], marks: Collection[str], cursor: Entry | None
) -> None:
    """Open the compare screen over ``screen`` for :func:`compare_targets` (or say why not)."""
    targets = compare_targets(ordered, marks, cursor)
    if isinstance(targets, str):
        screen.notify(safe(targets, 200), severity="warning", markup=False)
        return
    entries, note = targets
    screen.app.push_screen(CompareScreen(entries, note=note))


class SideBySideTable(DataTable[Text]):
    """The comparison's table: a row cursor, and ← → scroll a whole checkpoint column."""

    def _column_step(self) -> int:
        widths = [column.get_render_width(self) for column in self.ordered_columns[1:2]]
        return widths[0] if widths else 1

    def action_cursor_right(self) -> None:
        self.scroll_to(x=self.scroll_x + self._column_step(), animate=False)

    def action_cursor_left(self) -> None:
        self.scroll_to(x=max(0, self.scroll_x - self._column_step()), animate=False)


class CompareScreen(Screen[None]):
    """Two or more checkpoints side by side."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="compare.close"),
        Binding("o", "toggle_differences", "Only diffs", id="compare.only"),
    ]
    DEFAULT_CSS = """
    CompareScreen #compare-sides { height: auto; max-height: 6; padding: 0 1; }
    CompareScreen #compare-table { height: 1fr; }
    """

    def __init__(self, entries: Sequence[Entry], *, note: str | None = None) -> None:
        super().__init__()
        self.entries = list(entries)
        """The checkpoints compared, in column order."""
        self.note = note
        """Why these checkpoints (e.g. the best of the experiment by its monitor)."""
        self.comparison: Comparison | None = None
        """The comparison, once read (tests wait on it)."""
        self.only_differences = False
        """Whether equal rows are hidden."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._sides_text(), id="compare-sides")
        table = SideBySideTable(id="compare-table", cursor_type="row")
        table.fixed_columns = 1
        yield table
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "ckpt-tui · compare"
        self.sub_title = f"reading {len(self.entries)} checkpoints…"
        self.query_one(SideBySideTable).focus()
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def _read(self) -> None:
        # The safe reader only: each file's pickle is read, never run, and no tensor is loaded.
        from ckpt_tui.compare import compare, read_snapshot

        snapshots = [read_snapshot(entry) for entry in self.entries]
        comparison = compare(snapshots)
        self.app.call_from_thread(self._show, comparison)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        # The reader never raises for a bad file; anything else is shown, not swallowed.
        if event.state == WorkerState.ERROR:
            self.sub_title = "could not compare"
            message = f"comparing failed: {safe(event.worker.error, 200)}"
            self.notify(message, severity="error", markup=False)

    def _show(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.entries = [side.entry for side in comparison.sides]
        count = sum(comparison.differences().values())
        self.sub_title = "no differences" if comparison.equal else f"{count} rows differ"
        self.query_one("#compare-sides", Static).update(self._sides_text())
        self._fill()

    def _sides_text(self) -> Text:
        text = Text()
        if self.note:
            text.append(safe(self.note, 200) + "\n", style="italic")
        for index, entry in enumerate(self.entries):
            if index:
                text.append("\n")
            text.append(f"{_letter(index)} ", style="bold")
            text.append(safe(entry.checkpoint_path, 300))
            text.append("  ")
            text.append(entry.safety, style=_VERDICT_STYLES.get(entry.safety, "yellow"))
        return text

    def _side_width(self) -> int:
        # Two checkpoints share what the key column leaves; more scroll sideways.
        free = self.size.width - KEY_WIDTH - 2 - 2 * (len(self.entries) + 1)
        return max(MIN_SIDE_WIDTH, free // min(2, len(self.entries)))

    def _fill(self) -> None:
        from ckpt_tui.compare import SECTIONS
        from ckpt_tui.compare.report import display_value

        comparison = self.comparison
        if comparison is None:
            return
        table = self.query_one(SideBySideTable)
        row = table.cursor_row
        table.clear(columns=True)
        width = self._side_width()
        table.add_column("", width=KEY_WIDTH, key="key")
        for index, entry in enumerate(self.entries):
            label = f"{_letter(index)} {safe(entry.file_name, 200)}"
            table.add_column(shorten(label, width), width=width, key=f"side-{index}")
        for name in SECTIONS:
            rows = comparison.section(name, only_differences=self.only_differences)
            if not rows:
                continue
            table.add_row(*self._header(name, comparison, len(self.entries)), key=f"section-{name}")
            for diff in rows:
                style = _CHANGED if diff.differs else ""
                mark = "~ " if diff.differs else "  "
                cells = [Text(shorten(mark + safe(diff.key, 200), KEY_WIDTH), style=style)]
                for value in diff.values:
                    shown = shorten(safe(display_value(value), 400), width)
                    cells.append(Text(shown, style=self._value_style(name, diff.key, value, style)))
                table.add_row(*cells, key=f"{name}:{diff.key}")
        if comparison.equal and self.only_differences:
            table.add_row(Text("no differences", style="italic"), *[Text("")] * len(self.entries))
        table.move_cursor(row=min(row, max(0, table.row_count - 1)))

    @staticmethod
    def _header(name: str, comparison: Comparison, sides: int) -> Iterable[Text]:
        differing = comparison.differences()[name]
        note = f"{differing} differ" if differing else "equal"
        yield Text(f"{name} ({note})", style="bold reverse")
        for _ in range(sides):
            yield Text("")

    @staticmethod
    def _value_style(section: str, key: str, value: object, style: str) -> str:
        if section == "safety" and key == "safety" and isinstance(value, str):
            return _VERDICT_STYLES.get(value, "yellow")
        return style

    def action_toggle_differences(self) -> None:
        """Show only the rows that differ, or every row again."""
        self.only_differences = not self.only_differences
        self.notify("only differences" if self.only_differences else "all rows", title="Compare")
        self._fill()

    def action_close(self) -> None:
        """Back to the table (the marks stay as they were)."""
        self.workers.cancel_group(self, "compare")
        self.dismiss(None)


def _letter(index: int) -> str:
    """Column names: A, B, ... Z, then 27, 28, ..."""
    return chr(ord("A") + index) if index < 26 else str(index + 1)
