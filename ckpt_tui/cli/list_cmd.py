"""``ckpt-tui list ROOT [--json|--csv] [--sort FIELD] [--desc] [--filter EXPR] [--verify]
[--columns LIST] [--no-cache]``.

On a terminal: a table fitted to its width, one line per entry (and a progress bar on stderr
while a long build runs); piped: one tab-separated line per entry after a header line
(``table_out``). With ``--json``: the array of entries, one compact entry per line, and nothing
else on stdout; ``--csv``: one row per entry. ``--columns`` chooses the table's columns.
Entries a sidecar described are ``unchecked`` (their file was not read); ``--verify`` reads the
safety verdict of each of them before anything is filtered or printed.
Names are shown escaped, never raw: a file name can hold terminal escape sequences.
Exit codes: 0 done, 2 usage error (bad root, bad filter, unknown sort field).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
import time
from typing import Any, TextIO

from ckpt_tui.cli import add_columns_argument
from ckpt_tui.io.text import escape_for_terminal, escape_surrogates_json
from ckpt_tui.model.entry import JSON_FIELDS, CheckpointCatalogEntry

EXIT_OK = 0
EXIT_USAGE = 2
PROGRESS_AFTER_SECONDS = 0.5
"""A progress bar appears only when a build takes longer than this."""
_JSON_PIECE = 500
"""Entries per piece of ``--json`` output."""

Entry = CheckpointCatalogEntry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ckpt-tui list``."""
    parser.add_argument("root", help="folder to scan for checkpoints")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the entries as a JSON array")
    output.add_argument("--csv", action="store_true", help="print the entries as CSV")
    parser.add_argument("--sort", metavar="FIELD", help="sort by FIELD (unknown values last)")
    parser.add_argument("--desc", action="store_true", help="sort in descending order")
    parser.add_argument("--filter", metavar="EXPR", help="keep entries matching EXPR")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="read the safety verdict of every unchecked (sidecar-described) checkpoint",
    )
    parser.add_argument("--no-cache", action="store_true", help="bypass the catalog cache")
    add_columns_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Build, filter, sort and print the catalog of ``args.root``."""
    from ckpt_tui.catalog.api import CatalogState, iter_catalog, resolve_root
    from ckpt_tui.catalog.filter import FilterError, parse_filter
    from ckpt_tui.catalog.sort import resolve_sort_field, sort_entries

    try:
        root = resolve_root(args.root)
    except OSError as exc:
        return _usage(str(exc))
    entry_filter = None
    if args.filter:
        try:
            entry_filter = parse_filter(args.filter)
        except FilterError as exc:
            return _usage(f"bad filter {args.filter!r}: {exc}")
    sort_field = None
    if args.sort:
        try:
            sort_field = resolve_sort_field(args.sort)
        except KeyError as exc:
            return _usage(str(exc.args[0]) if exc.args else str(exc))

    state = CatalogState()
    with _Progress() as progress:
        # A remote root's checkpoints wait on the network, not the CPU: more at once.
        workers = 8 if getattr(args, "remote_tree", None) is not None else 2
        for update in iter_catalog(root, use_cache=not args.no_cache, workers=workers):
            state.apply(update)
            progress.show(len(state), update.done, update.total)
    if args.verify:
        from ckpt_tui.catalog.verify import verify_entries

        with _Progress("verifying") as progress:
            verified = verify_entries(
                state.ordered(), workers=2, root=None if args.no_cache else root
            )
            for update in verified:
                state.apply(update)
                progress.show(len(state), update.done, update.total)
    selected = state.ordered()
    remote = getattr(args, "remote_tree", None)
    if remote is not None:  # a remote root: its URLs, not the local index's paths
        for entry in selected:
            entry.abs_path = remote.url_of(entry.abs_path)
    if entry_filter is not None:
        selected = entry_filter.select(selected)
    if sort_field is not None:
        selected = sort_entries(selected, sort_field, descending=args.desc)
    for issue in state.scan_issues:
        print(f"ckpt-tui: {escape_for_terminal(str(issue))}", file=sys.stderr)
    if args.json:
        _write_json(selected, sys.stdout)
    elif args.csv:
        _write_csv(selected, sys.stdout)
    else:
        _write_table(selected, len(state), args.columns)
    return EXIT_OK


def _usage(message: str) -> int:
    print(f"ckpt-tui list: {escape_for_terminal(message)}", file=sys.stderr)
    return EXIT_USAGE


def _write_json(entries: list[Entry], out: TextIO) -> None:
    # One compact entry per line inside the array: valid JSON, and streamed (50,000 entries
    # never sit in memory as one document). Compact, json.dumps uses its C encoder; indenting
    # falls back to pure Python, the bulk of the time at 100,000 entries.
    # Non-ASCII names stay readable (UTF-8); control characters are JSON escapes, and bytes that
    # are not UTF-8 (lone surrogates) become \udcXX escapes instead of failing to encode.
    if not entries:
        _write_utf8("[]\n", out)
        return
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    pieces: list[str] = []
    for index, entry in enumerate(entries):
        pieces.append(("[\n" if index == 0 else ",\n") + encode(entry.to_json()))
        if len(pieces) >= _JSON_PIECE:
            _write_utf8(escape_surrogates_json("".join(pieces)), out)
            pieces = []
    pieces.append("\n]\n")
    _write_utf8(escape_surrogates_json("".join(pieces)), out)


def csv_row(entry: Entry) -> list[str]:
    """One CSV row: the JSON fields; provenance as JSON, issues as ``severity: message [code]``,
    unsafe globals separated by spaces."""
    data = entry.to_json()
    row: list[str] = []
    for name in JSON_FIELDS:
        value: Any = data[name]
        if name == "provenance":
            text = json.dumps(value, ensure_ascii=False)
        elif name == "issues":
            text = "; ".join(f"{i['severity']}: {i['message']} [{i['code']}]" for i in value)
        elif name == "unsafe_globals":
            text = " ".join(value)
        elif value is None:
            text = ""
        else:
            text = str(value)
        row.append(escape_for_terminal(text))
    return row


def _write_csv(entries: list[Entry], out: TextIO) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(JSON_FIELDS)
    for entry in entries:
        writer.writerow(csv_row(entry))
    _write_utf8(buffer.getvalue(), out)


def _write_utf8(text: str, out: TextIO) -> None:
    binary = getattr(out, "buffer", None)
    if binary is not None:
        out.flush()
        binary.write(text.encode("utf-8", "backslashreplace"))
        binary.flush()
    else:
        out.write(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def _write_table(entries: list[Entry], found: int, columns: tuple[str, ...] | None) -> None:
    from ckpt_tui.cli.table_out import write_terminal_table, write_tsv

    if sys.stdout.isatty():
        # The terminal's own width (COLUMNS when set): rich assumes 80 on a "dumb" terminal.
        width = shutil.get_terminal_size((80, 24)).columns
        write_terminal_table(entries, found, width, columns)
    else:
        write_tsv(entries, sys.stdout, columns)


class _Progress:
    """A progress bar on stderr, shown only on a terminal and only once a build runs long."""

    def __init__(self, step: str = "") -> None:
        self._step = step
        self._enabled = sys.stderr.isatty()
        self._started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        return self

    def show(self, found: int, done: int, total: int) -> None:
        """Report ``found`` entries so far and the slow tier's ``done`` of ``total``."""
        if not self._enabled:
            return
        if self._bar is None:
            if time.monotonic() - self._started < PROGRESS_AFTER_SECONDS:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("scanning", total=None)
        step = self._step or ("reading checkpoints" if total else "scanning")
        description = f"{found} found · {step}"
        self._bar.update(self._task, description=description, completed=done, total=total or None)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
