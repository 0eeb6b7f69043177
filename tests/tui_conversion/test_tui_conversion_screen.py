"""Pilot tests of the conversion screen on real trees: the candidates, selecting, the preview,
converting, cancelling midway, force, and the typed result.

Each test works on its own copy of a tree written by ``torch.save`` (conversion writes sidecars)
and checks the files themselves: sidecars valid, checkpoints byte-identical.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from tui_conversion_helpers import (
    HOSTILE_NAME,
    RUN,
    build,
    conversion_status,
    loaded,
    main,
    open_conversion,
    running,
    screen_text,
    sha256_tree,
    toast_texts,
    wait_for,
)

from ckpt_tui.sidecar.files import read_sidecar, sidecar_path_for
from ckpt_tui.tui.screens.conversion import (
    CandidateList,
    ConversionScreen,
    ConversionSummary,
)
from ckpt_tui.tui.screens.main import MainScreen

CKPTS = f"{RUN}/checkpoints"
RUN_TARGETS = [f"{CKPTS}/epoch={e}-step={s}.ckpt" for e, s in ((0, 100), (4, 500), (8, 900))]
HOSTILE = f"{CKPTS}/{HOSTILE_NAME}"
BROKEN = "broken/truncated.ckpt"
WITH_SIDECAR = "with_sidecar/checkpoints/epoch=2-step=20.ckpt"


def candidates(screen: ConversionScreen) -> CandidateList:
    return screen.query_one(CandidateList)


def row_texts(screen: ConversionScreen) -> list[str]:
    """Every candidate row's text (the whole label, not cut to the list's width)."""
    widget = candidates(screen)
    return [str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)]


def preview_lines(screen: ConversionScreen) -> list[str]:
    """The preview pane's lines as the terminal shows them: inside the border and the padding,
    left of the scrollbar."""
    pane = screen.query_one("#preview").content_region
    inner = screen.query_one("#preview-title").region  # as wide as the text, scrollbar excluded
    lines = screen_text(screen.app).splitlines()[pane.y : pane.bottom]
    return [line[inner.x : inner.right].rstrip() for line in lines]


def planned_paths(screen: ConversionScreen) -> list[str]:
    assert screen.plan is not None
    return [item.entry.checkpoint_path for item in screen.plan.items]


async def back_on_table(pilot: Any, scans_before: int) -> MainScreen:
    """Wait until the main screen is back and its rescan is done."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="the table")
    await wait_for(pilot, lambda: main(app).scans_completed > scans_before, what="the rescan")
    return main(app)


async def test_lists_targets_and_selects(small_tree: Path) -> None:
    async with running(small_tree) as (app, pilot):
        screen = await open_conversion(pilot)
        # Every checkpoint without a sidecar, in path order; the one with a sidecar is not a target.
        assert planned_paths(screen) == [*RUN_TARGETS[:2], HOSTILE, RUN_TARGETS[2], BROKEN]
        rows = row_texts(screen)
        assert rows[0].startswith("new       epoch=0-step=100.ckpt  2025-10-18/14-32-15/")
        assert rows[4].startswith("can't     truncated.ckpt  ")  # says why
        assert rows[4].endswith("  broken/")
        assert screen.plan is not None and screen.plan.items[4].reason in rows[4]
        # The hostile name is shown escaped: the escape sequence never reaches the terminal.
        text = screen_text(app)
        assert "epoch=6-step=600[b]\\x1b[2J.ckpt" in text
        assert "\x1b" not in text
        widget = candidates(screen)
        assert widget.get_option_at_index(4).disabled
        assert sorted(widget.selected) == [0, 1, 2, 3]
        assert conversion_status(screen) == (
            "4 of 4 selected · will write 4 · 1 can't convert"
            " (zip end-of-directory record not found)"
        )
        assert widget.highlighted == 0

        await pilot.press("space")  # deselect the highlighted row
        assert sorted(widget.selected) == [1, 2, 3]
        await wait_for(pilot, lambda: conversion_status(screen).startswith("3 of 4 selected"))
        await pilot.press("a")  # some unselected: select all
        assert sorted(widget.selected) == [0, 1, 2, 3]
        await pilot.press("a")  # all selected: none
        assert widget.selected == []
        await wait_for(pilot, lambda: conversion_status(screen).startswith("0 of 4 selected"))
        await pilot.press("down", "space")
        assert widget.selected == [1]
        await pilot.press("end", "space")  # the last row that can be converted
        assert widget.highlighted == 3
        assert sorted(widget.selected) == [1, 3]
        await pilot.press("down")  # skips the row that cannot be converted (wraps to the top)
        assert widget.highlighted == 0
        await pilot.press("up")
        assert widget.highlighted == 3
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "done", what="the run")
        paths = [*RUN_TARGETS, HOSTILE]
        written = [p for p in paths if sidecar_path_for(small_tree / p).exists()]
        assert written == [RUN_TARGETS[1], RUN_TARGETS[2]]  # exactly the two selected
        assert app.return_code is None  # still running: nothing failed


