"""Helpers for the prune screen's tests: running the app headless and reading the screen.

(A uniquely named module rather than conftest.py, so test modules can import it.)
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import Any

from screen_capture import screen_text, scrolled_text, widget_text
from tui_pilot import main_screen as main
from tui_pilot import open_screen
from tui_pilot import running as _running
from tui_pilot import wait_for as _wait_for

from ckpt_tui.tui.app import CheckpointBrowserApp
from ckpt_tui.tui.screens.prune import PruneScreen

__all__ = ["main", "screen_text", "scrolled_text"]

#: The prune screen's plans take longer than the other screens' waits allow on a slow machine.
TIMEOUT = 30.0


#: :func:`tui_pilot.wait_for` with this folder's longer default ``timeout``.
wait_for = partial(_wait_for, timeout=TIMEOUT)


def running(
    root: Path, size: tuple[int, int] = (120, 35)
) -> AbstractAsyncContextManager[tuple[CheckpointBrowserApp, Any]]:
    """The app on ``root``, headless, once its first scan and verification are done."""
    return _running(root, size, verified=True, notification_timeout=60, wait={"timeout": TIMEOUT})


async def open_prune(pilot: Any) -> PruneScreen:
    """Press ``p`` and wait until the plan is shown."""
    return await open_screen(pilot, "p", PruneScreen, what="the screen", timeout=TIMEOUT)


def status(screen: PruneScreen) -> str:
    """The prune screen's status line as shown (wrapped lines joined)."""
    lines = widget_text(screen.app, screen.query_one("#prune-status")).splitlines()
    return " ".join(line.strip() for line in lines)
