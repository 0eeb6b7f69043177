"""Snapshots of the demo tree at 80×24 and 120×36: main, filtered, detail with issues, help.

Deterministic: the demo tree has fixed contents and mtimes, the clock is fixed, the cursor does
not blink, polling is off and the root is shown as ``outputs``. A snapshot cannot tell a good
screen from a crashed one, so each is paired with assertions on what the screen shows.
Regenerate with ``pytest tests/tui/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from screen_capture import widget_text
from tui_helpers import (
    build,
    detail,
    filter_box,
    main,
    screen_text,
    shown_paths,
    type_text,
    wait_for,
)

from ckpt_tui.tui.screens.help import HelpScreen


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Naive timestamps are local time: pin the zone so snapshots match on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]
Step = Callable[[Any], Awaitable[None]]


async def loaded(pilot: Any) -> None:
    await wait_for(pilot, lambda: main(pilot.app).scans_completed >= 1, what="the scan")
    # Sidecar rows get their verdict in the background: wait for all of them.
    await wait_for(pilot, lambda: not main(pilot.app).is_verifying, what="the verification")
    # The header's title updates a frame after the counts change: let it settle.
    await wait_for(
        pilot, lambda: "outputs · 58 checkpoints" in screen_text(pilot.app), what="the header"
    )


def check(snap_compare: Any, root: Path, size: tuple[int, int], steps: Step) -> None:
    app = build(root)
    seen: list[str] = []

    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        await steps(pilot)
        seen.append(screen_text(pilot.app))

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    assert seen, "the app never reached the screen under test"
    assert not app.return_code  # None or 0: the app did not fail


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, in_demo_parent: Path, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        app = pilot.app
        assert len(shown_paths(app)) == 58
        text = screen_text(app)
        assert "outputs · 58 checkpoints" in text
        assert "Experiment" in text and "hmean" in text
        assert "58/58 shown" in text

    check(snap_compare, in_demo_parent, size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_filter_applied(snap_compare: Any, in_demo_parent: Path, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        app = pilot.app
        await pilot.press("slash")
        await type_text(pilot, "arch:dbnet hmean>0.85")
        await pilot.press("enter")
        await pilot.press(*"sssssss")  # path → experiment → file → … → hmean, best first
        rows = [main(app).entries[p] for p in shown_paths(app)]
        assert rows and all(e.architecture and "dbnet" in e.architecture for e in rows)
        assert all(e.hmean is not None and e.hmean > 0.85 for e in rows)
        assert [e.hmean for e in rows] == sorted((e.hmean for e in rows), reverse=True)  # type: ignore[type-var]
        assert f"{len(rows)}/58 shown" in screen_text(app)
        assert "filter arch:dbnet hmean>0.85" in screen_text(app)

    check(snap_compare, in_demo_parent, size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_detail_with_issues(snap_compare: Any, in_demo_parent: Path, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        app = pilot.app
        await pilot.press("slash")
        await type_text(pilot, "has:issues")
        await pilot.press("enter", "enter")  # apply, then focus the detail pane
        assert app.focused is detail(app)
        await pilot.pause()
        pane = widget_text(app, detail(app))  # unscrolled: an erroring row's issues come first
        assert "Issues (" in pane
        assert "✗ error" in pane or "! warning" in pane or "SECURITY" in pane
        assert filter_box(app).value == "has:issues"

    check(snap_compare, in_demo_parent, size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, in_demo_parent: Path, size: tuple[int, int]) -> None:
    async def steps(pilot: Any) -> None:
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        text = screen_text(pilot.app)
        assert "ctrl+r" in text and "rescan" in text

    check(snap_compare, in_demo_parent, size, steps)