async def test_preview_shows_yaml_and_unknown_fields(small_tree: Path) -> None:
    async with running(small_tree) as (app, pilot):
        screen = await open_conversion(pilot)
        await pilot.press("down")  # epoch=4-step=500
        await pilot.pause()
        assert screen.plan is not None
        item = screen.plan.items[1]
        assert item.entry.checkpoint_path == RUN_TARGETS[1]
        lines = preview_lines(screen)
        assert lines[0] == "epoch=4-step=500.metadata.yaml  would be written"
        # Wrapped to the pane's width.
        unknown = " ".join(lines[1:4])
        assert unknown.startswith(
            "unknown fields: metrics.hmean, metrics.precision, metrics.recall"
        )
        for expected in (
            "schema_version: '1.0'",
            "exp_name: dbnet_r18",
            "created_at: '2025-10-18T14:32:00+00:00'",
            "training:",
            "  epoch: 4",
            "  global_step: 500",
            "  max_epochs: 20",
            "  architecture: dbnet",
            "    model_name: resnet18",
        ):
            assert expected in lines, expected
        # What is shown is what would be written: the core's YAML from its first line down to
        # the pane's bottom edge (long lines wrap, so compare without whitespace).
        start = lines.index("schema_version: '1.0'")
        visible = "".join(lines[start:]).replace(" ", "")
        assert len(visible) > 300
        assert item.preview_yaml().replace("\n", "").replace(" ", "").startswith(visible)
        assert "  epoch: 0" not in lines
        await pilot.press("down")  # the hostile name: its preview is escaped too
        await pilot.pause()
        lines = preview_lines(screen)
        assert lines[0].startswith("epoch=6-step=600[b]\\x1b[2J.metadata.yaml")
        assert "\x1b" not in screen_text(app)
        assert app.return_code is None  # still running: nothing failed


async def test_convert_writes_valid_sidecars_and_table_shows_them(small_tree: Path) -> None:
    before = sha256_tree(small_tree)
    async with running(small_tree) as (app, pilot):
        assert main(app).entries[RUN_TARGETS[0]].source != "sidecar"
        screen = await open_conversion(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "done", what="the run")
        rows = row_texts(screen)
        assert [row[:10].strip() for row in rows] == ["✓ written"] * 4 + ["can't"]
        await wait_for(
            pilot, lambda: conversion_status(screen).startswith("5 candidates: 4 written · 1 can't")
        )
        assert "100%" in screen_text(app)
        for path in [*RUN_TARGETS, HOSTILE]:
            read = read_sidecar(small_tree / path)
            assert read.path == sidecar_path_for(small_tree / path)
            assert read.metadata is not None, read.issues
            assert read.metadata.model.architecture == "dbnet"
        assert read_sidecar(small_tree / BROKEN).path is None
        assert read_sidecar(small_tree / RUN_TARGETS[1]).metadata.training.epoch == 4  # type: ignore[union-attr]
        scans = main(app).scans_completed
        await pilot.press("escape")
        table = await back_on_table(pilot, scans)
        for path in [*RUN_TARGETS, HOSTILE]:
            assert table.entries[path].source == "sidecar", path
        assert table.entries[BROKEN].source != "sidecar"
        assert "5 sidecar · 1 inferred" in screen_text(app)
        assert any("5 candidates: 4 written · 1 can't convert" in n for n in toast_texts(app))
        assert app.return_code is None  # still running: nothing failed
    assert sha256_tree(small_tree) == before  # no checkpoint changed


async def test_cancel_midway_leaves_the_rest_untouched(run_tree: Path) -> None:
    before = sha256_tree(run_tree)
    async with running(run_tree) as (app, pilot):
        screen = await open_conversion(pilot)
        assert len(candidates(screen).selected) == 12
        first_done = threading.Event()
        release = threading.Event()

        def hold_after_first(_result: object) -> None:
            # Runs in the worker: hold it between the first and the second item.
            if not first_done.is_set():
                first_done.set()
                assert release.wait(20), "the test never released the worker"

        screen.after_item = hold_after_first
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.results) == 1, what="the first item")
        assert first_done.is_set()
        await pilot.press("escape")
        assert screen.phase == "running"  # waits for the worker: the write in flight finishes
        await wait_for(pilot, lambda: conversion_status(screen).startswith("cancelling"))
        scans = main(app).scans_completed
        release.set()
        table = await back_on_table(pilot, scans)
        summary = screen.summary()
        assert summary is not None
        assert summary == ConversionSummary(
            results=summary.results, requested=12, cancelled=True, force=False,
            counts=summary.counts,
        )  # fmt: skip
        assert summary.counts is not None and summary.counts.states == {"written": 1, "not run": 11}
        assert [r.outcome for r in summary.results] == ["written"]
        assert summary.not_run == 11
        assert any(
            "12 candidates: 1 written · 11 not run (cancelled)" in n for n in toast_texts(app)
        )
        sidecars = sorted(p.name for p in run_tree.rglob("*.metadata.yaml"))
        assert sidecars == ["epoch=0-step=100.metadata.yaml"]
        assert read_sidecar(run_tree / f"{CKPTS}/epoch=0-step=100.ckpt").metadata is not None
        leftovers = [
            p.name
            for p in (run_tree / CKPTS).iterdir()
            if not p.name.endswith((".ckpt", ".metadata.yaml"))
        ]
        assert leftovers == []  # no temporary file left behind
        sources = {path: entry.source for path, entry in table.entries.items()}
        assert sources.pop(f"{CKPTS}/epoch=0-step=100.ckpt") == "sidecar"
        assert len(sources) == 11 and "sidecar" not in sources.values()
        assert app.return_code is None  # still running: nothing failed
    assert sha256_tree(run_tree) == before


