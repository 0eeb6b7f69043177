"""The conversion screen (key ``c``): pick checkpoints, preview their sidecars, write them.

The conversion engine plans and writes (:mod:`ckpt_tui.convert`, the same engine as
``ckpt-tui convert``); this screen shows the plan, lets the user choose, and runs
:func:`~ckpt_tui.convert.engine.run_conversion` on the chosen items in a thread worker that posts
one message per item. Its result is a :class:`ConversionSummary`, or ``None`` when nothing ran;
the caller says what it did and rescans.

Keys: arrows move (the preview follows); space selects; ``a`` all or none; ``f`` force (replace
existing sidecars: planned again); enter converts (after a run the footer offers close instead);
escape cancels (the sidecar being written finishes, the rest stay untouched), then closes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import (
    Button,
    Footer,
    Header,
    Label,
    ProgressBar,
    SelectionList,
    Static,
    Switch,
)
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from ckpt_tui.convert.counts import ConversionCounts, count_conversion
from ckpt_tui.convert.engine import run_conversion
from ckpt_tui.convert.plan import ConversionItem, ConversionPlan, plan_conversion
from ckpt_tui.convert.write import ItemReport
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui.screens.conversion_view import (
    ConversionSummary,
    no_candidates_hint,
    plan_status,
    preview_title,
    preview_yaml,
    row_label,
    shown,
    summary_line,
    unknown_fields,
)
from ckpt_tui.tui.widgets.candidate_list import CandidateList

__all__ = ["CandidateList", "ConversionScreen", "ConversionSummary"]  # CandidateList: for tests

Phase = Literal["planning", "ready", "running", "done"]


class ConversionScreen(Screen[ConversionSummary | None]):
    """Write sidecars for ``entries``: choose, preview, force, convert, cancel safely."""

    CSS_PATH = "conversion.tcss"
    AUTO_FOCUS = "#candidates"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "toggle_all", "All/none", id="conversion.toggle_all"),
        Binding("f", "toggle_force", "Force", id="conversion.force"),
        # Priority bindings: the list would otherwise take enter as "toggle the row". One of the
        # two is active at a time (check_action): the footer offers Convert, then Close.
        Binding("enter", "convert", "Convert", id="conversion.convert", priority=True),
        Binding("enter", "close", "Close", id="conversion.close", priority=True),
        Binding("escape", "cancel", "Cancel/close", id="conversion.cancel"),
    ]

    phase: reactive[Phase] = reactive[Phase]("planning", init=False)
    """planning → ready → running → done; the watcher updates the controls."""

    class Planned(Message):
        """A plan (made with ``force``); ``generation`` tells a stale one from the latest."""

        def __init__(self, plan: ConversionPlan, force: bool, generation: int) -> None:
            super().__init__()
            self.plan = plan
            self.force = force
            self.generation = generation

    class ItemConverted(Message):
        """Item ``index`` of the plan has its result."""

        def __init__(self, index: int, result: ItemReport) -> None:
            super().__init__()
            self.index = index
            self.result = result

    class RunFinished(Message):
        """The worker stopped: every selected item ran, or a cancel left ``not_run`` alone."""

        def __init__(self, not_run: int) -> None:
            super().__init__()
            self.not_run = not_run

    def __init__(self, root: Path, entries: list[CheckpointCatalogEntry]) -> None:
        super().__init__()
        self.root = root
        """The folder browsed (for the title)."""
        self.entries = list(entries)
        """The candidates, in the order shown."""
        self.plan: ConversionPlan | None = None
        """The current plan (``None`` while the first one is being made)."""
        self.force = False
        """Whether the force switch is on (replace existing sidecars)."""
        self.plan_force = False
        """The force the current plan was made with (a run uses it, so the two agree)."""
        self.results: dict[int, ItemReport] = {}
        """Results so far, by plan index."""
        self.run_indexes: list[int] = []
        """The plan indexes the run was started with (empty until Convert)."""
        self.after_item: Callable[[ItemReport], None] | None = None
        """Called in the worker thread after each item's message is posted. A test hook: it
        can hold the worker between two items to cancel at a known point."""
        self._generation = 0
        self._cancel = threading.Event()
        self._cancelling = False
        self._cancelled = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="conversion-body"):
            candidates = CandidateList(id="candidates")
            candidates.border_title = "Checkpoints to convert"
            yield candidates
            with VerticalScroll(id="preview") as preview:
                preview.border_title = "Sidecar preview"
                yield Static(id="preview-title")
                yield Static(id="preview-unknown")
                yield Static(id="preview-yaml")
        yield Static(id="conversion-status")
        with Horizontal(id="conversion-bar"):
            yield Switch(value=False, id="force")
            yield Label("force: replace existing sidecars", id="force-label")
            yield Button("Convert", id="convert", variant="primary", disabled=True)
            yield ProgressBar(total=1, show_eta=False, id="conversion-progress")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "ckpt-tui"
        self.sub_title = f"convert · {len(self.entries)} candidates under {shown(self.root)}"
        self._set_status(Text("planning…"))
        self._replan()

    def on_unmount(self) -> None:
        # Leaving any way (quit included) stops a run between two items.
        self._cancel.set()

    def watch_phase(self, phase: Phase) -> None:
        button = self.query_one("#convert", Button)
        button.label = "Close" if phase == "done" else "Convert"
        button.disabled = phase in ("planning", "running")
        self.query_one("#force", Switch).disabled = phase in ("running", "done")
        self.query_one(CandidateList).frozen = phase in ("running", "done")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter converts until a run is done, then closes (the footer shows which)."""
        if action == "convert":
            return self.phase != "done"
        if action == "close":
            return self.phase == "done"
        return action not in ("toggle_all", "toggle_force") or self.phase != "done"

    def _replan(self) -> None:
        self._generation += 1
        self.phase = "planning"
        self._plan_worker(self.force, self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="conversion-plan")
    def _plan_worker(self, force: bool, generation: int) -> None:
        # Off the UI thread (it stats every file); nothing is written outside the folder browsed.
        clock = getattr(self.app, "clock", datetime.now)  # the app's (a fixed one in tests)
        when = clock().astimezone().isoformat(timespec="seconds")
        root = os.path.realpath(self.root)
        plan = plan_conversion(self.entries, force=force, write_root=root, written_at=when)
        self.post_message(self.Planned(plan, force, generation))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        if message.generation != self._generation:
            return
        old, self.plan, self.plan_force = self.plan, message.plan, message.force
        candidates = self.query_one(CandidateList)
        before = set(candidates.selected)
        was_actionable = (
            {i for i, item in enumerate(old.items) if _actionable(item)} if old else set()
        )
        highlighted = candidates.highlighted
        candidates.clear_options()
        options = []
        for index, item in enumerate(message.plan.items):
            # Keep the user's choices; newly possible items (force) start selected.
            chosen = _actionable(item) and (index in before or index not in was_actionable)
            label = row_label(item, None)
            options.append(Selection(label, index, chosen, disabled=not _actionable(item)))
        candidates.add_options(options)
        enabled = [i for i, item in enumerate(message.plan.items) if _actionable(item)]
        if highlighted is not None and highlighted in enabled:
            candidates.highlighted = highlighted
        elif enabled:
            candidates.highlighted = enabled[0]
        self.phase = "ready"
        self._show_preview(candidates.highlighted if enabled else None)
        self._show_ready_status()

    @on(SelectionList.SelectionHighlighted, "#candidates")
    def _highlighted(self, event: SelectionList.SelectionHighlighted[int]) -> None:
        self._show_preview(event.selection.value)

    @on(SelectionList.SelectedChanged, "#candidates")
    def _selection_changed(self) -> None:
        if self.phase == "ready":
            self._show_ready_status()

    def _show_preview(self, index: int | None) -> None:
        title = self.query_one("#preview-title", Static)
        body = self.query_one("#preview-yaml", Static)
        unknown = self.query_one("#preview-unknown", Static)
        if self.plan is None or index is None:
            title.update(Text("Nothing to preview: no checkpoint can be converted."))
            body.update("")
            unknown.update(no_candidates_hint(self.plan, force=self.force))
            return
        item = self.plan.items[index]
        title.update(preview_title(item, self.results.get(index)))
        body.update(preview_yaml(item))
        unknown.update(unknown_fields(item))

    def counts(self) -> ConversionCounts:
        """Every candidate's state now: the numbers of the status line, rows and summary."""
        assert self.plan is not None
        ran = bool(self.run_indexes)
        selected = self.run_indexes if ran else self.query_one(CandidateList).selected
        return count_conversion(self.plan.items, selected, self.results, ran=ran)

    def _show_ready_status(self) -> None:
        self._set_status(plan_status(self.counts()))

    def _set_status(self, text: Text) -> None:
        self.query_one("#conversion-status", Static).update(text)

    def action_toggle_all(self) -> None:
        """Select every convertible checkpoint, or none when all already are."""
        if self.phase != "ready" or self.plan is None:
            return
        candidates = self.query_one(CandidateList)
        actionable = {i for i, item in enumerate(self.plan.items) if _actionable(item)}
        if actionable <= set(candidates.selected):
            candidates.deselect_all()
        else:
            for index in sorted(actionable):
                candidates.select(index)

    def action_toggle_force(self) -> None:
        """Flip the force switch (its change re-plans)."""
        switch = self.query_one("#force", Switch)
        if not switch.disabled:
            switch.toggle()

    @on(Switch.Changed, "#force")
    def _force_changed(self, event: Switch.Changed) -> None:
        if self.phase in ("running", "done") or event.value == self.force:
            return
        self.force = event.value
        self._replan()

    @on(Button.Pressed, "#convert")
    def _convert_pressed(self) -> None:
        self.action_close() if self.phase == "done" else self.action_convert()

    def action_close(self) -> None:
        """Close the screen after a run (enter, once the run is done)."""
        if self.phase == "done":
            self._close()

    def action_convert(self) -> None:
        """Convert the selected checkpoints in a worker."""
        if self.phase != "ready" or self.plan is None:
            return
        chosen = sorted(self.query_one(CandidateList).selected)
        if not chosen:
            self.notify("nothing selected", severity="warning")
            return
        self.run_indexes = chosen
        self.phase = "running"
        self.query_one(ProgressBar).update(total=len(chosen), progress=0)
        self._set_status(Text(f"converting 0/{len(chosen)}…"))
        self._cancel = threading.Event()
        items = [self.plan.items[i] for i in chosen]
        self._convert_worker(items, chosen, self.plan_force, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="conversion")
    def _convert_worker(
        self,
        items: list[ConversionItem],
        indexes: list[int],
        force: bool,
        cancel: threading.Event,
    ) -> None:
        def on_report(position: int, report: ItemReport | None) -> None:
            if report is None:  # (planned items are always candidates)
                return
            self.post_message(self.ItemConverted(indexes[position], report))
            if self.after_item is not None:
                self.after_item(report)

        # One sidecar at a time (no writer threads): escape then stops right after the sidecar
        # being written, and the progress bar moves one item at a time. The items were planned
        # (and shown) before the run: the engine writes them as they are.
        run = run_conversion(
            items, lambda item: item, force=force, cancel=cancel, on_report=on_report,
            write_threads=0,
        )  # fmt: skip
        self.post_message(self.RunFinished(len(run.not_run)))

    @on(ItemConverted)
    def _item_converted(self, message: ItemConverted) -> None:
        assert self.plan is not None
        self.results[message.index] = message.result
        item = self.plan.items[message.index]
        self.query_one(CandidateList).replace_option_prompt_at_index(
            message.index, row_label(item, message.result)
        )
        self.query_one(ProgressBar).advance(1)
        if not self._cancelling:
            self._set_status(Text(f"converting {len(self.results)}/{len(self.run_indexes)}…"))
        if self.query_one(CandidateList).highlighted == message.index:
            self._show_preview(message.index)

    @on(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        self._finish(cancelled=message.not_run > 0)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # The one place a crashed worker surfaces: shown, and the screen stays usable.
        if event.state != WorkerState.ERROR:
            return
        # markup=False: the error may quote a file name holding "[" (Textual markup).
        message = f"conversion failed: {shown(event.worker.error)[:200]}"
        self.notify(message, severity="error", timeout=10, markup=False)
        if event.worker.group == "conversion":
            self._finish(cancelled=True)
        elif self.plan is not None:
            self.phase = "ready"

    def _finish(self, *, cancelled: bool) -> None:
        if self.phase != "running":
            return
        self._cancelled = cancelled
        self.phase = "done"
        assert self.plan is not None
        candidates = self.query_one(CandidateList)
        for index in self.run_indexes:  # a cancel left these: say so on their rows
            if index not in self.results:
                label = row_label(self.plan.items[index], None, ran=True)
                candidates.replace_option_prompt_at_index(index, label)
        self._set_status(summary_line(self.counts()))  # the footer offers Close
        if self._cancelling:
            self._close()

    def action_cancel(self) -> None:
        """Stop a run after the item being written, then close; otherwise close now."""
        if self.phase == "running":
            if not self._cancelling:
                self._cancelling = True
                self._cancel.set()
                self._set_status(Text("cancelling: finishing the sidecar being written…"))
            return
        self._close()

    def summary(self) -> ConversionSummary | None:
        """What the run did so far; ``None`` when no run was started."""
        if not self.run_indexes:
            return None
        results = tuple(self.results[i] for i in self.run_indexes if i in self.results)
        return ConversionSummary(
            results, len(self.run_indexes), self._cancelled, self.plan_force, self.counts()
        )

    def _close(self) -> None:
        self.dismiss(self.summary())


def _actionable(item: ConversionItem) -> bool:
    return item.action in ("write", "replace")
