"""What a lone checkpoint is compared with: the best other checkpoint of its experiment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ckpt_tui.model.entry import CheckpointCatalogEntry

Entry = CheckpointCatalogEntry


@dataclass(frozen=True, slots=True)
class BestChoice:
    """The checkpoint chosen (``None`` when there is none) and why, in words."""

    entry: Entry | None
    reason: str


def best_of_experiment(entry: Entry, entries: Iterable[Entry]) -> BestChoice:
    """The best checkpoint of ``entry``'s experiment other than ``entry`` itself.

    Best is ranked by the experiment's monitor (the metric most of its checkpoints name) in its
    mode (``min`` or ``max``; ``max`` when no checkpoint says), among the checkpoints that have
    a value for it; when none has, by the highest hmean. Ties keep the first in ``entries``.
    """
    members = [e for e in entries if e.exp_name == entry.exp_name]
    others = [e for e in members if e.checkpoint_path != entry.checkpoint_path]
    name = entry.exp_name or "its experiment"
    if not others:
        return BestChoice(None, f"no other checkpoint in {name}")
    monitors = Counter(e.monitor for e in members if e.monitor)
    if monitors:
        monitor = monitors.most_common(1)[0][0]
        modes = Counter(e.monitor_mode for e in members if e.monitor == monitor and e.monitor_mode)
        mode = modes.most_common(1)[0][0] if modes else "max"
        scored = [
            (e.monitor_value, e)
            for e in others
            if e.monitor == monitor and e.monitor_value is not None
        ]
        if scored:
            pick = (min if mode == "min" else max)(scored, key=lambda item: item[0])
            return BestChoice(pick[1], f"best of {name} by {monitor} ({mode})")
    ranked = [(e.hmean, e) for e in others if e.hmean is not None]
    if ranked:
        return BestChoice(max(ranked, key=lambda item: item[0])[1], f"best of {name} by hmean")
    return BestChoice(None, f"no other checkpoint in {name} has a monitored value or an hmean")
