"""Which checkpoints of one experiment stay, and why: the prune rules, on entries alone.

Nothing here touches a file: the facts the rules need from the filesystem (which files are
links, which a link points to, which a newer checkpoint names as its best) come in as
``protected`` reasons computed by :mod:`ckpt_tui.prune.facts`.

Per experiment (one run folder):

- the K best by the ranking field stay ("best by val/hmean");
- the N most recent stay ("among the last 2"): by step, then epoch, then mtime — a level is
  used only when every checkpoint of the experiment knows it, so a checkpoint whose step is
  unknown is never taken for an old one;
- the experiment's best (by its monitored metric in its mode, else hmean) stays whatever the
  ranking field;
- a checkpoint whose ranking value is unknown stays, unless a filter was given and matches it;
- links stay (deleting one frees nothing), and so does everything ``protected`` names.

Everything else goes, with the reasons it was not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ckpt_tui.catalog.filter import ALIASES, NUMBER_FIELDS
from ckpt_tui.catalog.sort import (
    Mode,
    Ranking,
    experiment_best,
    experiment_monitor,
    experiment_ranking,
    finite,
    metric_value,
    recency_order,
)
from ckpt_tui.model.entry import CheckpointCatalogEntry

Entry = CheckpointCatalogEntry

#: Numeric fields that are better when smaller (all other named fields are better when larger).
_SMALLER_IS_BETTER = frozenset(("val_loss", "size"))
#: Words in a metric name that mean smaller is better, when nothing else says the mode.
_LOSS_WORDS = ("loss", "error", "err", "wer", "cer", "perplexity", "mse", "mae")


class RankingError(ValueError):
    """``--by`` names something that cannot rank checkpoints."""


@dataclass
class Decision:
    """What happens to one checkpoint, and why."""

    entry: Entry
    """The checkpoint."""
    keep: bool = False
    """Whether it stays."""
    reasons: list[str] = field(default_factory=list)
    """Why it stays (every rule that keeps it) or, when it goes, why no rule kept it."""
    value: float | None = None
    """Its value of the ranking field."""


def split_by(by: str | None) -> tuple[str | None, Mode | None]:
    """``--by`` as (name, explicit mode): ``val/loss:min`` → (``val/loss``, ``min``)."""
    if by is None or not by.strip():
        return None, None
    name, _, mode = by.strip().rpartition(":")
    if name and mode in ("min", "max"):
        return name, mode  # type: ignore[return-value]
    return by.strip(), None


def check_by(by: str | None) -> None:
    """Raise :class:`RankingError` when ``by`` cannot be a ranking field at all."""
    name, _ = split_by(by)
    if name is not None and (not name or any(ch.isspace() for ch in name)):
        raise RankingError(f"--by: not a field or metric name: {by!r}")


def _field_getter(canonical: str) -> Callable[[Entry], float | None]:
    getter = NUMBER_FIELDS[canonical]
    return lambda entry: finite(getter(entry))


def ranking_for(by: str | None, entries: Sequence[Entry]) -> Ranking:
    """The ranking ``--by`` asks for in this experiment (``None``: :func:`experiment_ranking`).

    A field of the filter language (hmean, precision, recall, epoch, step, value, val_loss,
    size, ...) ranks by that field; any other name is a metric (the monitored value when the
    checkpoint monitored it, else its additional metric of that name). The mode is the one
    given (``name:min``), else the experiment's monitor mode for its monitored metric, else
    ``min`` for losses and errors and ``max`` for everything else.
    """
    name, mode = split_by(by)
    if name is None:
        return experiment_ranking(entries)
    key = ALIASES.get(name.lower(), name.lower())
    monitor = experiment_monitor(entries)
    if key == "value" and monitor is not None:
        return Ranking(monitor[0], mode or monitor[1], metric_value(monitor[0]))
    if key in NUMBER_FIELDS:
        guessed: Mode = "min" if key in _SMALLER_IS_BETTER else "max"
        return Ranking(key, mode or guessed, _field_getter(key))
    if mode is None:
        if monitor is not None and monitor[0] == name:
            mode = monitor[1]
        else:
            lowered = name.lower()
            mode = "min" if any(word in lowered for word in _LOSS_WORDS) else "max"
    return Ranking(name, mode, metric_value(name))


def decide(
    entries: Sequence[Entry],
    *,
    keep_best: int,
    keep_last: int,
    by: str | None = None,
    links: Iterable[str] = (),
    protected: Mapping[str, Sequence[str]] | None = None,
    selected: Callable[[Entry], bool] | None = None,
) -> tuple[Ranking, list[Decision]]:
    """Decide each checkpoint of one experiment (see the module's rules).

    ``links`` are the checkpoint paths that are symbolic links; ``protected`` maps checkpoint
    paths to reasons they must stay (link targets, a newer checkpoint's best, safety); with
    ``selected`` (a ``--filter``), entries it rejects stay and entries it accepts may go even
    when their ranking value is unknown. Decisions come back oldest first (:func:`recency_order`
    reversed).
    """
    ranking = ranking_for(by, entries)
    link_paths = set(links)
    decisions = {entry.checkpoint_path: Decision(entry) for entry in entries}
    for path, reasons in (protected or {}).items():
        if path in decisions:
            decisions[path].reasons.extend(reasons)
    rankable = [entry for entry in entries if entry.checkpoint_path not in link_paths]
    for path in link_paths & decisions.keys():
        decisions[path].reasons.append("a link: deleting it frees nothing")

    for entry in rankable:
        decisions[entry.checkpoint_path].value = ranking.value(entry)
    recency = {id(entry): index for index, entry in enumerate(recency_order(rankable))}
    # Better value first; among equal values the more recent first.
    valued = sorted(
        (entry for entry in rankable if ranking.value(entry) is not None),
        key=lambda entry: (ranking.order(ranking.value(entry) or 0.0), recency[id(entry)]),
    )
    for index, entry in enumerate(valued[: max(0, keep_best)]):
        rank = "best" if index == 0 else f"among the {keep_best} best"
        decisions[entry.checkpoint_path].reasons.append(f"{rank} by {ranking.label}")
    # The experiment's best: the rule is:best and the compare screen use too.
    own_best, own = experiment_best(entries, rankable)
    if own_best is not None and not (by is None and keep_best > 0):
        decisions[own_best.checkpoint_path].reasons.append(f"the experiment's best by {own.label}")
    for index, entry in enumerate(recency_order(rankable)[: max(0, keep_last)]):
        decisions[entry.checkpoint_path].reasons.append(
            "the most recent" if index == 0 else f"among the last {keep_last}"
        )
    for entry in rankable:
        if ranking.value(entry) is None and (selected is None or not selected(entry)):
            decisions[entry.checkpoint_path].reasons.append(
                f"ranking value unknown ({ranking.label})"
            )
    if selected is not None:
        for entry in entries:
            if not selected(entry):
                decisions[entry.checkpoint_path].reasons.append("not selected by the filter")

    for decision in decisions.values():
        decision.keep = bool(decision.reasons)
        if not decision.keep:
            decision.reasons = _why_not_kept(decision, ranking, keep_best, keep_last)
    # Oldest first, as training wrote them (a text sort would put epoch=10 before epoch=8).
    oldest_first = reversed(recency_order(entries))
    return ranking, [decisions[entry.checkpoint_path] for entry in oldest_first]


def _why_not_kept(
    decision: Decision, ranking: Ranking, keep_best: int, keep_last: int
) -> list[str]:
    reasons = [f"older than the last {keep_last}" if keep_last > 0 else "keep-last is 0"]
    if decision.value is None:
        reasons.append(f"no {ranking.label} value (selected by the filter)")
    elif keep_best > 0:
        reasons.append(f"not among the {keep_best} best by {ranking.label}")
    else:
        reasons.append("keep-best is 0")
    return reasons
