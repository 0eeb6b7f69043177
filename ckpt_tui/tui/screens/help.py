"""The help screen: the key table and the filter language at a glance."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ckpt_tui.tui.keys import EXTRA_KEYS, FILTER_EXAMPLES, KEYS


def help_table(rows: tuple[tuple[str, str], ...], title: str) -> Table:
    """A two-column table of ``(keys, meaning)`` rows."""
    # No header row: "key" and "action" say nothing the rows do not, and 80×24 needs the line.
    table = Table(
        title=title,
        title_justify="left",
        expand=True,
        show_edge=False,
        box=None,
        show_header=False,
    )
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("action", ratio=1)
    for keys, meaning in rows:
        table.add_row(Text(keys), Text(meaning))
    return table


class HelpScreen(ModalScreen[None]):
    """Lists the keys; escape, q, ? or enter closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,enter", "dismiss", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog") as dialog:
            dialog.border_title = "ckpt-tui help"
            dialog.border_subtitle = "escape to close"
            yield Static(help_table(KEYS, "Keys"), id="help-keys")
            yield Static(help_table(EXTRA_KEYS, "Also"), id="help-extra")
            yield Static(help_table(FILTER_EXAMPLES, "Filter language"), id="help-filter")
