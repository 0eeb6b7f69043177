"""The detail pane: everything known about the highlighted checkpoint, and where it came from.

The sections themselves are built by ``detail_sections`` (the title and the verdict first, the
issues right under them when there are errors or security findings); between those and the
rest sits the run's chart (``run_chart``: the monitored metric over the run's checkpoints, this
one marked), and the hyper-parameters are in a collapsible at the end. A new checkpoint is
shown from the top.

| key | action |
|---|---|
| ↑ ↓ PgUp PgDn Home End | scroll |
| escape | back to the table |
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar

from rich.console import Group
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Collapsible, Static

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui.widgets.detail_sections import (
    LABEL_WIDTH,
    Section,
    hparam_lines,
    hparam_text,
    split_sections,
)
from ckpt_tui.tui.widgets.run_chart import RunChart, run_series

Entry = CheckpointCatalogEntry


class DetailPane(VerticalScroll, can_focus=True):
    """Shows one entry; :meth:`show` swaps the entry without rebuilding the widgets."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "screen.focus_table", "Back to table", id="detail.leave"),
    ]

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._now = now
        self._entry: Entry | None = None
        self._run: Sequence[Entry] = ()

    def compose(self) -> ComposeResult:
        yield Static(id="detail-head")
        yield RunChart(id="detail-chart")
        yield Static(id="detail-body")
        with Collapsible(title="Hyper-parameters", collapsed=True, id="detail-hparams"):
            yield Static(id="detail-hparams-body")

    def on_mount(self) -> None:
        self.border_title = "Details"
        self._render_entry()

    def on_resize(self, event: events.Resize) -> None:
        # Paths are wrapped to the pane's width.
        self._render_entry()

    def show(self, entry: Entry | None, run: Sequence[Entry] = ()) -> None:
        """Display ``entry`` (``None``: a hint instead) from the top; ``run`` holds the
        checkpoints of its run, for the chart."""
        # A new checkpoint, not the same one described again (a verdict read meanwhile).
        path = entry.checkpoint_path if entry else None
        changed = path != (self._entry.checkpoint_path if self._entry else None)
        self._entry, self._run = entry, run
        if not self.is_mounted:  # on_mount shows it
            return
        self._render_entry()
        if changed:
            self.scroll_home(animate=False, immediate=True)

    def _render_entry(self) -> None:
        entry = self._entry
        head = self.query_one("#detail-head", Static)
        body = self.query_one("#detail-body", Static)
        hparams = self.query_one("#detail-hparams", Collapsible)
        chart = self.query_one(RunChart)
        if entry is None:
            head.update(Text("No checkpoint selected.", style="dim"))
            body.update("")
            chart.display = hparams.display = False
            return
        width = self.scrollable_content_region.width
        path_width = width - LABEL_WIDTH if width > LABEL_WIDTH + 8 else None
        top, rest = split_sections(entry, self._now(), path_width)
        head.update(_group(top))
        body.update(_group(rest))
        chart.show(run_series(entry, self._run), max(8, width))
        lines = hparam_lines(entry)
        hparams.display = bool(lines)
        if lines:
            hparams.title = f"Hyper-parameters ({len(lines)})"
            self.query_one("#detail-hparams-body", Static).update(hparam_text(lines))


def _group(sections: list[Section]) -> Group:
    return Group(*(part for section in sections for part in section.renderables()))
