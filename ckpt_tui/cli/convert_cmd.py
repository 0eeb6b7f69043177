"""``ckpt-tui convert ROOT [--dry-run] [--force] [--json]``: write sidecars for legacy checkpoints.

Exit 0 when every item was written or skipped, 1 when some failed, 2 on a usage error, 130 when
interrupted (Ctrl-C or SIGTERM: the sidecars being written finish, whole, and are counted; the
rest stay untouched). The tree is converted in one pass by the conversion engine
(:func:`ckpt_tui.convert.tree.convert_tree`, the same engine as the TUI's conversion screen):
sidecars are written in groups on several threads as the checkpoints are read, and entries the
catalog cache holds are used without reading their checkpoints again; many checkpoints are read
ahead in forked worker processes, while this process imports the schema (pydantic) every planned
sidecar is checked against. Rich is imported only for a progress bar on a terminal.
An ``unsafe`` (or ``code``) checkpoint is skipped, with its reason, unless ``--force``.
The reference tool's flags (``--outputs-dir``, ``--exp-dir``, ``--checkpoint``, ``--no-recursive``,
``-v``) work too.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ckpt_tui.io.text import escape_for_terminal, escape_surrogates_json

if TYPE_CHECKING:
    from ckpt_tui.catalog.discover import FoundFile
    from ckpt_tui.convert.engine import ConversionReport
    from ckpt_tui.convert.write import ItemReport

EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``convert``'s arguments (ours and the reference tool's)."""
    parser.add_argument("root", type=Path, nargs="?", help="folder to convert")
    parser.add_argument("--outputs-dir", type=Path, help="same as ROOT (reference tool's flag)")
    parser.add_argument("--exp-dir", type=Path, help="convert one experiment folder")
    parser.add_argument("--checkpoint", type=Path, help="convert one checkpoint file")
    parser.add_argument(
        "--no-recursive",
        action="store_true",
        help="only checkpoints directly in ROOT or ROOT/checkpoints",
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be written")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace existing sidecars; convert unsafe checkpoints too (still unsafe once read)",
    )
    parser.add_argument(
        "--write-outside-root",
        action="store_true",
        help="also write sidecars into folders that links lead to outside ROOT "
        "(by default they are listed and skipped)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-cache", action="store_true", help="bypass the catalog cache")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per checkpoint")


def _select(args: argparse.Namespace) -> tuple[Path, Callable[[str], bool] | None] | str:
    """The folder to walk and which of its checkpoints to convert, or a usage error message."""
    given = [p for p in (args.root, args.outputs_dir, args.exp_dir, args.checkpoint) if p]
    if len(given) != 1:
        return "give exactly one of ROOT, --outputs-dir, --exp-dir or --checkpoint"
    target: Path = given[0]
    if args.checkpoint is not None:
        if not target.is_file():
            return f"not a file: {target}"
        name = target.name
        return target.parent, lambda rel: rel == name
    if not target.is_dir():
        return f"not a folder: {target}"
    if args.no_recursive:
        return target, _shallow
    return target, None


def _shallow(rel: str) -> bool:
    """Directly in ROOT or in ROOT/checkpoints (``--no-recursive``)."""
    depth = rel.count("/")
    return depth == 0 or (depth == 1 and rel.startswith("checkpoints/"))


@contextmanager
def _cancel_on(signum: int, cancel: threading.Event) -> Iterator[None]:
    """While inside, the signal ``signum`` sets ``cancel`` instead of its usual effect."""

    # The same safe stop as a cancel: the sidecars being written finish, then it stops.
    def handler(signum: int, frame: FrameType | None) -> None:
        cancel.set()

    try:
        previous = signal.signal(signum, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signum, previous)


def _item_json(report: ItemReport) -> dict[str, Any]:
    return {
        "checkpoint_path": report.checkpoint_path,
        "sidecar_path": report.sidecar_path,
        "action": report.action,
        "outcome": report.outcome,
        "reason": report.reason or None,
        "unknown_fields": report.unknown_fields,
        "safety": report.safety,
    }


def _not_run_json(rel: str, sidecar: str) -> dict[str, Any]:
    reason = "not run (interrupted)"
    return {"checkpoint_path": rel, "sidecar_path": sidecar, "action": None, "outcome": None,
            "reason": reason, "unknown_fields": [], "safety": None}  # fmt: skip


def _summary(tree: ConversionReport[FoundFile], dry_run: bool) -> dict[str, Any]:
    if dry_run:
        kinds = [r.action for r in tree.reports]
        converted = kinds.count("write") + kinds.count("replace")
        skipped, failed = kinds.count("skip"), kinds.count("impossible")
    else:
        outcomes = [r.outcome for r in tree.reports]
        converted = outcomes.count("written")
        skipped, failed = outcomes.count("skipped"), outcomes.count("failed")
    return {
        "dry_run": dry_run,
        "total": len(tree.reports) + len(tree.not_run),
        "converted": converted,
        "skipped": skipped,
        "failed": failed,
        "not_run": len(tree.not_run),
        "temps_removed": tree.temps_removed,
    }


