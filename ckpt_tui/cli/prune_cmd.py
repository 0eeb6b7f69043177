"""``ckpt-tui prune ROOT [--keep-best K] [--keep-last N] [--by FIELD] [--filter EXPR] [--yes]
[--json] [--save-plan FILE] [--plan FILE]``: reclaim disk, keeping what matters.

Without ``--yes`` it prints the plan — per experiment what goes, what stays and why, and the
bytes reclaimable — and changes nothing. With ``--yes`` it deletes exactly the plan
(:func:`ckpt_tui.prune.execute.execute_plan`). ``--save-plan FILE`` writes the plan as JSON;
``--plan FILE --yes`` carries a saved plan out later: an item goes only if its files are
unchanged and a plan made now, with the same options, would delete it too.

Exit 0 when every planned deletion happened (or nothing was asked), 1 when some were skipped
or failed, 2 on a usage error (bad ROOT, filter, field or plan file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_tui.io.text import escape_for_terminal, escape_surrogates_json

if TYPE_CHECKING:
    from ckpt_tui.prune.execute import ItemResult, PruneReport
    from ckpt_tui.prune.plan import PrunePlan

DEFAULT_KEEP_BEST = 1
DEFAULT_KEEP_LAST = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``prune``'s arguments."""
    parser.add_argument("root", type=Path, nargs="?", help="folder to prune")
    parser.add_argument(
        "--keep-best",
        type=int,
        default=DEFAULT_KEEP_BEST,
        metavar="K",
        help=f"keep the K best of each experiment by FIELD (default {DEFAULT_KEEP_BEST})",
    )
    parser.add_argument(
        "--keep-last",
        type=int,
        default=DEFAULT_KEEP_LAST,
        metavar="N",
        help=f"keep the N most recent of each experiment (default {DEFAULT_KEEP_LAST})",
    )
    parser.add_argument(
        "--by",
        metavar="FIELD",
        help="rank by FIELD (hmean, epoch, val/loss:min, ...; default: the monitored metric)",
    )
    parser.add_argument("--filter", metavar="EXPR", help="only checkpoints matching EXPR may go")
    parser.add_argument("--yes", action="store_true", help="delete (without it: only the plan)")
    parser.add_argument("--json", action="store_true", help="print the plan (and result) as JSON")
    parser.add_argument("--save-plan", metavar="FILE", help="write the plan to FILE as JSON")
    parser.add_argument("--plan", metavar="FILE", help="use the plan saved in FILE")
    parser.add_argument("--no-cache", action="store_true", help="bypass the catalog cache")
    parser.add_argument("-v", "--verbose", action="store_true", help="list what stays too")


def _usage(message: str) -> int:
    print(f"ckpt-tui prune: {escape_for_terminal(message)}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Plan, print, and with ``--yes`` delete."""
    from ckpt_tui.catalog.filter import FilterError
    from ckpt_tui.prune.build import plan_prune
    from ckpt_tui.prune.plan import PlanError, PruneOptions, load_plan, save_plan
    from ckpt_tui.prune.rules import RankingError

    if args.keep_best < 0 or args.keep_last < 0:
        return _usage("--keep-best and --keep-last must be 0 or more")
    fresh: PrunePlan | None = None
    try:
        if args.plan:
            plan = load_plan(args.plan)
            if args.root is not None and os.path.realpath(args.root) != plan.root:
                return _usage("ROOT is not the root the plan was made for")
            if args.yes:
                fresh = plan_prune(plan.root, plan.options, use_cache=not args.no_cache)
        else:
            if args.root is None:
                return _usage("give ROOT (or --plan FILE)")
            options = PruneOptions(args.keep_best, args.keep_last, args.by, args.filter)
            plan = plan_prune(str(args.root), options, use_cache=not args.no_cache)
    except (PlanError, FilterError, RankingError, ValueError, OSError) as exc:
        return _usage(str(exc))
    if args.save_plan:
        try:
            save_plan(plan, args.save_plan)
        except OSError as exc:
            return _usage(f"cannot write the plan: {exc.strerror or exc}")
    if not args.yes:
        if args.json:
            _print_json(plan.to_json())
        else:
            _print_plan(plan, verbose=args.verbose)
            if plan.deleted:
                print("nothing deleted: run again with --yes to delete")
        return 0
    from ckpt_tui.prune.execute import execute_plan

    show = not args.json and sys.stderr.isatty()
    with _progress(show=show, total=len(plan.deleted)) as on_item:
        report = execute_plan(plan, confirm_with=fresh, on_item=on_item)
    if args.json:
        _print_json({"plan": plan.to_json(), "report": report.to_json()})
    else:
        _print_report(report)
    return 0 if report.ok else 1


def _print_json(data: dict[str, Any]) -> None:
    print(escape_surrogates_json(json.dumps(data, indent=2, ensure_ascii=False)))


def _print_plan(plan: PrunePlan, *, verbose: bool) -> None:
    from ckpt_tui.tui.formatting import human_size

    for experiment in plan.experiments:
        deleted = experiment.deleted
        if not deleted and not verbose:
            continue
        header = (
            f"{experiment.run or '.'} ({experiment.exp_name}) — by {experiment.ranking} "
            f"({experiment.mode}): {len(deleted)} to delete, {len(experiment.kept)} kept, "
            f"{human_size(experiment.reclaimable_bytes)} reclaimable"
        )
        print(escape_for_terminal(header))
        for item in experiment.items:
            if item.action == "keep" and not verbose and not deleted:
                continue
            value = "" if item.value is None else f" [{item.value:.4g}]"
            verb = "delete" if item.action == "delete" else "keep  "
            reasons = "; ".join(item.reasons)
            print(escape_for_terminal(f"  {verb} {item.file_name}{value} — {reasons}"))
    count = len(plan.deleted)
    print(
        f"{count} checkpoint{'s' if count != 1 else ''} to delete, "
        f"{len(plan.items) - count} kept, {human_size(plan.reclaimable_bytes)} reclaimable"
    )


def _print_report(report: PruneReport) -> None:
    from ckpt_tui.tui.formatting import human_size

    for result in report.results:
        if result.outcome not in ("deleted", "gone") or result.message:
            line = f"{result.outcome}: {result.checkpoint_path} — {result.message}"
            print(escape_for_terminal(line), file=sys.stderr)
    print(
        f"deleted {report.count('deleted')} checkpoints ({human_size(report.freed_bytes)} "
        f"freed), {report.count('gone')} already gone, {report.count('skipped')} skipped, "
        f"{report.count('failed')} failed" + (", interrupted" if report.cancelled else "")
    )


@contextmanager
def _progress(*, show: bool, total: int) -> Iterator[Callable[[int, int, ItemResult], None] | None]:
    """A transient rich progress bar on stderr when it is a terminal (rich imported only then)."""
    if not show or not total:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("deleting", total=total)

        def advance(done: int, _total: int, _result: ItemResult) -> None:
            bar.update(task, completed=done)

        yield advance
