"""The conversion screen's candidate list: one checkbox per checkpoint, frozen during a run."""

from __future__ import annotations

from textual.widgets import SelectionList


class CandidateList(SelectionList[int]):
    """The candidates, one checkbox each; ``frozen`` once a run has started."""

    frozen: bool = False
    """When set, space and clicks no longer change the selection."""

    def action_select(self) -> None:
        """Toggle the highlighted row, unless a run has started."""
        if not self.frozen:
            super().action_select()
