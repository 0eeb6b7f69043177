"""Pilot tests of the main screen on a real tree: loading, layout, sorting, marks, copy, quit."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import (
    MARKER,
    detail_text,
    main,
    running,
    screen_text,
    shown_paths,
    status,
    table,
    table_lines,
    wait_for,
)

from ckpt_tui.catalog.sort import sort_entries
from ckpt_tui.tui.widgets.catalog_table import COLUMNS

SIDECAR_BY_HMEAN = [  # (path, hmean) of the entries with a valid sidecar, best first
    ("dbnetpp_r50/checkpoints/epoch=9-step=100.ckpt", "0.871"),
    ("dbnet_r18/checkpoints/epoch=4-step=50.ckpt", "0.835"),
    ("dbnetpp_r50/checkpoints/epoch=2-step=30.ckpt", "0.781"),
    ("dbnet_r18/checkpoints/epoch=0-step=10.ckpt", "0.612"),
]


async def test_loads_every_file_with_columns_and_counts(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        paths = shown_paths(app)
        assert len(paths) == 10
        assert paths == sorted(paths)  # default order: by path
        header = table_lines(app)[0]
        for label in ("Experiment", "File", "Arch", "Epoch", "hmean"):
            assert label in header  # the columns of most use fit at 120 columns
        await wait_for(pilot, lambda: "10 checkpoints" in screen_text(app))  # header counts
        assert status(app).startswith("10/10 shown │  ☠ SECURITY 1  │ sort path ↑ │ 4 sidecar")
        assert "with issues" in status(app)
        # The hostile pickle is listed, flagged, and never ran.
        assert "evil/evil.ckpt" in paths
        assert not (tui_tree.parent / MARKER).exists()
        assert app.return_code is None


async def test_values_are_formatted_and_nulls_are_dashes(tui_tree: Path) -> None:
    async with running(tui_tree, size=(200, 40)) as (app, pilot):
        main(app).sort_by("hmean")
        await pilot.pause()
        lines = table_lines(app)
        best = lines[1]
        assert "dbnetpp_r50" in best and "dbnetpp" in best and "resnet50" in best
        assert "0.871" in best and "0.880" in best  # 3 decimals
        assert "—" in best  # its recall is unknown
        assert "kB" in best  # human-readable size
        assert "sidecar" in best
        assert "12d ago" in best  # created 2025-10-19 14:32, relative to the fixed clock


async def test_sort_next_cycles_columns_and_reverse_keeps_nulls_last(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        entries = list(main(app).entries.values())
        keys = [column.key for column in COLUMNS]
        expected_first = {"hmean", "precision", "recall", "created", "issues"}
        for key in keys:
            await pilot.press("s")
            descending = key in expected_first
            assert main(app).sort == (key, descending)
            assert f"sort {key} {'↓' if descending else '↑'}" in status(app)
            # A sort by a column that does not fit is named as such on the status line.
            hidden = not table(app).shows_column(key)
            assert ("(hidden column)" in status(app)) == hidden
            if not hidden:
                assert "↓" in table_lines(app)[0] or "↑" in table_lines(app)[0]
            base = sorted(entries, key=lambda e: e.checkpoint_path)
            assert shown_paths(app) == [
                e.checkpoint_path for e in sort_entries(base, key, descending)
            ]
            await pilot.press("S")
            assert shown_paths(app) == [
                e.checkpoint_path for e in sort_entries(base, key, not descending)
            ]
        await pilot.press("s")  # after the last column, back to the path order
        assert main(app).sort == ("path", False)
        assert shown_paths(app) == sorted(shown_paths(app))
        await pilot.press("s")
        assert main(app).sort[0] == keys[0]


async def test_hmean_sort_both_directions_with_nulls_last(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press(*"sssssss")  # experiment → file → … → hmean
        assert main(app).sort == ("hmean", True)
        paths = shown_paths(app)
        assert paths[:4] == [path for path, _ in SIDECAR_BY_HMEAN]
        nulls = paths[4:]
        assert all(main(app).entries[p].hmean is None for p in nulls)
        assert nulls == sorted(nulls)  # stable: path order among the unknown
        lines = table_lines(app)
        assert "hmean↓" in lines[0]
        assert SIDECAR_BY_HMEAN[0][1] in lines[1]

        await pilot.press("S")
        paths = shown_paths(app)
        assert paths[:4] == [path for path, _ in reversed(SIDECAR_BY_HMEAN)]
        assert paths[4:] == nulls  # still last
        assert "hmean↑" in table_lines(app)[0]
        assert "0.612" in table_lines(app)[1]


async def test_header_click_sorts_by_that_column(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        header = table_lines(app)[0]
        x = header.index("Epoch")
        await pilot.click("#catalog", offset=(x, 0))
        assert main(app).sort == ("epoch", False)
        epochs = [main(app).entries[p].epoch for p in shown_paths(app)]
        known = [e for e in epochs if e is not None]
        assert known == sorted(known) and known[0] == 0  # epoch 0 is a real epoch
        assert epochs[len(known) :] == [None] * (len(epochs) - len(known))
        await pilot.click("#catalog", offset=(x, 0))  # again: reversed
        assert main(app).sort == ("epoch", True)


async def test_move_keys(tui_tree: Path) -> None:
    async with running(tui_tree, size=(80, 24)) as (app, pilot):
        grid = table(app)
        assert grid.cursor_row == 0
        await pilot.press("j", "j", "down")
        assert grid.cursor_row == 3
        await pilot.press("k", "up")
        assert grid.cursor_row == 1
        await pilot.press("end")
        assert grid.cursor_row == 9
        await pilot.press("home")
        assert grid.cursor_row == 0
        await pilot.press("pagedown")
        assert grid.cursor_row > 1
        await pilot.press("pageup")
        assert grid.cursor_row == 0
        # The detail pane follows the cursor.
        await pilot.press("end")
        last = shown_paths(app)[-1]
        assert last.split("/")[-1] in await detail_text(pilot)


async def test_space_marks_and_unmarks(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("space")
        await pilot.press("j", "j", "space")
        first, third = shown_paths(app)[0], shown_paths(app)[2]
        assert main(app).marks == {first, third}
        assert "2 marked" in status(app)
        lines = table_lines(app)
        assert lines[1].startswith("●") and lines[3].startswith("●")
        assert not lines[2].startswith("●")
        await pilot.press("space")
        assert main(app).marks == {first}
        assert "1 marked" in status(app)
        assert main(app).conversion_targets() == [main(app).entries[first]]


async def test_c_opens_conversion_for_entries_without_sidecar(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        targets = main(app).conversion_targets()
        assert {e.checkpoint_path for e in targets} == {
            p for p, e in main(app).entries.items() if e.sidecar_path is None
        }
        await pilot.press("c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConversionScreen")
        assert [e.checkpoint_path for e in app.screen.entries] == [  # type: ignore[attr-defined]
            e.checkpoint_path for e in targets
        ]
        await pilot.press("escape")  # cancel: back to the table, and a rescan follows
        await wait_for(pilot, lambda: app.screen is main(app))
        await wait_for(pilot, lambda: main(app).scans_completed >= 2, what="the rescan")


async def test_c_with_marks_converts_the_marked_rows(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("j", "space", "j", "j", "space", "c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConversionScreen")
        marked = sorted(main(app).marks)
        assert [e.checkpoint_path for e in app.screen.entries] == marked  # type: ignore[attr-defined]


async def test_y_copies_the_absolute_path(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("j")
        entry = table(app).cursor_entry
        assert entry is not None
        await pilot.press("y")
        expected = str((tui_tree / entry.checkpoint_path).resolve())
        assert app.clipboard == expected
        await wait_for(pilot, lambda: "copied" in screen_text(app))
        # The toast may wrap the long path: compare without the line breaks and borders.
        assert entry.checkpoint_path.split("/")[-1] in screen_text(app)


async def test_quit_exits_with_code_zero(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_narrow_terminal_puts_the_detail_pane_below(tui_tree: Path) -> None:
    async with running(tui_tree, size=(80, 24)) as (app, pilot):
        grid, pane = table(app).region, main(app).query_one("#detail").region
        assert pane.y >= grid.bottom and pane.x == grid.x
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        grid, pane = table(app).region, main(app).query_one("#detail").region
        assert pane.x >= grid.right and pane.y == grid.y
        assert app.focused is table(app)
