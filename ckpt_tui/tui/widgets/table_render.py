"""How one line of the catalog table is drawn: the header, a row, and the row's gutter.

Pure functions of a layout (``ckpt_tui.catalog.columns.fit_columns``) and the styles the table
read from its CSS, so the table widget keeps only the cursor, the scrolling and the events.
Each line comes in two parts: the frozen columns (the gutter, then Experiment and File), which
stay in place, and the rest, which ``←`` ``→`` scroll when the columns are wider than the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style

from ckpt_tui.catalog.columns import Column, header_label, issue_kind, render_cell
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui import formatting as fmt

Entry = CheckpointCatalogEntry
Layout = Sequence[tuple[Column, int]]
Parts = tuple[list[Segment], list[Segment]]
#: Cells before the first column: the mark (●) and the flag (☠ security, ƒ code, ✗, !).
GUTTER = 2
#: Columns that stay in place while the others scroll sideways (when they lead the layout).
FROZEN = ("experiment", "file")
#: The flag of a row with a security finding that is not an ``unsafe`` verdict.
SECURITY_GLYPH = fmt.UNSAFE_GLYPH
#: Columns whose security findings are styled apart.
_VERDICTS = frozenset({"safety", "issues"})


@dataclass(frozen=True)
class TableStyles:
    """The table's component styles (partial ones for cell attributes over the row's base)."""

    header: Style
    sorted: Style
    cursor: Style
    null: Style
    marked: Style
    error: Style
    warning: Style
    security: Style
    code: Style


def frozen_count(layout: Layout) -> int:
    """How many leading columns of ``layout`` stay in place."""
    count = 0
    for column, _width in layout:
        if column.key not in FROZEN:
            break
        count += 1
    return count


def header_parts(layout: Layout, sort: tuple[str, bool] | None, styles: TableStyles) -> Parts:
    """The header line: every label whole, with the sorted column's arrow after it."""
    frozen = frozen_count(layout)
    fixed: list[Segment] = [Segment(" " * (GUTTER + 1), styles.header)]
    rest: list[Segment] = []
    for i, (column, width) in enumerate(layout):
        arrow, style = "", styles.header
        if sort is not None and sort[0] == column.key:
            arrow, style = ("↓" if sort[1] else "↑"), styles.sorted
        target = fixed if i < frozen else rest
        target.append(Segment(header_label(column, width, arrow), style))
        target.append(Segment(" ", styles.header))
    return fixed, rest


def row_parts(
    entry: Entry,
    cells: Sequence[str | None],
    layout: Layout,
    *,
    base: Style,
    marked: bool,
    styles: TableStyles,
) -> Parts:
    """One row: ``cells`` holds the text of each column of ``layout`` (``None``: unknown)."""
    frozen = frozen_count(layout)
    null = base + styles.null
    fixed: list[Segment] = [*gutter(entry, marked, base, styles), Segment(" ", base)]
    rest: list[Segment] = []
    for i, ((column, width), value) in enumerate(zip(layout, cells, strict=True)):
        target = fixed if i < frozen else rest
        style = base if value else null
        if value and (value == "unsafe" or "SECURITY" in value) and column.key in _VERDICTS:
            style = base + styles.security  # the word, reversed red: never like a warning
        target.append(Segment(render_cell(column, value, width), style))
        target.append(Segment(" ", base))
    return fixed, rest


def gutter(entry: Entry, marked: bool, base: Style, styles: TableStyles) -> list[Segment]:
    """The mark and the flag. The verdict outranks the issue flags: a checkpoint that would run
    code on load never looks like one with a mere warning."""
    mark = Segment("●" if marked else " ", base + styles.marked)
    verdict = fmt.safety_marker(entry)
    kinds = {issue_kind(issue) for issue in entry.issues}
    if verdict == fmt.UNSAFE_GLYPH or ("security" in kinds and verdict is None):
        flag = Segment(SECURITY_GLYPH, base + styles.security)
    elif verdict == fmt.CODE_GLYPH:
        flag = Segment(verdict, base + styles.code)
    elif "error" in kinds:
        flag = Segment("✗", base + styles.error)
    elif "warning" in kinds:
        flag = Segment("!", base + styles.warning)
    else:
        flag = Segment(" ", base)
    return [mark, flag]
