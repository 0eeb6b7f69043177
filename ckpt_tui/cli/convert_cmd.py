"""``ckpt-tui convert ROOT [--dry-run] [--force] [--json]``: write sidecars for legacy checkpoints.

Exit 0 when every item was written or skipped, 1 when some failed, 2 on a usage error, 130 when
interrupted (Ctrl-C or SIGTERM: the few sidecars being written finish, whole, and are counted;
the rest stay untouched). Sidecars are written ``WRITE_WORKERS`` at a time, so their fsyncs
overlap.
The reference tool's flags (``--outputs-dir``, ``--exp-dir``, ``--checkpoint``, ``--no-recursive``,
``-v``) work too.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from ckpt_tui.core.conversion import (
    WRITE_WORKERS,
    ConversionItem,
    ConversionPlan,
    ConversionResult,
    execute_plan,
    plan_conversion,
)
from ckpt_tui.core.entry import CheckpointCatalogEntry
from ckpt_tui.core.text import escape_for_terminal, escape_surrogates_json

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
    parser.add_argument("--force", action="store_true", help="replace existing sidecars")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-cache", action="store_true", help="bypass the catalog cache")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per checkpoint")


def _select(args: argparse.Namespace) -> tuple[Path, list[CheckpointCatalogEntry]] | str:
    """The root and the candidate entries, or a usage error message."""
    from ckpt_tui.core.catalog import build_catalog

    given = [p for p in (args.root, args.outputs_dir, args.exp_dir, args.checkpoint) if p]
    if len(given) != 1:
        return "give exactly one of ROOT, --outputs-dir, --exp-dir or --checkpoint"
    target: Path = given[0]
    single = args.checkpoint is not None
    if single and not target.is_file():
        return f"not a file: {target}"
    if not single and not target.is_dir():
        return f"not a folder: {target}"
    root = target.parent if single else target
    catalog = build_catalog(root, use_cache=not args.no_cache)
    entries = catalog.entries
    if single:
        entries = [
            e
            for e in entries
            if Path(e.abs_path).name == target.name and "/" not in e.checkpoint_path
        ]
    elif args.no_recursive:
        entries = [
            e
            for e in entries
            if e.checkpoint_path.count("/") == 0
            or (e.checkpoint_path.count("/") == 1 and e.checkpoint_path.startswith("checkpoints/"))
        ]
    if not args.force:
        entries = [e for e in entries if e.sidecar_path is None]
    return root, entries


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


def _item_json(item: ConversionItem, result: ConversionResult | None) -> dict[str, Any]:
    return {
        "checkpoint_path": item.entry.checkpoint_path,
        "sidecar_path": str(item.target),
        "action": item.action,
        "outcome": result.outcome if result else None,
        "reason": (result.reason if result else item.reason) or None,
        "unknown_fields": item.unknown_fields,
    }


def _summary(
    plan: ConversionPlan, results: dict[int, ConversionResult], dry_run: bool
) -> dict[str, Any]:
    outcomes = [r.outcome for r in results.values()]
    impossible = sum(1 for item in plan.items if item.action == "impossible")
    return {
        "dry_run": dry_run,
        "total": len(plan.items),
        "converted": len(plan.to_write) if dry_run else outcomes.count("written"),
        "skipped": sum(1 for i in plan.items if i.action == "skip")
        if dry_run
        else outcomes.count("skipped"),
        "failed": impossible if dry_run else outcomes.count("failed"),
        "not_run": 0 if dry_run else len(plan.items) - len(results),
    }


def run(args: argparse.Namespace) -> int:
    """Plan, then write (unless ``--dry-run``), then report."""
    cancel = threading.Event()
    with _cancel_on(signal.SIGTERM, cancel):
        return _run(args, cancel)


def _run(args: argparse.Namespace, cancel: threading.Event) -> int:
    selected = _select(args)
    if cancel.is_set():
        return EXIT_INTERRUPTED
    if isinstance(selected, str):
        print(f"ckpt-tui convert: {escape_for_terminal(selected)}", file=sys.stderr)
        return 2
    _, entries = selected
    plan = plan_conversion(entries, force=args.force)
    results: dict[int, ConversionResult] = {}
    interrupted = False
    if not args.dry_run:
        interrupted = _execute(plan, args, cancel, results)
    summary = _summary(plan, results, args.dry_run)
    if args.json:
        data = {
            **summary,
            "interrupted": interrupted,
            "items": [_item_json(item, results.get(i)) for i, item in enumerate(plan.items)],
        }
        print(escape_surrogates_json(json.dumps(data, indent=2, ensure_ascii=False)))
    else:
        _print_report(plan, results, summary, verbose=args.verbose or args.dry_run)
    if interrupted:
        return EXIT_INTERRUPTED
    return 1 if summary["failed"] else 0


def _execute(
    plan: ConversionPlan,
    args: argparse.Namespace,
    cancel: threading.Event,
    results: dict[int, ConversionResult],
) -> bool:
    """Write the plan with a progress bar on a terminal; returns whether it was interrupted."""
    index = {id(item): i for i, item in enumerate(plan.items)}
    show_progress = not args.json and sys.stderr.isatty()
    progress_context: Any = None
    task: Any = None
    if show_progress:
        from rich.progress import Progress

        progress_context = Progress(transient=True)
        task = progress_context.add_task("converting", total=len(plan.items))

    def on_result(item: ConversionItem, result: ConversionResult) -> None:
        results[index[id(item)]] = result
        if progress_context is not None:
            progress_context.advance(task)

    def write_all() -> None:
        # Ctrl-C sets cancel rather than raising KeyboardInterrupt: an exception could land
        # between a write and its bookkeeping, and then the summary would miss a sidecar that
        # is on disk. The few writes in flight (several run at once) finish, whole.
        with _cancel_on(signal.SIGINT, cancel):
            execute_plan(
                plan, force=args.force, cancel=cancel, on_result=on_result, workers=WRITE_WORKERS
            )

    try:
        if progress_context is not None:
            with progress_context:
                write_all()
        else:
            write_all()
    except KeyboardInterrupt:
        return True
    return cancel.is_set()


def _print_report(
    plan: ConversionPlan,
    results: dict[int, ConversionResult],
    summary: dict[str, Any],
    *,
    verbose: bool,
) -> None:
    for i, item in enumerate(plan.items):
        result = results.get(i)
        failed = (result and result.outcome == "failed") or item.action == "impossible"
        if not (verbose or failed):
            continue
        what = (
            result.outcome
            if result
            else ("would write" if item.action in ("write", "replace") else item.action)
        )
        reason = (result.reason if result else item.reason) or ""
        unknown = f" (unknown: {', '.join(item.unknown_fields)})" if item.unknown_fields else ""
        line = f"{what}: {item.entry.checkpoint_path}{unknown}" + (f" — {reason}" if reason else "")
        print(escape_for_terminal(line))
    verb = "would convert" if summary["dry_run"] else "converted"
    print(
        f"{summary['total']} checkpoints: {summary['converted']} {verb}, "
        f"{summary['skipped']} skipped, {summary['failed']} failed"
        + (f", {summary['not_run']} not run (interrupted)" if summary["not_run"] else "")
    )
