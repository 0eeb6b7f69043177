"""The keys of the TUI, in one place: the help screen renders this table."""

from __future__ import annotations

#: (keys, what they do): the key table of the user documentation, as the TUI offers it.
KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓ PgUp PgDn Home End, j k", "move"),
    ("enter", "focus the detail pane"),
    ("/", "filter box: enter applies, escape clears (both: back to the table)"),
    ("s / S", "sort by the next column / reverse (or click a header)"),
    ("space", "mark or unmark the row"),
    ("c", "conversion: marked rows, else all without a sidecar"),
    ("d", "compare marked rows or row vs best"),
    ("p", "prune: plan, confirm, delete"),
    ("y", "copy the path to the clipboard (OSC 52, works over SSH)"),
    ("ctrl+r", "rescan"),
    ("?", "help: this table"),
    ("q", "quit"),
)

#: Extra keys beyond the contract, listed under the table.
EXTRA_KEYS: tuple[tuple[str, str], ...] = (
    ("← →", "scroll the columns sideways (when the chosen columns are wider than the screen)"),
    ("i", "hide or show the detail pane"),
    ("escape", "detail pane or compare screen: back to the table"),
    ("o", "compare screen: only the rows that differ, or all rows"),
    ("ctrl+p", "command palette: sort by a column, filter presets, rescan, conversion"),
)

#: Filter language reminders for the help screen.
FILTER_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("dbnet", "word in experiment, architecture, encoder or path"),
    ("arch:dbnet", "text within one field (=, != for exact)"),
    ("hmean>0.8", "numbers: > >= < <= = != on hmean precision recall epoch step size"),
    ("size<200MB", "sizes take kB/MB/GB (and KiB/MiB/GiB)"),
    ("-last", "a leading - negates a term"),
    ('exp:"my run"', "quotes keep spaces together"),
    ("has:issues", "presence: sidecar config issues errors warnings security, or any field"),
    ("is:best", "the best checkpoint of each experiment"),
)
