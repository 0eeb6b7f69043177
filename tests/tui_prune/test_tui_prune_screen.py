"""Pilot tests of the prune screen on the demo tree: what it shows (80×24 and 120×35), the
marked rows' experiments, the confirmation, the deletion with progress, and the rows removed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tui_prune_helpers import (
    main,
    open_prune,
    running,
    screen_text,
    scrolled_text,
    status,
    wait_for,
)

from ckpt_tui.prune.build import plan_prune
from ckpt_tui.prune.plan import PruneOptions
from ckpt_tui.tui.screens.prune import PruneScreen
from ckpt_tui.tui.widgets.catalog_table import CatalogTable

FIRST_RUN = "2025-10-02/09-14-07"
LINKED_RUN = "2025-10-03/14-22-51"


@pytest.mark.parametrize("size", [(80, 24), (120, 35)])
async def test_the_screen_shows_the_plan_with_reasons_and_size(
    demo: Path, size: tuple[int, int]
) -> None:
    expected = plan_prune(str(demo), PruneOptions())
    async with running(demo, size=size) as (app, pilot):
        screen = await open_prune(pilot)
        text = screen_text(app)
        assert "Prune plan" in text
        assert f"{len(expected.deleted)} to delete" in status(screen)
        assert "reclaimable" in status(screen)
        assert "enter: delete" in status(screen)
        # The first experiment with something to delete, its rows and their reasons.
        assert FIRST_RUN in text
        row = next(line for line in text.splitlines() if "epoch=4-step=260.ckpt" in line)
        assert row.split()[1:4] == ["delete", "epoch=4-step=260.ckpt", "0.8393"]
        assert "? Help" in text and "q Quit" in text
        shown = await scrolled_text(pilot, screen.query_one("#prune-plan"))
        whole = " ".join(shown.split())  # reasons wrap within their column
        assert "link target of last.ckpt" in whole
        assert "best_model_path of last.ckpt" in whole
        assert "older than the last 1" in whole
        for item in expected.deleted:
            assert item.file_name[:20] in whole
        # Nothing changed on disk by showing a plan.
        assert all((demo / item.checkpoint_path).exists() for item in expected.deleted)


async def test_marked_rows_limit_the_plan_to_their_experiments(demo: Path) -> None:
    async with running(demo) as (app, pilot):
        table = app.screen.query_one(CatalogTable)
        row = next(i for i, e in enumerate(table.rows) if e.checkpoint_path.startswith(LINKED_RUN))
        await pilot.press(*["down"] * row)
        assert table.cursor_entry is not None
        assert table.cursor_entry.checkpoint_path.startswith(LINKED_RUN)
        await pilot.press("space")
        screen = await open_prune(pilot)
        assert screen.plan is not None
        assert [e.run for e in screen.plan.experiments] == [LINKED_RUN]
        assert "1 experiment(s)" in screen_text(app)
        assert "2 to delete" in status(screen)


async def test_confirm_delete_and_the_rows_go(demo: Path) -> None:
    expected = plan_prune(str(demo), PruneOptions())
    gone = {item.checkpoint_path for item in expected.deleted}
    async with running(demo, size=(80, 24)) as (app, pilot):
        screen = await open_prune(pilot)
        await pilot.press("enter")
        assert screen.phase == "confirm"
        assert f"Delete {len(gone)} checkpoints" in status(screen)
        await pilot.press("n")  # back: nothing happened
        assert screen.phase == "ready"
        assert all((demo / path).exists() for path in gone)
        scans = main(app).scans_completed
        await pilot.press("enter", "y")
        await wait_for(pilot, lambda: screen.phase == "done", what="the deletion")
        assert f"deleted {len(gone)}" in status(screen)
        assert "0 failed" in status(screen)
        assert screen.query_one("#prune-progress").display
        assert not any(os.path.lexists(demo / path) for path in gone)
        await pilot.press("escape")
        assert not isinstance(app.screen, PruneScreen)
        await wait_for(pilot, lambda: main(app).scans_completed > scans, what="the rescan")
        left = set(main(app).entries)
        assert not gone & left and left


async def test_keep_keys_replan(demo: Path) -> None:
    async with running(demo) as (_app, pilot):
        screen = await open_prune(pilot)
        assert screen.plan is not None
        before = len(screen.plan.deleted)
        await pilot.press("b", "l")
        await wait_for(pilot, lambda: screen.phase == "ready", what="the new plan")
        assert "keep-best 2 · keep-last 2" in status(screen)
        assert len(screen.plan.deleted) < before


async def test_escape_closes_without_deleting(demo: Path) -> None:
    expected = plan_prune(str(demo), PruneOptions())
    async with running(demo) as (app, pilot):
        await open_prune(pilot)
        await pilot.press("escape")
        assert not isinstance(app.screen, PruneScreen)
        assert all((demo / item.checkpoint_path).exists() for item in expected.deleted)
