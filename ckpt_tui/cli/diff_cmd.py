"""``ckpt-tui diff A B [--json] [--all]``: what differs between two checkpoints.

Each checkpoint is described as ``show`` describes it (the catalog's tiers), then read by the
safe reader for its verdict, hyper-parameters and weights' structure; nothing in either file
runs. Exit 0 when compared (equal or not), 1 when a checkpoint cannot be read, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_tui.compare.diff import SECTIONS
from ckpt_tui.io.text import escape_for_terminal, escape_surrogates_json

if TYPE_CHECKING:
    from rich.console import Console

    from ckpt_tui.compare import CheckpointSnapshot, Comparison, DiffRow

EXIT_COMPARED = 0
EXIT_UNREADABLE = 1
TENSOR_ROWS_SHOWN = 40
"""Per-tensor rows shown on a terminal without ``--all`` (the JSON always has every one)."""
_MARKS = {"same": " ", "changed": "~", "added": "+", "removed": "-"}
_STYLES = {"same": "", "changed": "yellow", "added": "green", "removed": "red"}
_VERDICT_STYLES = {"safe": "green", "unsafe": "bold red", "code": "bold magenta"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``diff``'s arguments."""
    parser.add_argument(
        "a", metavar="A", type=Path, help="the first checkpoint (a file or checkpoint folder)"
    )
    parser.add_argument("b", metavar="B", type=Path, help="the second checkpoint")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument(
        "--all", action="store_true", help="list equal config keys and every differing tensor"
    )
    parser.add_argument("--no-cache", action="store_true", help="bypass the catalog cache")


def _fail(message: str) -> int:
    print(f"ckpt-tui diff: {message}", file=sys.stderr)
    return EXIT_UNREADABLE


def read_side(path: Path, *, use_cache: bool) -> CheckpointSnapshot | str:
    """The snapshot of the checkpoint at ``path``, or why it cannot be read (a message)."""
    from ckpt_tui.cli.show_cmd import describe_checkpoint
    from ckpt_tui.compare import read_snapshot

    shown = escape_for_terminal(str(path))
    if not path.exists():
        return f"cannot read {shown}: no such file or folder"
    entry = describe_checkpoint(path, use_cache=use_cache)
    if entry is None:
        return f"cannot read {shown}: not a checkpoint the catalog reads"
    snapshot = read_snapshot(entry)
    if not snapshot.readable:
        problems = snapshot.read_issues or [
            i for i in snapshot.entry.issues if i.severity == "error"
        ]
        why = problems[0].message if problems else "not a checkpoint format the reader knows"
        return f"cannot read {shown}: {escape_for_terminal(why)}"
    return snapshot


def run(args: argparse.Namespace) -> int:
    """Compare the two checkpoints and print the differences."""
    from ckpt_tui.compare import compare, comparison_json

    sides = []
    for path in (args.a, args.b):
        side = read_side(path, use_cache=not args.no_cache)
        if isinstance(side, str):
            return _fail(side)
        sides.append(side)
    comparison = compare(sides)
    if args.json:
        data = comparison_json(comparison, all_keys=args.all)
        text = json.dumps(data, indent=2, ensure_ascii=False, default=repr)
        print(escape_surrogates_json(text))
    else:
        print_comparison(comparison, all_keys=args.all)
    return EXIT_COMPARED


def print_comparison(
    comparison: Comparison, *, all_keys: bool = False, console: Console | None = None
) -> None:
    """The comparison for people: a table per section on a terminal; when piped, plain lines
    ``<mark> <key>\t<A>\t<B>`` (no box drawing, no colour, never wrapped)."""
    from ckpt_tui.cli.console import stdout_console

    if console is None:
        console = stdout_console(highlight=False)
    if not console.is_terminal:
        _print_plain(comparison, all_keys)
        return
    from rich.markup import escape
    from rich.table import Table

    for letter, side in zip("AB", comparison.sides, strict=True):
        entry = side.entry
        colour = _VERDICT_STYLES.get(entry.safety, "yellow")
        path = escape(_shown_path(side))
        console.print(f"[bold]{letter}[/] {path}  [{colour}]{entry.safety}[/]", soft_wrap=True)
        for name in entry.unsafe_globals:
            console.print(f"  [red]unsafe global: {escape(escape_for_terminal(name))}[/]")
    if comparison.equal:
        console.print("\nno differences")
    for name in SECTIONS:
        rows, note = _rows_to_show(comparison, name, all_keys)
        console.print(f"\n[bold]{name}[/] [dim]({escape(note)})[/]")
        if not rows:
            continue
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("", width=1, no_wrap=True)
        for column in ("key", "A", "B"):
            table.add_column(column, overflow="fold", ratio=1)
        for row in rows:
            cells = [escape(_cell(value)) for value in (row.key, row.values[0], row.values[-1])]
            table.add_row(_MARKS[row.change], *cells, style=_STYLES[row.change] or None)
        console.print(table)


def _print_plain(comparison: Comparison, all_keys: bool) -> None:
    for letter, side in zip("AB", comparison.sides, strict=True):
        print(f"{letter} {_shown_path(side)}  {side.entry.safety}")
        for name in side.entry.unsafe_globals:
            print(f"  unsafe global: {escape_for_terminal(name)}")
    if comparison.equal:
        print("\nno differences")
    for name in SECTIONS:
        rows, note = _rows_to_show(comparison, name, all_keys)
        print(f"\n{name} ({note})")
        for row in rows:
            a, b = _cell(row.values[0]), _cell(row.values[-1])
            print(f"{_MARKS[row.change]} {_cell(row.key)}\t{a}\t{b}")


def _shown_path(side: CheckpointSnapshot) -> str:
    return escape_for_terminal(side.entry.abs_path or side.entry.checkpoint_path)


def _cell(value: Any) -> str:
    """A value as one line of safe text (tabs and newlines would break the plain format), cut
    as the TUI cuts it: aliases can repeat one long text in thousands of a config's keys."""
    from ckpt_tui.compare.report import cut_text, display_value

    text = cut_text(value) if isinstance(value, str) else display_value(value)
    return escape_for_terminal(text).replace("\t", " ").replace("\n", " ")


def _rows_to_show(comparison: Comparison, name: str, all_keys: bool) -> tuple[list[DiffRow], str]:
    from ckpt_tui.compare import TENSOR_PREFIX

    rows = comparison.section(name)
    differing = sum(row.differs for row in rows)
    note = f"{differing} differ" if differing else "equal"
    if name == "config":
        if not rows:
            return [], "no configuration in either checkpoint"
        if not all_keys:
            hidden = len(rows) - differing
            rows = [row for row in rows if row.differs]
            note += f"; {hidden} equal keys hidden, --all lists them" if hidden else ""
    if name == "weights" and not all_keys:
        tensors = [row for row in rows if row.key.startswith(TENSOR_PREFIX)]
        if len(tensors) > TENSOR_ROWS_SHOWN:
            cut = {id(row) for row in tensors[TENSOR_ROWS_SHOWN:]}
            rows = [row for row in rows if id(row) not in cut]
            note += f"; {len(cut)} more tensors hidden, --all or --json lists them"
    return rows, note
