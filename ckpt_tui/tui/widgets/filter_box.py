"""The filter box: the core filter language, applied as you type.

A valid expression is applied after a short pause in typing (debounced), or at once on enter,
which also hands the focus back to the table. Escape clears the filter and returns to the table.
An invalid expression shows its error in the box's border and changes nothing else: the table
keeps the last valid filter.

| key | action |
|---|---|
| enter | apply and return to the table |
| escape | clear and return to the table |
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input

from ckpt_tui.catalog.filter import EntryFilter, FilterError, parse_filter
from ckpt_tui.tui.formatting import safe

#: Seconds of typing pause before a filter applies.
DEBOUNCE = 0.15
PLACEHOLDER = "/ to filter: dbnet  arch:dbnet  hmean>0.8  size<200MB  -last  has:issues  is:best"


class FilterBox(Input):
    """An ``Input`` that parses the filter language and posts :class:`FilterBox.Applied`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", id="filter.clear"),
    ]

    class Applied(Message):
        """A valid filter was applied; ``leave`` when the focus should return to the table."""

        def __init__(self, entry_filter: EntryFilter, *, leave: bool) -> None:
            super().__init__()
            self.entry_filter = entry_filter
            self.leave = leave

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=PLACEHOLDER, id=id)
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self.border_title = "filter"
        # The app turns blinking off for deterministic snapshots.
        self.cursor_blink = bool(getattr(self.app, "cursor_blink", True))

    @on(Input.Changed)
    def _schedule(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, lambda: self.apply(leave=False))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply(leave=True)

    def action_clear_filter(self) -> None:
        """Empty the box, apply the empty filter and return to the table."""
        self.value = ""
        self.apply(leave=True)

    def set_expression(self, expression: str) -> None:
        """Replace the text (palette presets) and apply it at once."""
        self.value = expression
        self.cursor_position = len(expression)
        self.apply(leave=False)

    def apply(self, *, leave: bool) -> bool:
        """Parse the current text; post :class:`Applied` when valid, show the error when not."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        try:
            parsed = parse_filter(self.value)
        except FilterError as exc:
            self.add_class("-invalid")
            self.border_subtitle = safe(str(exc), 200)
            return False
        self.remove_class("-invalid")
        self.border_subtitle = ""
        self.post_message(self.Applied(parsed, leave=leave))
        return True
