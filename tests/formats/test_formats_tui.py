"""The TUI's detail pane on a folder checkpoint: its files, best metric and eval history."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screen_capture import scrolled_text, widget_text
from textual import events
from textual.widgets import Sparkline

from ckpt_tui.tui.app import make_app
from ckpt_tui.tui.screens.main import MainScreen
from ckpt_tui.tui.widgets.catalog_table import CatalogTable
from ckpt_tui.tui.widgets.detail_pane import DetailPane
from ckpt_tui.tui.widgets.filter_box import FilterBox
from ckpt_tui.tui.widgets.run_chart import RunChart

BARS = set("▁▂▃▄▅▆▇█")


async def _until(pilot: object, condition: object, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_detail_pane_lists_files_and_draws_the_eval_history(formats_tree: Path) -> None:
    app = make_app(formats_tree, poll_interval=None, cursor_blink=False)
    async with app.run_test(size=(99, 60)) as pilot:
        screen = app.screen_stack[0]
        assert isinstance(screen, MainScreen)
        await _until(pilot, lambda: screen.scans_completed >= 1, "the first scan")
        await pilot.press("slash")
        screen.query_one(FilterBox).post_message(events.Paste("path:checkpoint-6"))
        await pilot.press("enter")
        pane = screen.query_one(DetailPane)
        table = screen.query_one(CatalogTable)

        def shown(path: str) -> bool:
            entry = table.cursor_entry
            return len(table.rows) == 1 and entry is not None and entry.checkpoint_path == path

        await _until(pilot, lambda: shown("bert-run/checkpoint-6"), "the one row")
        text = await scrolled_text(pilot, pane)
        assert "Folder checkpoint" in text
        for name in ("trainer_state.json", "training_args.bin", "model.safetensors"):
            assert name in text
        assert "checkpoint-2" in text  # where the Trainer's best metric is
        # The run's three Trainer checkpoints, each with its own eval_accuracy, this one marked.
        assert "eval_accuracy over the run (3)" in text
        chart = screen.query_one(RunChart)
        sparkline = chart.query_one(Sparkline)
        assert chart.display and len(sparkline.data or []) == 3
        pane.scroll_to_widget(sparkline, animate=False)
        await pilot.pause()
        assert BARS & set(widget_text(app, sparkline))
        # A file checkpoint has no history: the sparkline goes away.
        screen.query_one(FilterBox).value = ""
        await pilot.press("slash")
        screen.query_one(FilterBox).post_message(events.Paste("path:model_best"))
        await pilot.press("enter")
        await _until(pilot, lambda: shown("imagenet/model_best.pth.tar"), "the file's row")
        assert not chart.display