async def test_quit_during_a_run_stops_between_items(run_tree: Path) -> None:
    """Leaving any way (here q, quit) is as safe as escape: the rest stay untouched."""
    release = threading.Event()
    async with running(run_tree) as (app, pilot):
        screen = await open_conversion(pilot)

        def hold(_result: object) -> None:
            release.wait(20)  # hold the worker after the first item, until after the quit

        screen.after_item = hold
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(screen.results) == 1, what="the first item")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="the exit")
    release.set()
    # Thread workers run in the loop's default executor: wait for the worker thread to end.
    await asyncio.wait_for(asyncio.get_running_loop().shutdown_default_executor(), timeout=20)
    assert sorted(p.name for p in run_tree.rglob("*.metadata.yaml")) == [
        "epoch=0-step=100.metadata.yaml"
    ]


async def test_force_replaces_an_existing_sidecar(small_tree: Path) -> None:
    sidecar = sidecar_path_for(small_tree / WITH_SIDECAR)
    old_text = sidecar.read_text()
    async with running(small_tree) as (app, pilot):
        table = main(app)
        await pilot.press("end", "space")  # mark the last row: the one with a sidecar
        assert table.marks == {WITH_SIDECAR}
        screen = await open_conversion(pilot)
        assert planned_paths(screen) == [WITH_SIDECAR]
        assert row_texts(screen)[0].startswith("skip      epoch=2-step=20.ckpt  sidecar exists")
        assert candidates(screen).selected == []
        assert conversion_status(screen) == "0 of 0 selected · will skip 1 (sidecar exists)"
        assert "press f to replace" in screen_text(app)

        await pilot.press("f")
        await wait_for(pilot, lambda: screen.phase == "ready" and screen.force, what="re-plan")
        assert row_texts(screen)[0].startswith("replace   epoch=2-step=20.ckpt")
        assert candidates(screen).selected == [0]
        assert preview_lines(screen)[0] == "epoch=2-step=20.metadata.yaml  would be replaced"
        await pilot.press("f")  # off again: back to skip
        await wait_for(pilot, lambda: screen.phase == "ready" and not screen.force, what="re-plan")
        assert candidates(screen).selected == []
        await pilot.press("f")
        await wait_for(pilot, lambda: screen.phase == "ready" and screen.force, what="re-plan")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.phase == "done", what="the run")
        assert row_texts(screen)[0].startswith("✓ written")
        summary = screen.summary()
        assert summary is not None and summary.force and summary.count("written") == 1
        await pilot.press("enter")  # Close
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="the table")
        assert app.return_code is None  # still running: nothing failed
    new_text = sidecar.read_text()
    assert new_text != old_text
    # The values are the replaced sidecar's (a source said them), its created_at included.
    assert "created_at: '2025-10-01T10:00:00+00:00'" in new_text
    read = read_sidecar(small_tree / WITH_SIDECAR)
    assert read.metadata is not None and read.metadata.training.epoch == 2


async def test_result_is_typed(small_tree: Path) -> None:
    """Pushed directly: escape before a run gives ``None``; a finished run its summary."""
    app = build(small_tree)
    results: list[ConversionSummary | None] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        entries = main(app).conversion_targets()
        await app.push_screen(ConversionScreen(small_tree, entries), callback=results.append)
        await wait_for(pilot, lambda: getattr(app.screen, "phase", "") == "ready", what="plan")
        await pilot.press("escape")
        await wait_for(pilot, lambda: results == [None], what="the result")
        assert not any(small_tree.rglob("epoch=0-step=100.metadata.yaml"))

        await app.push_screen(ConversionScreen(small_tree, entries), callback=results.append)
        screen = app.screen
        assert isinstance(screen, ConversionScreen)
        await wait_for(pilot, lambda: screen.phase == "ready", what="plan")
        await pilot.click("#convert")
        await wait_for(pilot, lambda: screen.phase == "done", what="the run")
        await pilot.click("#convert")  # now labelled Close
        await wait_for(pilot, lambda: len(results) == 2, what="the result")
    summary = results[1]
    assert isinstance(summary, ConversionSummary)
    assert (summary.count("written"), summary.count("skipped"), summary.count("failed")) == (
        4,
        0,
        0,
    )
    assert summary.requested == 4 and not summary.cancelled and summary.not_run == 0
    assert summary.describe() == (
        "5 candidates: 4 written · 1 can't convert (zip end-of-directory record not found)"
    )
