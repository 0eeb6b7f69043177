"""The detail pane at 80×24 and 120×35: issues first for a broken row, each row from the top,
paths wrapped at their ``/``, the run's chart with this checkpoint marked, and a key to hide it."""

from __future__ import annotations

from pathlib import Path

import pytest
from screen_capture import widget_text
from tui_helpers import detail, detail_text, main, running, table, table_lines, wait_for

from ckpt_tui.tui.widgets.detail_sections import wrap_path
from ckpt_tui.tui.widgets.run_chart import RunChart


async def go_to(pilot: object, app: object, path_part: str) -> None:
    rows = table(app).rows  # type: ignore[arg-type]
    index = next(i for i, e in enumerate(rows) if path_part in e.checkpoint_path)
    table(app).move_to(index)  # type: ignore[arg-type]
    await pilot.pause()  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [(80, 24), (120, 35)])
async def test_issues_come_first_for_a_row_with_errors(
    tui_tree: Path, size: tuple[int, int]
) -> None:
    async with running(tui_tree, size=size) as (app, pilot):
        await go_to(pilot, app, "truncated.ckpt")
        shown = widget_text(app, detail(app))  # the pane's first screen, unscrolled
        assert "Issues (" in shown
        assert "✗ error" in shown
        assert shown.index("Issues (") < shown.index("Training") if "Training" in shown else True


async def test_a_new_row_is_shown_from_the_top(tui_tree: Path) -> None:
    async with running(tui_tree, size=(120, 35)) as (app, pilot):
        await go_to(pilot, app, "dbnet_r18/checkpoints/epoch=4")
        pane = detail(app)
        pane.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert pane.scroll_y > 0
        await pilot.press("down")
        await pilot.pause()
        assert pane.scroll_y == 0
        assert widget_text(app, pane).splitlines()[0].startswith("dbnet")


async def test_the_run_chart_marks_this_checkpoint(tui_tree: Path) -> None:
    async with running(tui_tree, size=(120, 35)) as (app, pilot):
        await go_to(pilot, app, "dbnet_r18/checkpoints/epoch=4")
        chart = detail(app).query_one(RunChart)
        assert chart.display
        shown = widget_text(app, detail(app))
        assert "hmean over the run" in shown or "val/hmean over the run" in shown
        assert "max 0.835 · ▲ 0.835" in shown
        caret = widget_text(app, chart.query_one("#run-chart-caret"))
        # dbnet_r18 has 2 checkpoints with a value (epoch 0, epoch 4): this one is the second.
        assert caret.strip() == "▲" and caret.index("▲") == 1
        await go_to(pilot, app, "evil.ckpt")  # a run of one: no chart
        assert not chart.display


def test_paths_wrap_at_their_separators() -> None:
    path = "outputs/ocr_training_dbnetpp_resnet50_20251009/checkpoints/epoch=67-step=18564.ckpt"
    lines = wrap_path(path, 40).splitlines()
    assert "".join(lines) == path
    assert all(len(line) <= 40 for line in lines)
    assert all(line.endswith("/") for line in lines[:-1])
    assert wrap_path("x" * 50, 20).splitlines() == ["x" * 20, "x" * 20, "x" * 10]


async def test_long_paths_are_not_broken_mid_name_on_screen(tui_tree: Path) -> None:
    async with running(tui_tree, size=(120, 35)) as (app, pilot):
        await go_to(pilot, app, "dbnetpp_r50/checkpoints/epoch=9")
        lines = (await detail_text(pilot)).splitlines()
        # At 120 columns the path does not fit the pane: it breaks after a "/", never mid-name.
        first = next(i for i, line in enumerate(lines) if line.startswith("checkpoint"))
        assert lines[first].endswith("dbnetpp_r50/checkpoints/")
        assert lines[first + 1].strip() == "epoch=9-step=100.ckpt"


async def test_i_hides_the_detail_pane_and_the_table_takes_the_width(tui_tree: Path) -> None:
    async with running(tui_tree, size=(120, 35)) as (app, pilot):
        before = table(app).size.width
        await pilot.press("i")
        await wait_for(pilot, lambda: not detail(app).display or table(app).size.width > before)
        assert table(app).size.width == 120
        assert "Monitor" in table_lines(app)[0]  # more columns fit
        await pilot.press("i")
        await pilot.pause()
        assert table(app).size.width == before
        assert main(app).focused is table(app) or app.focused is table(app)
