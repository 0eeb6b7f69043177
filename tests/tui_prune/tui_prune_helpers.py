"""Helpers for the prune screen's tests: running the app headless and reading the screen.

(A uniquely named module rather than conftest.py, so test modules can import it.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from screen_capture import screen_text, scrolled_text, widget_text

from ckpt_tui.tui.app import CheckpointBrowserApp, make_app
from ckpt_tui.tui.screens.main import MainScreen
from ckpt_tui.tui.screens.prune import PruneScreen

__all__ = ["screen_text", "scrolled_text"]


async def wait_for(
    pilot: Any, condition: Callable[[], bool], *, timeout: float = 30.0, what: str = ""
) -> None:
    """Let the app run until ``condition()`` holds; fail (not hang) after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)
    await pilot.pause()


def main(app: CheckpointBrowserApp) -> MainScreen:
    """The main screen (the bottom of the stack)."""
    screen = app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


@asynccontextmanager
async def running(
    root: Path, size: tuple[int, int] = (120, 35)
) -> AsyncIterator[tuple[CheckpointBrowserApp, Any]]:
    """The app on ``root``, headless, once its first scan and verification are done."""
    app = make_app(
        root,
        clock=lambda: datetime(2025, 11, 1, 12, 0, tzinfo=timezone.utc),
        poll_interval=None,
        cursor_blink=False,
    )
    app.NOTIFICATION_TIMEOUT = 60
    async with app.run_test(size=size, notifications=True) as pilot:
        await wait_for(pilot, lambda: main(app).scans_completed >= 1, what="the first scan")
        await wait_for(pilot, lambda: not main(app).is_verifying, what="the verification")
        yield app, pilot


async def open_prune(pilot: Any) -> PruneScreen:
    """Press ``p`` and wait until the plan is shown."""
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PruneScreen), what="the screen")
    screen = pilot.app.screen
    assert isinstance(screen, PruneScreen)
    await wait_for(pilot, lambda: screen.phase == "ready", what="the plan")
    return screen


def status(screen: PruneScreen) -> str:
    """The prune screen's status line as shown (wrapped lines joined)."""
    lines = widget_text(screen.app, screen.query_one("#prune-status")).splitlines()
    return " ".join(line.strip() for line in lines)
