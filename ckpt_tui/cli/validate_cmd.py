"""``ckpt-tui validate ROOT [--json]``: check every sidecar; exit 0 valid · 1 problems · 2 usage."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ckpt_tui.catalog.validate import validate_tree
from ckpt_tui.io.text import escape_for_terminal, escape_surrogates_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``validate``'s arguments."""
    parser.add_argument("root", type=Path, help="folder to validate")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    """Validate the tree; one line per problem on stdout, the summary on stderr."""
    root: Path = args.root
    if not root.is_dir():
        print(f"ckpt-tui validate: not a folder: {escape_for_terminal(str(root))}", file=sys.stderr)
        return 2
    report = validate_tree(root)
    if args.json:
        text = json.dumps(report.to_json(), indent=2, ensure_ascii=False)
        print(escape_surrogates_json(text))
    else:
        for result in report.results:
            where = result.sidecar or result.checkpoint
            relative = escape_for_terminal(_relative(where, report.root))
            for issue in result.issues:
                # Sidecar messages start with the file's own name; the full path replaces it.
                message = issue.message.removeprefix(f"{where.name}: ")
                print(f"{relative}: {issue.severity}: {escape_for_terminal(message)}")
        for issue in report.scan_issues:
            print(f"{issue.severity}: {escape_for_terminal(issue.message)}")
        print(report.summary(), file=sys.stderr)
    return 1 if report.has_problems else 0


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
