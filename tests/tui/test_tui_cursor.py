"""The cursor row is always on screen: after End, PgDn and ↓ at the bottom, also when a
horizontal scrollbar covers the table's last line."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import running, table, table_lines

from ckpt_tui.catalog.columns import COLUMNS

EVERY_COLUMN = tuple(column.key for column in COLUMNS)


def cursor_line_on_screen(app: object) -> str:
    """The screen line of the cursor row; fails when the row is scrolled out or covered."""
    widget = table(app)  # type: ignore[arg-type]
    lines = table_lines(app)  # type: ignore[arg-type]
    shown_rows = widget.scrollable_content_region.height - 1  # under the header, above a bar
    offset = widget.cursor_row - round(widget.scroll_y)
    assert 0 <= offset < shown_rows, f"cursor row {widget.cursor_row} is off screen"
    line = lines[1 + offset]
    entry = widget.cursor_entry
    assert entry is not None
    assert entry.file_name[:8] in line, line
    return line


@pytest.mark.parametrize("columns", [None, EVERY_COLUMN])
async def test_cursor_row_stays_visible(tui_tree: Path, columns: tuple[str, ...] | None) -> None:
    async with running(tui_tree, size=(80, 24), columns=columns) as (app, pilot):
        widget = table(app)
        if columns:  # every column: wider than 80, so a horizontal scrollbar shows
            assert widget.virtual_size.width > widget.size.width
        await pilot.press("end")
        assert widget.cursor_row == len(widget.rows) - 1
        last = widget.rows[-1].file_name
        assert last in cursor_line_on_screen(app)
        await pilot.press("down")  # at the bottom already
        assert last in cursor_line_on_screen(app)
        await pilot.press("home")
        cursor_line_on_screen(app)
        while widget.cursor_row < len(widget.rows) - 1:
            await pilot.press("pagedown")
            cursor_line_on_screen(app)
        for _ in range(len(widget.rows)):
            await pilot.press("up")
            cursor_line_on_screen(app)
