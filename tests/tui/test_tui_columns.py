"""The table's columns on screen: File tells rows apart, widths fit the terminal, labels stay
whole, and the columns can be chosen (palette, ``--columns``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import main, running, status, table, table_lines

from ckpt_tui.catalog.columns import COLUMNS


@pytest.mark.parametrize("size", [(80, 24), (120, 35)])
async def test_file_names_tell_the_rows_of_one_run_apart(
    tui_tree: Path, size: tuple[int, int]
) -> None:
    async with running(tui_tree, size=size) as (app, _pilot):
        lines = table_lines(app)
        header = lines[0]
        assert header.split()[:2] == ["Experiment", "File"]
        assert "…" not in header  # every label whole
        craft = [line for line in lines[1:] if "craft_vgg" in line]
        assert any("last.ckpt" in line for line in craft)
        assert any("epoch=1-step=20.ckpt" in line for line in craft)
        assert all(len(line) <= size[0] for line in lines)


async def test_sorted_header_shows_its_arrow_with_the_whole_label(tui_tree: Path) -> None:
    async with running(tui_tree, size=(80, 24)) as (app, pilot):
        main(app).sort_by("epoch")
        await pilot.pause()
        assert "Epoch↑" in table_lines(app)[0]
        main(app).sort_by("experiment", True)
        await pilot.pause()
        assert "Experiment↓" in table_lines(app)[0]


async def test_hidden_sort_column_is_named_on_the_status_line(tui_tree: Path) -> None:
    async with running(tui_tree, size=(80, 24)) as (app, pilot):
        assert not table(app).shows_column("source")  # dropped at 80 columns
        main(app).sort_by("source")
        await pilot.pause()
        assert "sort source ↑ (hidden column)" in status(app)
        main(app).toggle_column("source")  # the palette's "Column: show/hide source"
        await pilot.pause()
        assert "Source↑" in table_lines(app)[0]
        assert "(hidden column)" not in status(app)
        main(app).toggle_column("source")
        await pilot.pause()
        assert "Source" not in table_lines(app)[0]
        main(app).fit_columns()
        await pilot.pause()
        assert table(app).chosen_columns is None


async def test_chosen_columns_are_shown_in_their_order(tui_tree: Path) -> None:
    chosen = ("file", "size", "hmean")
    async with running(tui_tree, size=(80, 24), columns=chosen) as (app, _pilot):
        assert table_lines(app)[0].split() == ["File", "Size", "hmean"]


async def test_every_column_has_a_palette_command(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, _pilot):
        names = [name for name, _help, _run in main(app).palette_commands()]
        for column in COLUMNS:
            assert f"Column: show/hide {column.key}" in names
        assert "Columns: fit the width" in names and "Sort by path" in names
