"""What a lone checkpoint is compared with: the best other checkpoint of its experiment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ckpt_tui.catalog.sort import experiment_best
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.sources.path import run_folder

Entry = CheckpointCatalogEntry


@dataclass(frozen=True, slots=True)
class BestChoice:
    """The checkpoint chosen (``None`` when there is none) and why, in words."""

    entry: Entry | None
    reason: str


def best_of_experiment(entry: Entry, entries: Iterable[Entry]) -> BestChoice:
    """The best checkpoint of ``entry``'s experiment (its run folder) other than ``entry`` itself.

    The rule of :func:`~ckpt_tui.catalog.sort.experiment_best`: the experiment's monitored metric
    in its mode, else the highest hmean. Among equal values, a file over a link, then the more
    recent.
    """
    run = run_folder(entry.checkpoint_path)
    members = [e for e in entries if run_folder(e.checkpoint_path) == run]
    others = [e for e in members if e.checkpoint_path != entry.checkpoint_path]
    name = entry.exp_name or run or "its experiment"
    if not others:
        return BestChoice(None, f"no other checkpoint in {name}")
    known = any(e.checkpoint_path == entry.checkpoint_path for e in members)
    best, ranking = experiment_best(members if known else [*members, entry], others)
    if best is None and any(e.hmean is not None for e in others):
        # The monitor ranks the experiment: an hmean does not stand in for its missing values.
        return BestChoice(None, f"no other checkpoint in {name} has a {ranking.label} value")
    if best is None:
        return BestChoice(None, f"no other checkpoint in {name} has a monitored value or an hmean")
    if ranking.label == "hmean":
        return BestChoice(best, f"best of {name} by hmean")
    return BestChoice(best, f"best of {name} by {ranking.label} ({ranking.mode})")
