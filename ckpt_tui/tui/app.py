"""The ckpt-tui application: ``make_app`` builds it for the CLI, the tests and the screenshots.

Importing this module pulls in Textual and the catalog's fast tiers, never pydantic, torch or
Lightning: the checkpoint reader is imported by the catalog when a file needs it, and pydantic
when a sidecar is first validated. (The catalog is imported here, not by the loading worker: a
worker thread importing it while the UI thread starts up makes both wait on each other.)

| key | action |
|---|---|
| ? | help |
| q | quit |
| ctrl+p | command palette |
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from ckpt_tui.io.process import tune_collector
from ckpt_tui.tui.commands import CatalogCommands
from ckpt_tui.tui.screens.help import HelpScreen
from ckpt_tui.tui.screens.main import MainScreen

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)


class CheckpointBrowserApp(App[int]):
    """Browse, sort, filter and inspect the checkpoints under a folder."""

    CSS_PATH = "app.tcss"
    TITLE = "ckpt-tui"
    COMMANDS = App.COMMANDS | {CatalogCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        root: Path,
        *,
        use_cache: bool = True,
        clock: Clock | None = None,
        poll_interval: float | None = 3.0,
        cursor_blink: bool = True,
        columns: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__()
        self.root = root
        """The folder browsed, as given."""
        self.clock: Clock = clock or system_clock
        """Where "now" comes from (fixed in tests and screenshots)."""
        self.use_cache = use_cache
        """Whether the catalog may use its persistent cache."""
        self.poll_interval = poll_interval
        """Seconds between live-update polls; ``None`` disables them."""
        self.cursor_blink = cursor_blink
        """Whether the filter box's cursor blinks (off for deterministic snapshots)."""
        self.columns = columns
        """The columns chosen (``--columns``), or ``None``: every column that fits."""

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(
            self.root,
            now=self.clock,
            use_cache=self.use_cache,
            poll_interval=self.poll_interval,
            columns=self.columns,
        )

    def action_help(self) -> None:
        """Open the help screen (unless it is already open); notifications would cover it."""
        if not isinstance(self.screen, HelpScreen):
            self.clear_notifications()
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Cancel the work in flight and exit with code 0."""
        screen = self.screen_stack[0] if self.screen_stack else None
        if isinstance(screen, MainScreen):
            screen.cancel_scans()
        self.exit(0)


def make_app(
    root: Path | str,
    *,
    use_cache: bool = True,
    clock: Clock | None = None,
    poll_interval: float | None = 3.0,
    cursor_blink: bool = True,
    columns: tuple[str, ...] | None = None,
) -> CheckpointBrowserApp:
    """The app for ``root``. Tests and screenshots pass a fixed ``clock``, ``cursor_blink=False``
    and ``poll_interval=None``; the CLI uses the defaults."""
    return CheckpointBrowserApp(
        Path(root),
        use_cache=use_cache,
        clock=clock,
        poll_interval=poll_interval,
        cursor_blink=cursor_blink,
        columns=columns,
    )


#: Seconds a thread may hold the interpreter lock while another waits (Python's default: 5 ms).
SWITCH_INTERVAL = 0.001


def prepare_process() -> None:
    """Process-wide settings for the interactive app; the entry point calls it before the app runs.

    - Everything alive now (modules, the app, its CSS) lives as long as the process, so it is
      left out of later garbage collections (``gc.freeze``). Left in, the first full collection
      while the first rows load walks it all with the interpreter lock held, between the first
      batch and its paint. The collector also runs less often
      (:func:`~ckpt_tui.io.process.tune_collector`, as for every command).
    - The loading thread does many short system calls (reading sidecars, the cache), and after
      each it waits for the lock while the UI thread paints, for up to the switch interval; a
      shorter interval lets the first rows of a large tree paint sooner.

    Not done by the app itself, which tests create by the hundred in one process.
    """
    gc.freeze()
    tune_collector()
    sys.setswitchinterval(SWITCH_INTERVAL)


def run_app(root: Path, *, use_cache: bool = True, columns: tuple[str, ...] | None = None) -> int:
    """Run the TUI on ``root`` in this terminal; returns the exit code."""
    app = make_app(root, use_cache=use_cache, columns=columns)
    prepare_process()
    result = app.run()
    if app.return_code not in (None, 0):
        return app.return_code
    return result if isinstance(result, int) else 0
