"""The console commands print their tables through (rich, imported on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def stdout_console(**options: Any) -> Console:
    """A rich console on stdout whose reader may go away (``ckpt-tui list ROOT | head``).

    rich answers a broken pipe with ``SystemExit(1)``; this console raises ``BrokenPipeError``
    instead, which :func:`ckpt_tui.cli.main` turns into a quiet exit 0, as for plain prints.
    """
    from rich.console import Console

    class _QuietOnBrokenPipe(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError

    return _QuietOnBrokenPipe(**options)
