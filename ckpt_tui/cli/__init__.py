"""The ``ckpt-tui`` command line: the TUI by default, plus ``list``, ``show``, ``validate``,
``convert``, ``diff``, ``prune`` and ``demo`` for scripts.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args)``; only
the module of the command being run is imported, so ``ckpt-tui --help`` stays fast.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, cast

from ckpt_tui import __version__
from ckpt_tui.io.process import tune_collector
from ckpt_tui.io.text import escape_for_terminal

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: name → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("ckpt_tui.cli.list_cmd", "list the checkpoints under ROOT (table, JSON or CSV)"),
    "show": ("ckpt_tui.cli.show_cmd", "everything known about one checkpoint"),
    "validate": ("ckpt_tui.cli.validate_cmd", "check every sidecar under ROOT"),
    "convert": ("ckpt_tui.cli.convert_cmd", "write sidecars for checkpoints that have none"),
    "diff": ("ckpt_tui.cli.diff_cmd", "what differs between two checkpoints"),
    "prune": ("ckpt_tui.cli.prune_cmd", "delete checkpoints that no rule keeps (plan first)"),
    "demo": ("ckpt_tui.cli.demo_cmd", "write a realistic demo outputs/ tree"),
}


class CommandModule(Protocol):
    """What a subcommand module provides."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _columns(spec: str) -> tuple[str, ...]:
    from ckpt_tui.catalog.columns import parse_columns

    try:
        return parse_columns(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_columns_argument(parser: argparse.ArgumentParser) -> None:
    """``--columns LIST``: the table's columns, in order (the TUI and ``list``)."""
    parser.add_argument(
        "--columns",
        type=_columns,
        metavar="LIST",
        help="the table's columns, comma-separated (e.g. experiment,file,hmean,epoch); "
        "default: every column that fits the width, least useful dropped first",
    )


def _epilog() -> str:
    lines = ["commands:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines.append("\nrun 'ckpt-tui COMMAND --help' for a command's options")
    return "\n".join(lines)


def _tui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ckpt-tui",
        description="Browse a folder of PyTorch / Lightning checkpoints.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "root", nargs="?", default=".", type=Path, help="folder or s3://, gs:// URL (default: .)"
    )
    parser.add_argument("--no-cache", action="store_true", help="bypass the persistent cache")
    add_columns_argument(parser)
    parser.add_argument("--version", action="version", version=f"ckpt-tui {__version__}")
    return parser


def _run_command(name: str, argv: list[str], remote_tree: object = None) -> int:
    """Parse ``argv`` for command ``name`` and run it (on a remote root's index when
    ``remote_tree`` is given: see :mod:`ckpt_tui.cli.remote`)."""
    module = cast(CommandModule, importlib.import_module(COMMANDS[name][0]))
    parser = argparse.ArgumentParser(prog=f"ckpt-tui {name}", description=COMMANDS[name][1])
    module.add_arguments(parser)
    if name in ("list", "show", "validate", "convert", "diff"):
        from ckpt_tui.cli.remote import add_storage_option

        add_storage_option(parser)
    args = parser.parse_args(argv)
    args.remote_tree = remote_tree
    return module.run(args)


def _run_tui(argv: list[str], remote_tree: object = None) -> int:
    parser = _tui_parser()
    from ckpt_tui.cli.remote import add_storage_option

    add_storage_option(parser)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        shown = escape_for_terminal(str(args.root))
        commands = ", ".join(COMMANDS)
        print(f"ckpt-tui: '{shown}' is not a command ({commands}) or a folder", file=sys.stderr)
        return EXIT_USAGE
    from ckpt_tui.tui.app import run_app

    return run_app(args.root, use_cache=not args.no_cache, columns=args.columns)


def run() -> int:
    """The program's entry point (the ``ckpt-tui`` script and ``python -m ckpt_tui``): runs
    :func:`main` on ``sys.argv`` and returns its exit code for ``sys.exit``. The garbage
    collector runs less often (:func:`~ckpt_tui.io.process.tune_collector`). A subcommand that
    finished ends the process at once (see :func:`end_now`)."""
    tune_collector()
    code = main()
    if sys.argv[1:2] and sys.argv[1] in COMMANDS:
        end_now(code)
    return code


def end_now(code: int) -> None:
    """End the process with ``code`` now, without the interpreter's teardown, when nothing is
    left to do; otherwise return (and the caller exits as usual).

    A finished subcommand has written its files and printed its output; tearing down the
    interpreter (every module, every object; pydantic and the catalog are large) would only
    delay the shell's prompt. The output is flushed first, and the normal exit is kept whenever a
    non-daemon thread still runs, a profiler or tracer is attached (``python -m cProfile``,
    coverage: they write their results at the end), or a flush fails (its error is then
    reported as usual).
    """
    import threading

    if sys.getprofile() is not None or sys.gettrace() is not None:
        return
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (docs/reference.md lists them)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in COMMANDS:
            name = args_list[0]
            if any("://" in arg for arg in args_list[1:]):
                from ckpt_tui.cli.remote import REMOTE_COMMANDS, run_remote, wants_remote

                if name in REMOTE_COMMANDS and wants_remote(args_list[1:]):
                    return run_remote(name, args_list[1:], functools.partial(_run_command, name))
            return _run_command(name, args_list[1:])
        if any("://" in arg for arg in args_list):
            from ckpt_tui.cli.remote import run_remote, wants_remote

            if wants_remote(args_list):
                return run_remote("", args_list, _run_tui)
        return _run_tui(args_list)
    except KeyboardInterrupt:
        print("ckpt-tui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `ckpt-tui list ... | head`: the reader went away; that is not an error of ours. Point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_OK
