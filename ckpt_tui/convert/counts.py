"""The one count model of a conversion: every number the conversion screen shows.

Each candidate is in exactly one state (:data:`RowState`), before a run and after it, so the
header (candidates), the status line (selected, will write, will skip and why, can't convert and
why), the rows and the summary after the run all add up to the same total.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from ckpt_tui.convert.plan import ConversionItem, Outcome


class HasOutcome(Protocol):
    """What a report of one written item tells the counts (an ``ItemReport``)."""

    @property
    def outcome(self) -> Outcome | None: ...

    @property
    def reason(self) -> str: ...


RowState = Literal[
    "write", "replace", "not selected", "skip", "can't convert",
    "written", "skipped", "failed", "not run",
]  # fmt: skip
"""Where one candidate stands: before a run (``write``, ``replace``, ``not selected``, ``skip``,
``can't convert``) or after it (``written``, ``skipped``, ``failed``, ``not run``)."""


@dataclass(frozen=True)
class ConversionCounts:
    """Every number a conversion shows, from one place: each candidate is in exactly one
    state, so the states add up to the candidates, before a run and after it."""

    candidates: int
    """Every checkpoint offered for conversion (one row each)."""
    selectable: int
    """Candidates that can be written (``write`` or ``replace``)."""
    selected: int
    """Selectable candidates chosen to be written."""
    states: dict[str, int]
    """How many candidates are in each :data:`RowState` (states with none left out)."""
    reasons: dict[str, dict[str, int]]
    """For ``skip``, ``can't convert``, ``skipped`` and ``failed``: how many for each reason
    (the reason's kind: ``sidecar exists``, ``a sidecar appeared``, ...)."""

    def __getitem__(self, state: str) -> int:
        return self.states.get(state, 0)


def row_state(
    item: ConversionItem, *, selected: bool, result: HasOutcome | None, ran: bool
) -> tuple[RowState, str]:
    """The state of one candidate and its reason (empty when none applies)."""
    if result is not None and result.outcome is not None:
        return result.outcome, result.reason
    if item.action == "skip":
        return "skip", item.reason
    if item.action == "impossible":
        return "can't convert", item.reason
    if not selected:
        return "not selected", ""
    if ran:
        return "not run", ""
    return item.action, ""


def reason_kind(reason: str) -> str:
    """A reason without its particulars (the file name after ``:``): how reasons are grouped."""
    kind = reason.split(":", 1)[0].strip()
    return kind if len(kind) <= 48 else kind[:47] + "…"


def count_conversion(
    items: Sequence[ConversionItem],
    selected: Collection[int],
    results: Mapping[int, HasOutcome] | None = None,
    *,
    ran: bool = False,
) -> ConversionCounts:
    """The counts of a plan's ``items`` with the ``selected`` indexes, and (once a run started,
    ``ran``) the ``results`` by index so far."""
    results = results or {}
    states: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    selectable = 0
    chosen = set(selected)
    for index, item in enumerate(items):
        selectable += item.action in ("write", "replace")
        state, reason = row_state(
            item, selected=index in chosen, result=results.get(index), ran=ran
        )
        states[state] = states.get(state, 0) + 1
        if reason:
            kinds = reasons.setdefault(state, {})
            kinds[reason_kind(reason)] = kinds.get(reason_kind(reason), 0) + 1
    taken = sum(
        1 for i in chosen if 0 <= i < len(items) and items[i].action in ("write", "replace")
    )
    return ConversionCounts(len(items), selectable, taken, states, reasons)
