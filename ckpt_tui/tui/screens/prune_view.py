"""How a prune plan is shown: pure functions from the plan (and results) to Rich text.

Every name from the tree passes through :func:`~ckpt_tui.tui.formatting.safe` (control
characters escaped) and Rich text is built without markup parsing.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ckpt_tui.prune.execute import ItemResult, PruneReport
from ckpt_tui.prune.plan import ExperimentPlan, PruneItem, PrunePlan
from ckpt_tui.tui.formatting import ellipsize, human_size, safe

NAME_WIDTH = 30
"""Cells given to a checkpoint's name before its value and reasons."""


def experiment_header(experiment: ExperimentPlan) -> Text:
    """``run · exp — by val/hmean (max) · 2 to delete · 3 kept · 1.2 MB``."""
    deleted = len(experiment.deleted)
    text = Text()
    text.append(safe(experiment.run or ".", 80), style="bold")
    if experiment.exp_name and experiment.exp_name != experiment.run.rpartition("/")[2]:
        text.append(f" · {safe(experiment.exp_name, 40)}")
    text.append(f" — by {safe(experiment.ranking, 40)} ({experiment.mode})", style="dim")
    if deleted:
        text.append(f" · {deleted} to delete", style="bold red")
        text.append(f" · {len(experiment.kept)} kept")
        text.append(f" · {human_size(experiment.reclaimable_bytes)}", style="bold")
    else:
        text.append(f" · nothing to delete · {len(experiment.kept)} kept", style="dim")
    return text


def item_cells(item: PruneItem, result: ItemResult | None = None) -> tuple[Text, ...]:
    """One checkpoint's cells: what happens to it, its name, its value, and why."""
    if result is not None:
        style = "green" if result.outcome in ("deleted", "gone") else "bold red"
        action = Text(result.outcome, style=style)
    elif item.action == "delete":
        action = Text("delete", style="bold red")
    else:
        action = Text("keep", style="green")
    name = Text(ellipsize(safe(item.file_name, 200), NAME_WIDTH))
    value = Text("" if item.value is None else f"{item.value:.4g}", style="cyan")
    why = result.message if result is not None and result.message else "; ".join(item.reasons)
    return action, name, value, Text(safe(why, 300), style="dim" if item.action == "keep" else "")


def experiment_table(experiment: ExperimentPlan, results: Mapping[str, ItemResult]) -> Table:
    """The rows of one experiment; the reasons wrap in their own column."""
    table = Table(box=None, show_header=False, expand=True, padding=(0, 1, 0, 0))
    table.add_column("action", no_wrap=True, width=8)
    table.add_column("checkpoint", no_wrap=True, max_width=NAME_WIDTH)
    table.add_column("value", no_wrap=True, justify="right", width=7)
    table.add_column("why", ratio=1)
    for item in experiment.items:
        table.add_row(*item_cells(item, results.get(item.checkpoint_path)))
    return table


def plan_view(plan: PrunePlan, results: Mapping[str, ItemResult] | None = None) -> Group:
    """The whole plan: experiments with something to delete first, each with every row; then
    one line per experiment that keeps everything."""
    results = results or {}
    parts: list[RenderableType] = []
    busy = [e for e in plan.experiments if e.deleted]
    quiet = [e for e in plan.experiments if not e.deleted]
    for experiment in busy:
        parts.append(experiment_header(experiment))
        parts.append(Padding(experiment_table(experiment, results), (0, 0, 0, 2)))
    if quiet and busy:
        parts.append(Text())
    parts.extend(experiment_header(experiment) for experiment in quiet)
    if not plan.experiments:
        parts.append(Text("no checkpoints to consider", style="dim"))
    return Group(*parts)


def plan_summary(plan: PrunePlan) -> str:
    """``6 to delete · 10 kept · 28.4 kB reclaimable``."""
    deleted = len(plan.deleted)
    kept = len(plan.items) - deleted
    return f"{deleted} to delete · {kept} kept · {human_size(plan.reclaimable_bytes)} reclaimable"


def report_summary(report: PruneReport) -> str:
    """``deleted 6 (28.4 kB freed) · 0 skipped · 0 failed``."""
    text = (
        f"deleted {report.count('deleted')} ({human_size(report.freed_bytes)} freed) · "
        f"{report.count('skipped')} skipped · {report.count('failed')} failed"
    )
    if report.count("gone"):
        text += f" · {report.count('gone')} already gone"
    if report.cancelled:
        text += " · cancelled"
    return text
