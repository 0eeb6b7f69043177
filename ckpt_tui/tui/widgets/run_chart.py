"""The run's chart in the detail pane: its monitored metric over its checkpoints.

A Textual ``Sparkline`` of the metric, one bar per checkpoint of the run ordered by step (then
epoch), a caret under the highlighted checkpoint's bar, and a line naming the metric, its range
and where this checkpoint stands. The metric is the run's ``monitor`` (its ``monitor_value``),
else hmean; a run with fewer than two known values has no chart — unless the checkpoint is a
Trainer folder whose ``trainer_state.json`` holds an eval history: then that history is plotted,
this checkpoint being its last evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui import formatting as fmt
from ckpt_tui.tui.widgets.folder_view import eval_history

Entry = CheckpointCatalogEntry


@dataclass(frozen=True)
class RunSeries:
    """One metric over a run's checkpoints, in training order."""

    metric: str
    """What is plotted (the monitor's name, or ``hmean``)."""
    values: list[float]
    """One value per checkpoint."""
    current: int | None
    """The index of the highlighted checkpoint, ``None`` when it has no value."""


def run_series(entry: Entry, run: Sequence[Entry]) -> RunSeries | None:
    """The series of ``entry``'s run (``run`` holds its checkpoints, ``entry`` included), or
    ``None`` when fewer than two checkpoints have a value."""
    monitored = [e for e in run if e.monitor_value is not None]
    use_monitor = len(monitored) >= 2 and entry.monitor_value is not None
    if use_monitor:
        points = [(e, float(e.monitor_value)) for e in monitored if e.monitor_value is not None]
        metric = fmt.safe(entry.monitor or "monitor", 40)
    else:
        points = [(e, e.hmean) for e in run if e.hmean is not None]
        metric = "hmean"
    if len(points) < 2:
        history = eval_history(entry)
        if history is None or len(history[1]) < 2:
            return None
        name, values = history
        return RunSeries(f"{fmt.safe(name, 40)} (Trainer evaluations)", values, len(values) - 1)
    points.sort(key=lambda p: (_order(p[0].global_step), _order(p[0].epoch), p[0].checkpoint_path))
    current = next((i for i, (e, _) in enumerate(points) if e is entry), None)
    return RunSeries(metric, [value for _, value in points], current)


def _order(value: int | None) -> float:
    return float("inf") if value is None else float(value)


class RunChart(Vertical):
    """The sparkline, the caret line under it and the caption; hidden without a series."""

    DEFAULT_CSS = """
    RunChart { height: auto; margin-top: 1; }
    RunChart > Sparkline { height: 2; width: auto; }
    RunChart > Sparkline > .sparkline--max-color { color: $success; }
    RunChart > Sparkline > .sparkline--min-color { color: $warning 60%; }
    RunChart > #run-chart-caret { height: 1; color: $accent; }
    RunChart > #run-chart-caption { height: auto; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="run-chart-title")
        yield Sparkline([], id="run-chart-line")
        yield Static(id="run-chart-caret")
        yield Static(id="run-chart-caption")

    def show(self, series: RunSeries | None, width: int) -> None:
        """Plot ``series`` in at most ``width`` cells (one bar per checkpoint when it fits)."""
        self.display = series is not None
        if series is None:
            return
        values = series.values
        bars = max(1, min(len(values), width))
        line = self.query_one(Sparkline)
        line.styles.width = bars
        line.data = values
        caret = Text()
        if series.current is not None:
            column = series.current * bars // len(values)
            caret.append(" " * column + "▲")
        self.query_one("#run-chart-caret", Static).update(caret)
        title = Text(f"{series.metric} over the run", style="bold underline")
        title.append(f" ({len(values)})", style="dim")
        self.query_one("#run-chart-title", Static).update(title)
        low, high = min(values), max(values)
        caption = f"min {low:.3f} · max {high:.3f}"
        if series.current is not None:
            caption += f" · ▲ {values[series.current]:.3f}"
        self.query_one("#run-chart-caption", Static).update(Text(caption))
