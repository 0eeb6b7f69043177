"""The prune screen (key ``p``): the plan, a confirmation, the deletion, with progress.

The plan is made by :func:`ckpt_tui.prune.build.plan_prune` and carried out by
:func:`ckpt_tui.prune.execute.execute_plan`, the same code as ``ckpt-tui prune``; this screen
only shows them, both on thread workers. It covers the experiments of the marked rows (else
all). Its result is the list of checkpoint paths deleted (``None`` when nothing ran); the main
screen then drops their marks and rescans, which removes their rows.

| key | action |
|---|---|
| b / B | keep one more / one fewer best per experiment (the plan is made again) |
| l / L | keep one more / one fewer most recent per experiment |
| enter | ask for confirmation (after a run: close) |
| y | confirm: delete |
| n | back from the confirmation |
| escape | back from the confirmation; in a run: stop after the current checkpoint; else close |
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, Static
from textual.worker import Worker, WorkerState

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.prune.build import plan_prune
from ckpt_tui.prune.execute import ItemResult, PruneReport, execute_plan
from ckpt_tui.prune.plan import PruneOptions, PrunePlan
from ckpt_tui.sources.path import run_folder
from ckpt_tui.tui.formatting import safe
from ckpt_tui.tui.screens.prune_view import plan_summary, plan_view, report_summary

Phase = Literal["planning", "ready", "confirm", "running", "done"]


class PruneScreen(Screen[list[str] | None]):
    """Prune the experiments of ``entries`` (those in ``runs``, or all when ``runs`` is None)."""

    DEFAULT_CSS = """
    PruneScreen #prune-plan { height: 1fr; border: round $primary; padding: 0 1; }
    PruneScreen #prune-status { height: auto; padding: 0 1; }
    PruneScreen #prune-progress { padding: 0 1; }
    """
    AUTO_FOCUS = "#prune-plan"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Delete…", id="prune.confirm", priority=True),
        Binding("y", "yes", "Yes", show=False, id="prune.yes"),
        Binding("n", "no", "No", show=False, id="prune.no"),
        Binding("b", "keep_best(1)", "Best+", id="prune.best_more"),
        Binding("B", "keep_best(-1)", "Best-", show=False, id="prune.best_fewer"),
        Binding("l", "keep_last(1)", "Last+", id="prune.last_more"),
        Binding("L", "keep_last(-1)", "Last-", show=False, id="prune.last_fewer"),
        Binding("escape", "back", "Back/close", id="prune.back"),
    ]

    class Planned(Message):
        """A plan for ``generation`` (a later one replaces it)."""

        def __init__(self, plan: PrunePlan | None, error: str | None, generation: int) -> None:
            super().__init__()
            self.plan = plan
            self.error = error
            self.generation = generation

    class Deleted(Message):
        """One planned deletion has its result."""

        def __init__(self, done: int, total: int, result: ItemResult) -> None:
            super().__init__()
            self.done = done
            self.total = total
            self.result = result

    class Finished(Message):
        """The run ended (every item, or a cancel between two)."""

        def __init__(self, report: PruneReport) -> None:
            super().__init__()
            self.report = report

    def __init__(
        self,
        root: Path,
        entries: list[CheckpointCatalogEntry],
        runs: Collection[str] | None = None,
        options: PruneOptions | None = None,
    ) -> None:
        super().__init__()
        self.root = root
        """The folder browsed."""
        self.entries = entries
        """The catalog's entries (every one: link targets and names are looked up in them)."""
        self.runs = None if runs is None else set(runs)
        """The run folders pruned (``None``: all)."""
        self.options = options or PruneOptions()
        """The rules' counts (b/B and l/L change them)."""
        self.phase: Phase = "planning"
        """planning → ready → confirm → running → done."""
        self.plan: PrunePlan | None = None
        """The current plan."""
        self.results: dict[str, ItemResult] = {}
        """Results so far, by checkpoint path."""
        self.report: PruneReport | None = None
        """The run's report once it ended."""
        self._generation = 0
        self._cancel = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="prune-plan") as body:
            body.border_title = "Prune plan"
            yield Static(id="prune-rows")
        yield Static(id="prune-status")
        yield ProgressBar(total=1, show_eta=False, id="prune-progress")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "ckpt-tui"
        scope = "all experiments" if self.runs is None else f"{len(self.runs)} experiment(s)"
        self.sub_title = f"prune · {scope} under {safe(self.root, 80)}"
        self.query_one(ProgressBar).display = False
        self._replan()

    def on_unmount(self) -> None:
        self._cancel.set()  # leaving (quit included) stops a run between two checkpoints

    # -- planning ---------------------------------------------------------------------------

    def _replan(self) -> None:
        self._generation += 1
        self.phase = "planning"
        self._status(Text(f"planning… ({self._counts()})"))
        self._plan_worker(self.options, self._generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="prune-plan")
    def _plan_worker(self, options: PruneOptions, generation: int) -> None:
        # Planning stats files and may read checkpoints for best_model_path: off the UI thread.
        try:
            plan = plan_prune(str(self.root), options, entries=self.entries, runs=self.runs)
        except (OSError, ValueError) as exc:
            self.post_message(self.Planned(None, str(exc), generation))
            return
        self.post_message(self.Planned(plan, None, generation))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        if message.generation != self._generation or self.phase != "planning":
            return
        if message.plan is None:
            self._status(Text(f"cannot plan: {safe(message.error, 200)}", style="bold red"))
            self.phase = "done"
            return
        self.plan = message.plan
        self.phase = "ready"
        self._show_plan()

    def _counts(self) -> str:
        return f"keep-best {self.options.keep_best} · keep-last {self.options.keep_last}"

    def _show_plan(self) -> None:
        assert self.plan is not None
        self.query_one("#prune-rows", Static).update(plan_view(self.plan, self.results))
        if self.phase == "ready":
            hint = "enter: delete…" if self.plan.deleted else "nothing to delete"
            line = Text(plan_summary(self.plan), style="bold")
            line.append(f" — {hint} · b/B l/L: {self._counts()} · escape: close", style="")
            self._status(line)

    def _status(self, text: Text) -> None:
        self.query_one("#prune-status", Static).update(text)

    # -- actions ----------------------------------------------------------------------------

    def action_keep_best(self, change: int) -> None:
        """Keep one more (or one fewer) best checkpoint per experiment, and plan again."""
        if self.phase in ("ready", "planning"):
            self.options.keep_best = max(0, self.options.keep_best + change)
            self._replan()

    def action_keep_last(self, change: int) -> None:
        """Keep one more (or one fewer) recent checkpoint per experiment, and plan again."""
        if self.phase in ("ready", "planning"):
            self.options.keep_last = max(0, self.options.keep_last + change)
            self._replan()

    def action_confirm(self) -> None:
        """Ask before deleting; after a run, close."""
        if self.phase == "done":
            self.action_back()
        elif self.phase == "ready" and self.plan is not None and self.plan.deleted:
            self.phase = "confirm"
            count = len(self.plan.deleted)
            question = Text(
                f"Delete {count} checkpoint{'s' if count != 1 else ''} and their sidecars "
                f"({plan_summary(self.plan)})? ",
                style="bold red",
            )
            question.append("y: yes · n: no", style="bold")
            self._status(question)

    def action_yes(self) -> None:
        """Confirmed: delete exactly the plan."""
        if self.phase != "confirm" or self.plan is None:
            return
        self.phase = "running"
        bar = self.query_one(ProgressBar)
        bar.update(total=len(self.plan.deleted), progress=0)
        bar.display = True
        self._status(Text("deleting… (escape stops after the current checkpoint)"))
        self._delete_worker(self.plan)

    def action_no(self) -> None:
        """Back from the confirmation to the plan."""
        if self.phase == "confirm":
            self.phase = "ready"
            self._show_plan()

    def action_back(self) -> None:
        """Back from the confirmation, stop a run, or close."""
        if self.phase == "confirm":
            self.action_no()
        elif self.phase == "running":
            self._cancel.set()
            self._status(Text("stopping after the current checkpoint…"))
        else:
            deleted = [p for p, r in self.results.items() if r.outcome == "deleted"]
            ran = self.report is not None or bool(self.results)
            self.dismiss(deleted if ran else None)

    # -- deleting ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="prune")
    def _delete_worker(self, plan: PrunePlan) -> None:
        def posted(done: int, total: int, result: ItemResult) -> None:
            self.post_message(self.Deleted(done, total, result))

        report = execute_plan(plan, cancel=self._cancel, on_item=posted)
        self.post_message(self.Finished(report))

    @on(Deleted)
    def _deleted(self, message: Deleted) -> None:
        self.results[message.result.checkpoint_path] = message.result
        self.query_one(ProgressBar).update(progress=message.done)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.report = message.report
        self.phase = "done"
        self._show_plan()
        style = "bold" if message.report.ok else "bold red"
        line = Text(report_summary(message.report), style=style)
        line.append(" — enter or escape: close", style="")
        self._status(line)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # A crash is shown, never a screen stuck in "planning" or "deleting".
        if event.state != WorkerState.ERROR:
            return
        self.phase = "done"
        message = f"{event.worker.group} failed: {safe(event.worker.error, 200)}"
        self._status(Text(message + " — escape: close", style="bold red"))


class PruneHost(Protocol):
    """What the prune screen needs from the screen that opens it (the main screen)."""

    root: Path
    marks: set[str]
    app: Any

    @property
    def catalog(self) -> Any: ...

    @property
    def entries(self) -> Mapping[str, CheckpointCatalogEntry]: ...

    def notify(self, message: str, *, title: str = ...) -> Any: ...

    def action_rescan(self) -> None: ...


def open_prune_screen(main: PruneHost) -> None:
    """Open the prune screen over ``main``: the marked rows' experiments, else all."""
    entries = main.catalog.by_path()
    marked = {run_folder(path) for path in main.marks if path in main.entries}
    screen = PruneScreen(main.root, entries, runs=marked or None)

    def closed(deleted: list[str] | None) -> None:
        if deleted is None:
            return
        main.marks.difference_update(deleted)
        main.notify(f"deleted {len(deleted)} checkpoint(s)", title="Prune")
        main.action_rescan()  # the rescan drops the rows of the files that went

    main.app.push_screen(screen, callback=closed)
