"""``ckpt-tui demo DIR``: write a realistic demo outputs tree of real torch checkpoints, with DIR as
the ``outputs/`` folder (``ckpt-tui demo .demo/outputs`` writes ``.demo/outputs/<run>/...``).

Exit codes: 0 written · 1 the tree could not be written · 2 usage error (DIR is not empty and
``--force`` was not given, or DIR is a file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` command's arguments to ``parser``."""
    parser.add_argument(
        "dir",
        metavar="DIR",
        type=Path,
        help="the outputs/ folder to write (its run folders are written directly in it)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the generated scores and weights (default 0)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into DIR even if it is not empty (the demo's own paths are overwritten)",
    )


def run(args: argparse.Namespace) -> int:
    """Write the demo tree into ``args.dir`` and print a short summary; return the exit code."""
    dest: Path = args.dir
    if dest.exists() and not dest.is_dir():
        print(f"ckpt-tui demo: {dest} exists and is not a folder", file=sys.stderr)
        return 2
    if dest.is_dir() and not args.force and _not_empty(dest):
        print(
            f"ckpt-tui demo: {dest} is not empty; use an empty folder or pass --force",
            file=sys.stderr,
        )
        return 2

    from ckpt_tui.demo import write_demo_tree  # imports torch when it runs, not before

    try:
        summary = write_demo_tree(dest, seed=args.seed)
    except OSError as exc:
        print(f"ckpt-tui demo: cannot write {dest}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    broken = len(summary.broken)
    print(f"Wrote a demo tree to {summary.root} in {summary.elapsed:.1f} s:")
    print(
        f"  {len(summary.checkpoints)} checkpoints in {len(summary.runs)} runs "
        f"({summary.total_bytes / 1e6:.1f} MB), {len(summary.with_sidecar)} with sidecars, "
        f"{len(summary.legacy)} legacy-format, {len(summary.links)} link, {broken} broken"
    )
    print(f"Try: ckpt-tui {summary.root}   or   ckpt-tui list {summary.root}")
    return 0


def _not_empty(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except OSError:
        return True  # unreadable: refuse rather than guess
