"""The conversion screen's one count model on screen, at 80×24 and 120×35: the header, the status
line, the rows and the summary give the same numbers, and they add up to the candidates; after a
run the footer offers Close, not Convert."""

from __future__ import annotations

from pathlib import Path

from screen_capture import scrolled_text
from tui_conversion_helpers import (
    RUN,
    conversion_status,
    main,
    open_conversion,
    running,
    screen_text,
    wait_for,
)

from ckpt_tui.tui.screens.conversion import CandidateList, ConversionScreen

CKPTS = f"{RUN}/checkpoints"
WITH_SIDECAR = "with_sidecar/checkpoints/epoch=2-step=20.ckpt"


def footer(app: object) -> str:
    return screen_text(app).splitlines()[-1]


def row_lines(screen: ConversionScreen) -> list[str]:
    """The candidate rows as the terminal shows them (cut to the list's width)."""
    widget = screen.query_one(CandidateList)
    region = widget.content_region
    lines = screen_text(screen.app).splitlines()[region.y : region.y + widget.option_count]
    return [line[region.x : region.right] for line in lines]


async def test_three_marked_rows_add_up_at_80_columns(small_tree: Path) -> None:
    async with running(small_tree, size=(80, 24)) as (app, pilot):
        table = main(app)
        await pilot.press("home", "space", "down", "space", "end", "space")
        assert table.marks == {
            f"{CKPTS}/epoch=0-step=100.ckpt", f"{CKPTS}/epoch=4-step=500.ckpt", WITH_SIDECAR,
        }  # fmt: skip
        screen = await open_conversion(pilot)
        text = screen_text(app)
        assert "convert · 3 candidates under" in text.splitlines()[0]
        assert (
            conversion_status(screen)
            == "2 of 2 selected · will write 2 · will skip 1 (sidecar exists)"
        )
        rows = row_lines(screen)
        # At 80 columns each row shows its file name whole (the folder is what is cut).
        assert [row.split()[2] for row in rows] == [
            "epoch=0-step=100.ckpt…", "epoch=4-step=500.ckpt…", "epoch=2-step=20.ckpt",
        ]  # fmt: skip
        assert [row.split()[1] for row in rows] == ["new", "new", "skip"]
        assert "⏎ Convert" in footer(app) and "Close" not in footer(app)

        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "done", what="the run")
        await pilot.pause()
        assert conversion_status(screen) == "3 candidates: 2 written · 1 skipped (sidecar exists)"
        assert [row.split()[1:3] for row in row_lines(screen)] == [
            ["✓", "written"], ["✓", "written"], ["skip", "epoch=2-step=20.ckpt"],
        ]  # fmt: skip
        assert "100%" in screen_text(app)
        assert "⏎ Close" in footer(app) and "Convert" not in footer(app)
        assert "Force" not in footer(app)
        counts = screen.counts()
        assert counts.candidates == sum(counts.states.values()) == 3
        await pilot.press("enter")  # Close
        await wait_for(pilot, lambda: not isinstance(app.screen, ConversionScreen), what="close")


async def test_every_candidate_counted_once_at_120_columns(small_tree: Path) -> None:
    async with running(small_tree, size=(120, 35)) as (app, pilot):
        screen = await open_conversion(pilot)  # every row without a sidecar: 5 candidates
        assert "convert · 5 candidates under" in screen_text(app).splitlines()[0]
        assert conversion_status(screen) == (
            "4 of 4 selected · will write 4 · 1 can't convert"
            " (zip end-of-directory record not found)"
        )
        await pilot.press("space")  # deselect the first row
        await wait_for(pilot, lambda: conversion_status(screen).startswith("3 of 4 selected"))
        assert conversion_status(screen).startswith("3 of 4 selected · will write 3 · 1 can't")
        assert "⏎ Convert" in footer(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "done", what="the run")
        await pilot.pause()
        summary = conversion_status(screen)
        assert summary == (
            "5 candidates: 3 written · 1 can't convert (zip end-of-directory record not found)"
            " · 1 not selected"
        )
        assert [row.split()[1] for row in row_lines(screen)] == ["new", "✓", "✓", "✓", "can't"]
        assert "⏎ Close" in footer(app) and "Convert" not in footer(app)


async def test_detail_pane_keeps_the_origin_after_conversion(small_tree: Path) -> None:
    async with running(small_tree, size=(120, 35)) as (app, pilot):
        screen = await open_conversion(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "done", what="the run")
        scans = main(app).scans_completed
        await pilot.press("enter")  # Close: back on the table, which rescans
        await wait_for(pilot, lambda: main(app).scans_completed > scans, what="the rescan")
        table = main(app)
        assert table.entries[f"{CKPTS}/epoch=0-step=100.ckpt"].source == "sidecar"
        await pilot.press("home")
        app.clear_notifications()  # the summary's toast would cover the pane
        await pilot.pause()
        pane = app.screen.query_one("DetailPane")
        text = " ".join((await scrolled_text(pilot, pane)).split())
        assert "checkpoint epoch (via sidecar, converted 20" in text
