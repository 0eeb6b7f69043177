"""At 80×24 (and 60 columns) the footer keeps ``? Help`` and ``q Quit`` whole, nothing stray is
drawn after the last hint, and notifications leave the status line and the help screen alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from screen_capture import region_lines, screen_text, toast_texts
from textual.widgets import Footer
from tui_helpers import detail, main, running, status, wait_for


def footer_line(app: object) -> str:
    footer = main(app).query_one(Footer)  # type: ignore[arg-type]
    return region_lines(app, footer.region)[0]


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (120, 35)])
async def test_footer_keeps_help_and_quit(tui_tree: Path, size: tuple[int, int]) -> None:
    async with running(tui_tree, size=size) as (app, pilot):
        for focus in ("table", "detail"):
            if focus == "detail":
                await pilot.press("enter")
                await wait_for(pilot, lambda: app.focused is detail(app))
            # The footer is recomposed after a focus or size change: wait for it, not a moment.
            await wait_for(pilot, lambda: "q Quit" in footer_line(app), what="the footer")
            line = footer_line(app)
            assert "? Help" in line and "q Quit" in line, line
            assert line.rstrip().endswith("^p palette"), line  # nothing stray after it
            assert "/ Filter" in line


async def test_wide_footer_shows_every_hint(tui_tree: Path) -> None:
    async with running(tui_tree, size=(160, 35)) as (app, _pilot):
        line = footer_line(app)
        for hint in ("/ Filter", "s Sort", "S Reverse", "space Mark", "y Copy", "^r Rescan"):
            assert hint in line


async def test_notifications_leave_the_status_line_visible(tui_tree: Path) -> None:
    async with running(tui_tree, size=(60, 20)) as (app, pilot):
        app.notify("a long message that would otherwise cover the bottom of the screen " * 2)
        await wait_for(pilot, lambda: bool(toast_texts(app)))
        toast = app.screen.query("Toast").first()
        assert toast.region.width <= 30  # half the screen at most
        assert "shown" in status(app)  # the status line is not covered
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: "help" in screen_text(app).lower())
        await pilot.pause(0.1)
        assert toast_texts(app) == []  # opening the help dismisses them
