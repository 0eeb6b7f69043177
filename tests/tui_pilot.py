"""Running the app headless under Pilot, for every TUI test folder (tui, tui_conversion,
tui_prune): the fixed clock, building and running the app, waiting for it, and the per-test
private cache with UTC as the local time.

Each folder's own helper module binds the defaults its tests were written for (a longer wait for
the prune screen's slower plans, the verification awaited before the conversion screen opens).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ckpt_tui.tui.app import CheckpointBrowserApp, make_app
from ckpt_tui.tui.screens.main import MainScreen

ScreenT = TypeVar("ScreenT")

FIXED_NOW = datetime(2025, 11, 1, 12, 0, tzinfo=timezone.utc)


def fixed_clock() -> datetime:
    """The tests' "now"."""
    return FIXED_NOW


async def wait_for(
    pilot: Any,
    condition: Callable[[], bool],
    *,
    timeout: float = 20.0,
    what: str = "",
    interval: float = 0.02,
) -> None:
    """Let the app run until ``condition()`` holds; fail (not hang) after ``timeout`` seconds.

    ``interval`` is the pause between two checks."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(interval)
    await pilot.pause()


def main_screen(app: CheckpointBrowserApp) -> MainScreen:
    """The main screen (the bottom of the stack)."""
    screen = app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


def build(root: Path, **options: Any) -> CheckpointBrowserApp:
    """The app as tests run it: fixed clock, no blinking, no background polling (``options``
    override these or add to them)."""
    options.setdefault("clock", fixed_clock)
    options.setdefault("poll_interval", None)
    options.setdefault("cursor_blink", False)
    return make_app(root, **options)


async def loaded(pilot: Any, *, verified: bool = True, **wait: Any) -> None:
    """Wait for the main screen's first scan and, with ``verified``, the verdicts of its sidecar
    rows (``wait``: :func:`wait_for`'s timing options)."""
    app = pilot.app
    await wait_for(
        pilot, lambda: main_screen(app).scans_completed >= 1, what="the first scan", **wait
    )
    if verified:
        await wait_for(
            pilot, lambda: not main_screen(app).is_verifying, what="the verification", **wait
        )


@asynccontextmanager
async def running(
    root: Path,
    size: tuple[int, int] = (120, 36),
    *,
    verified: bool = False,
    notification_timeout: float | None = None,
    wait: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[CheckpointBrowserApp, Any]]:
    """Run the app headless until its first scan is complete (and, with ``verified``, its
    verification); yields the app and its pilot.

    ``notification_timeout`` keeps toasts up longer, so a slow machine reads them before they
    expire; ``wait`` holds :func:`wait_for`'s timing options; ``options`` go to :func:`build`.
    """
    app = build(root, **options)
    if notification_timeout is not None:
        app.NOTIFICATION_TIMEOUT = notification_timeout
    async with app.run_test(size=size, notifications=True) as pilot:
        await loaded(pilot, verified=verified, **(wait or {}))
        yield app, pilot


async def open_screen(
    pilot: Any, key: str, screen_type: type[ScreenT], *, what: str, **wait: Any
) -> ScreenT:
    """Press ``key`` and wait until a ``screen_type`` screen is on top and its plan is shown
    (``phase == "ready"``); ``what`` names the screen in a timeout's message, ``wait`` holds
    :func:`wait_for`'s timing options."""
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, screen_type), what=what, **wait)
    screen = pilot.app.screen
    assert isinstance(screen, screen_type)
    await wait_for(pilot, lambda: screen.phase == "ready", what="the plan", **wait)
    return screen


@pytest.fixture(autouse=True)
def private_cache_in_utc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A private cache per test, and UTC as the local time (``created_at`` is shown in local
    time). Autouse where a conftest imports it: for that folder's tests only."""
    monkeypatch.setenv("CKPT_TUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    # Undo first, so tzset() reads the TZ the test started with.
    monkeypatch.undo()
    time.tzset()
