"""``ckpt-tui list``'s table: one line per entry, tab-separated when piped, fitted on a terminal.

Piped (stdout is not a terminal), the output is for programs: a header line of field names,
then one line per entry, cells separated by tabs; an unknown value is an empty cell; numbers and
times are written whole (``size_bytes`` in bytes, ``created_at`` in ISO 8601). On a terminal it
is for people: the columns of ``ckpt_tui.catalog.columns`` fitted to the terminal's width (the
least useful dropped first), one line per entry, never wrapped. Either way every name is escaped
(``\\t``, ``\\n`` and escape sequences in a file name show as backslash escapes, so a name can
never split a line or a cell).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TextIO

from ckpt_tui.catalog.columns import (
    COLUMNS,
    COLUMNS_BY_KEY,
    NULL,
    Column,
    data_widths,
    fit_columns,
    header_label,
    issues_summary,
    render_cell,
)
from ckpt_tui.io.text import escape_for_terminal
from ckpt_tui.model.entry import CheckpointCatalogEntry

Entry = CheckpointCatalogEntry

#: A column's field in the tab-separated output (the JSON field it shows).
TSV_FIELDS: dict[str, str] = {
    "experiment": "exp_name",
    "file": "file_name",
    "arch": "architecture",
    "encoder": "backbone",
    "epoch": "epoch",
    "step": "global_step",
    "hmean": "hmean",
    "precision": "precision",
    "recall": "recall",
    "monitor": "monitor",
    "created": "created_at",
    "size": "size_bytes",
    "source": "source",
    "safety": "safety",
    "issues": "issues",
}
#: On a terminal the verdict and the issues matter more than in the TUI (which flags them in
#: its gutter): they are dropped after the metrics, not first.
_TERMINAL_PRIORITY = {"safety": 3, "issues": 5}
TERMINAL_COLUMNS: tuple[Column, ...] = tuple(
    dataclasses.replace(c, priority=_TERMINAL_PRIORITY.get(c.key, c.priority)) for c in COLUMNS
)
_SAFETY_STYLES = {
    "safe": "green",
    "unsafe": "bold reverse red",
    "code": "bold magenta",
    "unchecked": "dim",
    "unreadable": "yellow",
}


def write_tsv(entries: Sequence[Entry], out: TextIO, columns: Sequence[str] | None = None) -> None:
    """The tab-separated table: ``checkpoint_path``, then each column's field."""
    fields = ["checkpoint_path", *(TSV_FIELDS[key] for key in columns or TSV_FIELDS)]
    lines = ["\t".join(fields)]
    for entry in entries:
        lines.append("\t".join(_tsv_cell(entry, field) for field in fields))
        if len(lines) >= 1000:
            out.write("\n".join(lines) + "\n")
            lines = []
    if lines:
        out.write("\n".join(lines) + "\n")


def _tsv_cell(entry: Entry, field: str) -> str:
    if field == "issues":
        value: object = issues_summary(entry)
    elif field == "file_name":
        value = entry.file_name
    else:
        value = getattr(entry, field)
    # escape_for_terminal turns a tab or newline in a name into \t or \n: one cell, one line.
    return "" if value is None or value == "" else escape_for_terminal(str(value))


def write_terminal_table(
    entries: Sequence[Entry], found: int, width: int, columns: Sequence[str] | None = None
) -> None:
    """The table for people, fitted to ``width`` cells, one line per entry."""
    from rich.text import Text

    from ckpt_tui.cli.console import stdout_console

    chosen = [COLUMNS_BY_KEY[key] for key in columns] if columns else list(TERMINAL_COLUMNS)
    now = datetime.now(timezone.utc)
    widths = data_widths(chosen, entries, now, sample=None)
    layout = fit_columns(chosen, widths, width, drop=not columns)
    # Both sizes given, or rich assumes 80 columns on a "dumb" terminal.
    console = stdout_console(highlight=False, width=width, height=25)
    header = Text(" ".join(header_label(column, size) for column, size in layout), style="bold")
    header.rstrip()
    console.print(header, no_wrap=True, overflow="crop", crop=True)
    for entry in entries:
        line = Text()
        for index, (column, size) in enumerate(layout):
            if index:
                line.append(" ")
            value = column.cell(entry, now)
            line.append(render_cell(column, value, size), style=_style(column.key, value))
        line.rstrip()
        console.print(line, no_wrap=True, overflow="crop", crop=True)
    shown = f"{len(entries)} of {found}" if len(entries) != found else str(found)
    console.print(Text(f"{shown} checkpoints", style="dim"))


def _style(key: str, value: str | None) -> str:
    if value is None or value == NULL:
        return "dim"
    if key == "safety":
        return _SAFETY_STYLES.get(value, "")
    if key == "issues":
        # The word SECURITY, reversed red: never the colour of a mere error or warning.
        if "SECURITY" in value:
            return "bold reverse red"
        return "red" if "error" in value else "yellow"
    return ""
