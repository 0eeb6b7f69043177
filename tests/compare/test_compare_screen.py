"""The compare screen under Pilot, read as a user reads it (``screen_capture``)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path
from typing import Any

from screen_capture import screen_lines, screen_text, toast_texts
from textual.widgets import DataTable
from tui_pilot import main_screen as main
from tui_pilot import running as _running
from tui_pilot import wait_for as _wait_for

from ckpt_tui.tui.app import CheckpointBrowserApp
from ckpt_tui.tui.screens.compare import CompareScreen
from ckpt_tui.tui.screens.main import MainScreen
from ckpt_tui.tui.widgets.catalog_table import CatalogTable

PAN = "2025-10-27/13-55-40/checkpoints/last.ckpt"
PAN_EARLY = "2025-10-27/13-55-40/checkpoints/epoch=9-step=750.ckpt"
R18_EARLY = "2025-10-02/09-14-07/checkpoints/epoch=4-step=260.ckpt"
# last.ckpt holds the same score as epoch=9-step=520 and was saved after it: among equal values
# the more recent is the best (the rule prune keeps by).
R18_BEST = "2025-10-02/09-14-07/checkpoints/last.ckpt"
DBNETPP = "ocr_training_dbnetpp_resnet50_20251009/checkpoints/last.ckpt"


#: This file's waits: up to 30 s, checking every 50 ms.
_WAIT = {"timeout": 30.0, "interval": 0.05}
wait_for = partial(_wait_for, **_WAIT)


def running(root: Path, size: tuple[int, int]) -> AbstractAsyncContextManager[tuple[Any, Any]]:
    """The app on ``root`` once its first scan is done; it keeps the real clock (``clock=None``)."""
    return _running(root, size, clock=None, wait=_WAIT)


async def move_to(pilot: Any, app: CheckpointBrowserApp, path: str) -> None:
    table = main(app).query_one(CatalogTable)
    table.move_to([entry.checkpoint_path for entry in table.rows].index(path))
    await pilot.pause()


async def mark(pilot: Any, app: CheckpointBrowserApp, *paths: str) -> None:
    for path in paths:
        await move_to(pilot, app, path)
        await pilot.press("space")


async def open_compare(pilot: Any, app: CheckpointBrowserApp) -> CompareScreen:
    await pilot.press("d")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison is not None,
        what="the comparison",
    )
    assert isinstance(app.screen, CompareScreen)
    return app.screen


def line_with(app: CheckpointBrowserApp, key: str) -> str:
    """The screen line of the row for ``key`` (marked ``~`` when it differs)."""
    for line in screen_lines(app):
        words = line.split()
        header = len(words) > 1 and words[1].startswith("(")  # "safety (2 differ)"
        if (words[:1] == [key] and not header) or words[:2] == ["~", key]:
            return line
    raise AssertionError(f"no row {key!r} on screen:\n{screen_text(app)}")


async def test_two_marked_rows_side_by_side_at_80x24(demo_tree_template: Path):
    async with running(demo_tree_template, (80, 24)) as (app, pilot):
        await mark(pilot, app, PAN, DBNETPP)
        screen = await open_compare(pilot, app)
        text = screen_text(app)
        assert f"A {PAN}  safe" in text and f"B {DBNETPP}  safe" in text
        assert "A last.ckpt" in text and "B last.ckpt" in text
        # Both checkpoints' values on one line, the differing one marked.
        assert line_with(app, "epoch").split() == ["~", "epoch", "15", "27"]
        assert line_with(app, "format").split() == ["format", "zip", "zip"]
        assert "esc Back" in text and "o Only diffs" in text
        # Differing rows are highlighted, equal ones plain.
        table = screen.query_one(DataTable)
        assert {cell.style for cell in table.get_row("training:epoch")} == {"bold yellow"}
        assert {cell.style for cell in table.get_row("training:format")} == {""}


async def test_only_differences_toggle_and_escape_keeps_marks(demo_tree_template: Path):
    async with running(demo_tree_template, (80, 24)) as (app, pilot):
        await mark(pilot, app, PAN, DBNETPP)
        screen = await open_compare(pilot, app)
        assert "format" in screen_text(app)
        await pilot.press("o")
        assert screen.only_differences
        text = screen_text(app)
        assert "format" not in text and "safety (equal)" not in text
        assert line_with(app, "epoch").split() == ["~", "epoch", "15", "27"]
        await pilot.press("o")
        assert "format" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert main(app).marks == {PAN, DBNETPP}


async def test_no_marks_compares_with_the_best_of_the_experiment_at_120x35(
    demo_tree_template: Path,
):
    async with running(demo_tree_template, (120, 35)) as (app, pilot):
        await move_to(pilot, app, R18_EARLY)
        screen = await open_compare(pilot, app)
        assert [entry.checkpoint_path for entry in screen.entries] == [R18_EARLY, R18_BEST]
        text = screen_text(app)
        assert "best of dbnet_r18_baseline by val/hmean (max)" in text
        assert f"B {R18_BEST}  safe" in text
        assert line_with(app, "epoch").split() == ["~", "epoch", "4", "9"]
        assert line_with(app, "hmean").split() == ["~", "hmean", "0.8393", "0.884"]
        await pilot.press("escape")
        # An experiment whose checkpoints have no value to rank them by: said, not guessed.
        await move_to(pilot, app, PAN_EARLY)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        expected = "no other checkpoint in pan_effb0_aug has a monitored value or an hmean"
        assert any(expected in toast for toast in toast_texts(app))


async def test_more_columns_scroll_sideways(demo_tree_template: Path):
    async with running(demo_tree_template, (80, 24)) as (app, pilot):
        await mark(pilot, app, PAN, DBNETPP, PAN_EARLY)
        screen = await open_compare(pilot, app)
        table = screen.query_one("#compare-table")
        assert "C last.ckpt" not in screen_text(app)
        assert table.max_scroll_x > 0
        await pilot.press("right")  # one checkpoint column at a time
        await pilot.pause()
        text = screen_text(app)
        assert "C last.ckpt" in text
        assert "epoch" in text  # the key column stays in place
        await pilot.press("left")
        await pilot.pause()
        assert table.scroll_x == 0
        assert "C last.ckpt" not in screen_text(app)


async def test_a_lone_checkpoint_says_there_is_nothing_to_compare(tmp_path: Path):
    from compare_helpers import save_plain

    root = tmp_path / "outputs"
    save_plain(root / "solo" / "checkpoints" / "last.ckpt", {"lr": 0.1})
    async with running(root, (80, 24)) as (app, pilot):
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("nothing to compare with: no other checkpoint in" in t for t in toast_texts(app))


async def test_hostile_checkpoint_is_compared_and_shown_unsafe(hostile: tuple[Path, Path, Path]):
    bad, _twin, marker = hostile
    root = bad.parents[2]
    async with running(root, (80, 24)) as (app, pilot):
        await mark(pilot, app, "run/checkpoints/bad.ckpt", "run/checkpoints/twin.ckpt")
        await open_compare(pilot, app)
        text = screen_text(app)
        assert "A run/checkpoints/bad.ckpt  unsafe" in text
        assert line_with(app, "safety").split() == ["~", "safety", "unsafe", "safe"]
        assert '["os.system"]' in line_with(app, "unsafe_globals")
    assert not marker.exists()
