"""The shared screen reader gives back, character for character, the text an app shows."""

from __future__ import annotations

from rich.text import Text
from screen_capture import region_lines, screen_lines, widget_text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import Static

LINES = [
    "a&b <i>not markup</i> 'q' \"d\" &#160;",
    "日本語 wide, then narrow",
    "no\u00a0break",
    "   indented, spaced   out",
]


class Lines(App[None]):
    """Each line in its own colour, so each becomes runs of its own in the screenshot."""

    def compose(self) -> ComposeResult:
        for i, line in enumerate(LINES):
            yield Static(Text(line, style=("red", "green", "blue", "yellow")[i]), id=f"l{i}")


class Dialog(ModalScreen[None]):
    DEFAULT_CSS = "Dialog { align: center middle; } Dialog > Vertical { width: 20; height: 3; }"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("modal text", id="modal")


async def test_lines_come_back_exactly() -> None:
    app = Lines()
    async with app.run_test(size=(40, 8)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        assert len(lines) == 8
        for i, line in enumerate(LINES):
            assert lines[i] == line + " " * (40 - len(line) - (3 if i == 1 else 0))
        assert widget_text(app, app.query_one("#l3")) == LINES[3].rstrip()
        # A region is cut by cells: the wide characters fill 6 of them.
        assert region_lines(app, Region(4, 1, 12, 1)) == ["語 wide, the"]


async def test_a_modal_shows_over_the_screen_beneath() -> None:
    app = Lines()
    async with app.run_test(size=(40, 8)) as pilot:
        await app.push_screen(Dialog())
        await pilot.pause()
        lines = screen_lines(app)
        assert lines[0].startswith("a&b")  # the screen beneath still shows around the dialog
        (row,) = [line for line in lines if "modal text" in line]
        assert row.index("modal text") == 10  # placed at its column: the dialog is centred