def run(args: argparse.Namespace) -> int:
    """Convert (or with ``--dry-run`` plan) in one pass, then report."""
    cancel = threading.Event()
    # Ctrl-C and SIGTERM set cancel rather than raising: an exception could land between a write
    # and its bookkeeping, and then the summary would miss a sidecar that is on disk. The few
    # writes in flight finish, whole.
    with _cancel_on(signal.SIGTERM, cancel), _cancel_on(signal.SIGINT, cancel):
        return _run(args, cancel)


def _run(args: argparse.Namespace, cancel: threading.Event) -> int:
    from ckpt_tui.convert.prefetch import worker_count
    from ckpt_tui.convert.tree import convert_tree
    from ckpt_tui.sidecar.files import sidecar_path_for

    selected = _select(args)
    if isinstance(selected, str):
        print(f"ckpt-tui convert: {escape_for_terminal(selected)}", file=sys.stderr)
        return 2
    root, select = selected
    with _progress(show=not args.json and sys.stderr.isatty()) as (on_found, on_report):
        tree = convert_tree(
            str(root),
            select=select,
            force=args.force,
            dry_run=args.dry_run,
            use_cache=not args.no_cache,
            cancel=cancel,
            on_report=on_report,
            on_found=on_found,
            write_outside_root=args.write_outside_root,
            read_workers=worker_count(),
        )
    summary = _summary(tree, args.dry_run)
    interrupted = tree.cancelled
    if args.json:
        items = [_item_json(report) for report in tree.reports]
        items += [
            _not_run_json(found.rel, str(sidecar_path_for(Path(found.path))))
            for found in tree.not_run
        ]
        data = {**summary, "interrupted": interrupted, "items": items}
        print(escape_surrogates_json(json.dumps(data, indent=2, ensure_ascii=False)))
    else:
        _print_report(tree, summary, verbose=args.verbose or args.dry_run)
    if interrupted:
        return EXIT_INTERRUPTED
    return 1 if summary["failed"] else 0


Progress = tuple[Callable[[int], None] | None, Callable[[int, "ItemReport | None"], None] | None]


@contextmanager
def _progress(*, show: bool) -> Iterator[Progress]:
    """A transient rich progress bar on a terminal (rich is imported only then): the callbacks
    for ``convert_tree``'s ``on_found`` and ``on_report``."""
    if not show:
        yield None, None
        return
    from rich.progress import Progress as Bar

    # No refresh thread (auto_refresh=False): it would take the GIL from the reading of the
    # checkpoints several times a second. The bar is redrawn as files finish instead.
    with Bar(transient=True, auto_refresh=False) as bar:
        task = bar.add_task("converting", total=None)

        def found(count: int) -> None:
            bar.update(task, total=count)
            bar.refresh()

        drawn = [0.0]

        def advance(_index: int, _report: ItemReport | None) -> None:
            bar.advance(task)
            if time.monotonic() - drawn[0] >= 0.05:  # at most 20 redraws a second
                drawn[0] = time.monotonic()
                bar.refresh()

        yield found, advance


_ALWAYS_SAID = ("a sidecar appeared", "outside ROOT")
"""Reasons of skipped items that are printed even without ``-v``."""


def _print_report(
    tree: ConversionReport[FoundFile], summary: dict[str, Any], *, verbose: bool
) -> None:
    for report in tree.reports:
        failed = report.outcome == "failed" or report.action == "impossible"
        # An unsafe checkpoint left without a sidecar is always worth a line: it says why; so
        # is one skipped for a reason the plan could not foresee, or outside ROOT.
        if not (
            verbose
            or failed
            or report.safety in ("unsafe", "code")
            or report.reason.startswith(_ALWAYS_SAID)
        ):
            continue
        what = report.outcome or (
            "would write" if report.action in ("write", "replace") else report.action
        )
        unknown = report.unknown_fields
        detail = f" (unknown: {', '.join(unknown)})" if unknown else ""
        reason = f" — {report.reason}" if report.reason else ""
        print(escape_for_terminal(f"{what}: {report.checkpoint_path}{detail}{reason}"))
    if summary["temps_removed"]:
        print(f"removed {summary['temps_removed']} temp files an interrupted run had left")
    verb = "would convert" if summary["dry_run"] else "converted"
    print(
        f"{summary['total']} checkpoints: {summary['converted']} {verb}, "
        f"{summary['skipped']} skipped, {summary['failed']} failed"
        + (f", {summary['not_run']} not run (interrupted)" if summary["not_run"] else "")
    )
