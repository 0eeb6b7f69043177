"""Help, rescan, live updates and every command palette entry, through the keys a user presses."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.command import CommandInput, CommandList, CommandPalette
from tui_helpers import (
    FIXED_MTIME,
    build,
    filter_box,
    main,
    running,
    screen_text,
    shown_paths,
    status,
    wait_for,
)

from ckpt_tui.catalog.sort import DESCENDING_FIRST
from ckpt_tui.tui.keys import KEYS
from ckpt_tui.tui.screens.help import HelpScreen
from ckpt_tui.tui.widgets.catalog_table import COLUMNS


async def run_command(app: Any, pilot: Any, name: str) -> None:
    """Open the palette with ctrl+p, enter ``name`` and run the first hit."""
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    palette = app.screen
    palette.query_one(CommandInput).post_message(events.Paste(name))

    def first_hit_is_name() -> bool:
        hits = palette.query_one(CommandList)
        if hits.option_count == 0:
            return False
        prompt = hits.get_option_at_index(0).prompt
        return str(getattr(prompt, "plain", prompt)).splitlines()[0] == name

    await wait_for(pilot, first_hit_is_name, what=f"the hit {name!r}")
    await pilot.press("down", "enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="closing")


async def test_help_lists_every_key_and_closes(tui_tree: Path) -> None:
    async with running(tui_tree, size=(100, 40)) as (app, pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for keys, meaning in KEYS:
            assert keys in text
            assert meaning.split(";")[0][:30] in text
        assert "hmean>0.8" in text  # the filter language too
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        await pilot.press("question_mark")  # ? toggles it closed as well
        assert not isinstance(app.screen, HelpScreen)


async def test_help_floats_over_the_table(tui_tree: Path) -> None:
    """The table, status line and footer stay visible around the dialog, also when the screen
    is read while a repaint is pending (the trap described in ``tests/screen_capture.py``)."""
    async with running(tui_tree, size=(120, 36)) as (app, pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        for _ in range(2):
            app.screen.refresh()  # a paint is due: read before the app gets to it
            text = screen_text(app)
            assert "ckpt-tui help" in text
            assert "shown" in text and "Quit" in text, text
            await pilot.pause()
        assert "Quit" in app.export_screenshot()


async def test_help_fits_80x24(tui_tree: Path) -> None:
    async with running(tui_tree, size=(80, 24)) as (app, pilot):
        await pilot.press("question_mark")
        text = screen_text(app)
        assert "Keys" in text and "ctrl+r" in text and "quit" in text


@pytest.mark.parametrize("column", [c.key for c in COLUMNS])
def test_every_column_has_a_sort_command(column: str) -> None:
    screen = build(Path(".")).get_default_screen()
    names = [name for name, _help, _callback in screen.palette_commands()]  # type: ignore[attr-defined]
    assert f"Sort by {column}" in names


async def test_palette_sort_commands(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        for column in COLUMNS:
            await run_command(app, pilot, f"Sort by {column.key}")
            assert main(app).sort == (column.key, column.key in DESCENDING_FIRST)
            assert f"sort {column.key}" in status(app)


async def test_palette_filter_presets_and_clear(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await run_command(app, pilot, "Filter: no sidecar")
        assert filter_box(app).value == "-has:sidecar"
        assert all(main(app).entries[p].sidecar_path is None for p in shown_paths(app))
        assert len(shown_paths(app)) == 5  # the invalid sidecar is still a sidecar

        await run_command(app, pilot, "Filter: has issues")
        assert filter_box(app).value == "has:issues"
        assert "dbnet_r18/checkpoints/epoch=7-step=80.ckpt" in shown_paths(app)
        assert "dbnet_r18/checkpoints/epoch=4-step=50.ckpt" not in shown_paths(app)

        await run_command(app, pilot, "Filter: best per experiment")
        assert filter_box(app).value == "is:best"
        assert "dbnetpp_r50/checkpoints/epoch=9-step=100.ckpt" in shown_paths(app)
        assert "dbnet_r18/checkpoints/epoch=4-step=50.ckpt" in shown_paths(app)
        assert "dbnet_r18/checkpoints/epoch=0-step=10.ckpt" not in shown_paths(app)
        assert "filter is:best" in status(app)

        await run_command(app, pilot, "Clear filter")
        assert len(shown_paths(app)) == 10


async def test_palette_rescan_conversion_and_copy(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await run_command(app, pilot, "Rescan")
        await wait_for(pilot, lambda: main(app).scans_completed >= 2, what="the rescan")
        await run_command(app, pilot, "Open conversion")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConversionScreen")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is main(app))
        await run_command(app, pilot, "Copy path")
        assert app.clipboard.endswith(shown_paths(app)[0])


async def test_ctrl_r_rescans_and_finds_new_and_removed_files(
    tui_tree: Path, tmp_path: Path
) -> None:
    root = tmp_path / "outputs"
    shutil.copytree(tui_tree / "dbnet_r18", root / "dbnet_r18")
    async with running(root) as (app, pilot):
        assert len(shown_paths(app)) == 3
        added = root / "dbnet_r18" / "checkpoints" / "epoch=8-step=90.ckpt"
        shutil.copy(root / "dbnet_r18" / "checkpoints" / "epoch=4-step=50.ckpt", added)
        (root / "dbnet_r18" / "checkpoints" / "epoch=0-step=10.ckpt").unlink()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: main(app).scans_completed >= 2, what="the rescan")
        paths = shown_paths(app)
        assert "dbnet_r18/checkpoints/epoch=8-step=90.ckpt" in paths
        assert "dbnet_r18/checkpoints/epoch=0-step=10.ckpt" not in paths
        await wait_for(pilot, lambda: "rescanning" in screen_text(app))


async def test_live_update_without_a_rescan(tui_tree: Path, tmp_path: Path) -> None:
    root = tmp_path / "outputs"
    shutil.copytree(tui_tree / "dbnetpp_r50", root / "dbnetpp_r50")
    async with running(root, poll_interval=0.5) as (app, pilot):
        assert len(shown_paths(app)) == 2
        folder = root / "dbnetpp_r50" / "checkpoints"
        new = folder / "epoch=10-step=110.ckpt"
        shutil.copy(folder / "epoch=9-step=100.ckpt", new)
        os.utime(new, (FIXED_MTIME + 60, FIXED_MTIME + 60))
        # Within about 5 s, as during training (generous bound: hang detection only).
        await wait_for(
            pilot,
            lambda: "dbnetpp_r50/checkpoints/epoch=10-step=110.ckpt" in shown_paths(app),
            timeout=15,
            what="the new checkpoint",
        )
        assert "3/3 shown" in status(app)
        # A sidecar rewritten in place (new metrics) updates its row too.
        sidecar = folder / "epoch=2-step=30.metadata.yaml"
        sidecar.write_text(sidecar.read_text().replace("hmean: 0.781", "hmean: 0.999"))
        path = "dbnetpp_r50/checkpoints/epoch=2-step=30.ckpt"
        await wait_for(
            pilot, lambda: main(app).entries[path].hmean == 0.999, timeout=15, what="new hmean"
        )
        assert "0.999" in screen_text(app)


async def test_polling_an_unchanged_tree_never_rescans(tui_tree: Path, tmp_path: Path) -> None:
    """Polling every 0.1 s for a second: the tree is unchanged, so no scan follows the first."""
    root = tmp_path / "outputs"
    shutil.copytree(tui_tree, root)
    async with running(root, poll_interval=0.1) as (app, pilot):
        await pilot.pause(1.0)  # a window for polls: the absence of a rescan has no event
        assert main(app).scans_completed == 1


async def test_quit_while_scanning_exits(tmp_path: Path, tui_tree: Path) -> None:
    root = tmp_path / "outputs"
    shutil.copytree(tui_tree, root)
    app = build(root, use_cache=False)
    async with app.run_test() as pilot:
        await pilot.press("q")  # at once, while the first scan runs
        await pilot.pause()
    assert app.return_code == 0


async def test_a_rescan_cancels_the_scan_in_flight_and_ignores_its_late_batches(
    tui_tree: Path, tmp_path: Path
) -> None:
    root = tmp_path / "outputs"
    shutil.copytree(tui_tree, root)
    async with running(root, use_cache=False) as (app, pilot):
        screen = main(app)
        before = screen.scans_completed
        screen.scan(progress=True)
        first = screen._scan
        screen.scan(progress=True)  # before the first one's thread even started
        assert first is not None and first is not screen._scan
        assert first.is_cancelled and first.cancelled_event.is_set()
        await wait_for(pilot, lambda: not screen.is_loading, what="the second scan")
        await pilot.pause(0.3)
        assert screen.scans_completed == before + 1
        assert len(shown_paths(app)) == 10
        assert "10/10 shown" in status(app)
