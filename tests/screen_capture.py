"""Reading what a headless Textual app shows, for tests: one helper for every UI test folder.

The screen is read through ``App.export_screenshot``, Textual's public way to capture exactly
what the terminal shows (a modal over the screens beneath it included), and the SVG it returns
is turned back into plain text lines. Rich writes one ``<text>`` element per run of styled,
non-blank text, with its column as an ``x`` position (in multiples of a fixed cell width) and its
line as the id of a clip path; spaces are written as ``&#160;`` and markup characters as
entities. Blank runs get no element, so every line starts as spaces and the runs are placed at
their columns. A wide character (CJK, emoji) fills two cells but is one character, as a terminal
line holds it: the cell after it contributes nothing.
"""

from __future__ import annotations

import html
import re
from typing import Any

from rich.cells import cell_len

#: ``Console.export_svg``'s cell width: its default font size (20) by its aspect ratio (0.61).
CELL_WIDTH = 20 * 0.61

_TEXT = re.compile(
    r'<text class="[^"]*" x="(?P<x>[0-9.e+-]+)" y="[^"]*" textLength="[^"]*"'
    r' clip-path="url\(#[^)]*-line-(?P<line>\d+)\)">(?P<body>[^<]*)</text>'
)


def svg_cells(svg: str, width: int, height: int) -> list[list[str]]:
    """The cells of a ``Console.export_svg`` screenshot of ``width`` × ``height`` cells, line by
    line (the cell after a wide character holds ``""``)."""
    cells = [[" "] * width for _ in range(height)]
    for match in _TEXT.finditer(svg):
        row = int(match["line"])
        if row >= height:
            continue
        column = round(float(match["x"]) / CELL_WIDTH)
        line = cells[row]
        # A space is written as &#160; while a real no-break space stays itself.
        for char in html.unescape(match["body"].replace("&#160;", " ")):
            if char == "\n":  # Rich ends every line with a run of its own holding "\n"
                continue
            size = cell_len(char)
            if size == 0:  # a combining mark joins the character before it
                if column > 0:
                    line[column - 1] += char
                continue
            if column + size > width:
                break
            line[column] = char
            for extra in range(1, size):
                line[column + extra] = ""
            column += size
    return cells


def screen_cells(app: Any) -> list[list[str]]:
    """What the terminal shows right now, cell by cell."""
    width, height = app.size
    return svg_cells(app.export_screenshot(), width, height)


def screen_lines(app: Any) -> list[str]:
    """What the terminal shows right now, one string per line."""
    return ["".join(line) for line in screen_cells(app)]


def screen_text(app: Any) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    return "\n".join(screen_lines(app))


def region_lines(app: Any, region: Any) -> list[str]:
    """The part of the screen inside ``region`` (a widget's ``region`` or
    ``content_region``), one right-trimmed string per line."""
    lines = screen_cells(app)[region.y : region.bottom]
    # Cut by cells, not characters: a wide character left of the region is one character.
    return ["".join(line[region.x : region.right]).rstrip() for line in lines]


def widget_text(app: Any, widget: Any) -> str:
    """What ``widget`` shows inside its border and padding, as plain text."""
    return "\n".join(region_lines(app, widget.content_region))


async def scrolled_text(pilot: Any, widget: Any) -> str:
    """Everything a scrollable ``widget`` shows, read as a user would: a screen at a time,
    scrolling down until its end; the scroll position is restored afterwards."""
    start = widget.scroll_y
    lines: dict[int, str] = {}
    top = 0
    while True:
        widget.scroll_to(y=top, animate=False, immediate=True)
        await pilot.pause()
        offset = round(widget.scroll_y)
        for row, line in enumerate(region_lines(pilot.app, widget.scrollable_content_region)):
            lines[offset + row] = line
        if offset >= widget.max_scroll_y:
            break
        top = offset + max(1, widget.scrollable_content_region.height)
    widget.scroll_to(y=start, animate=False, immediate=True)
    await pilot.pause()
    last = len(lines)
    while last and not lines.get(last - 1):  # the blank rows under the content
        last -= 1
    return "\n".join(lines.get(row, "") for row in range(last))


def toast_texts(app: Any) -> list[str]:
    """The notifications on screen, one string each (a wrapped message joined with spaces)."""
    return [
        " ".join(line.strip() for line in region_lines(app, toast.content_region) if line.strip())
        for toast in app.screen.query("Toast")
    ]
