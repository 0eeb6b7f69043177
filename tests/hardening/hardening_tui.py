"""Running the app headless for the hardening tests (``run_test``, no polling, fixed size)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from screen_capture import screen_lines as screen_lines
from screen_capture import toast_texts as toast_texts

LOAD_TIMEOUT_S = 120.0


@asynccontextmanager
async def run_headless(
    root: Path,
    size: tuple[int, int] = (160, 120),
    timeout: float = LOAD_TIMEOUT_S,
    notifications: bool = True,
) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The app on ``root`` until its first scan is complete: ``(app, pilot, table)``."""
    from ckpt_tui.tui.app import make_app
    from ckpt_tui.tui.widgets.catalog_table import CatalogTable

    app = make_app(root, poll_interval=None, cursor_blink=False)
    app.NOTIFICATION_TIMEOUT = 60  # read before they expire, however slow the machine
    async with app.run_test(size=size, notifications=notifications) as pilot:
        screen = app.screen_stack[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while getattr(screen, "scans_completed", 0) < 1:
            assert app.is_running, "the app stopped while loading"
            assert loop.time() < deadline, "the app did not finish loading"
            await pilot.pause(0.05)
        await pilot.pause()
        yield app, pilot, screen.query_one(CatalogTable)


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds; fail (not hang) after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {condition}"
        await pilot.pause(0.05)
