"""The scanning half of the main screen: the catalog workers and what they post.

:class:`CatalogScreen` scans the root (and rescans it when a cheap poll sees the tree change),
merges the scans' batches into a :class:`~ckpt_tui.catalog.updates.CatalogState`, and reads the
safety verdict of ``unchecked`` entries in the background. The screen built on it
(``MainScreen``) shows the result: it provides :meth:`CatalogScreen.refresh_view` and
:meth:`CatalogScreen.visible_rows`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from textual import on, work
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from ckpt_tui.catalog.fingerprint import tree_fingerprint
from ckpt_tui.catalog.updates import CatalogState, CatalogUpdate
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui.formatting import safe
from ckpt_tui.tui.loading import CatalogBatch, CatalogProgress, TreeSignature, stream_catalog
from ckpt_tui.tui.verifying import VerdictBatch, stream_verdicts, unchecked
from ckpt_tui.tui.widgets.status_line import StatusLine

Entry = CheckpointCatalogEntry
#: Seconds between two refreshes of the view while entries stream in, plus this per entry
#: (0.6 s at 100,000 entries).
REFRESH_INTERVAL = 0.1
REFRESH_INTERVAL_PER_ENTRY = 5e-6


class CatalogScreen(Screen[None]):
    """A screen that keeps the catalog of one root up to date."""

    def __init__(self, root: Path, *, use_cache: bool, poll_interval: float | None) -> None:
        super().__init__()
        self.root = root
        """The folder shown (as given: it is displayed)."""
        self._use_cache = use_cache
        self._poll_interval = poll_interval
        self.catalog = CatalogState()
        """Every entry, merged from the scans' updates."""
        self.scans_completed = 0
        """Finished scans, polls included (tests wait on it)."""
        self.is_loading = False
        """Whether a visible scan (start-up or rescan) is running."""
        self.is_verifying = False
        """Whether unchecked files are being read for their verdict (tests wait on it)."""
        self._scan: Worker[None] | None = None
        self._verify: Worker[None] | None = None
        self._scanning = False
        self._signature: int | None = None
        self._last_refresh = 0.0
        self._refresh_timer: Timer | None = None

    @property
    def entries(self) -> Mapping[str, Entry]:
        """Every entry by checkpoint path (read-only: only scans change it)."""
        return self.catalog.entries

    def refresh_view(self, *, follow: bool = True) -> None:
        """Show the entries again after they changed (the screen built on this one)."""
        raise NotImplementedError

    def _refresh_soon(self, *, now: bool = False) -> None:
        """Show the changed entries: at once (``now``, or the first change after a pause), else
        once the refresh interval has passed since the previous refresh.

        A refresh filters, sorts and counts every entry, so its cost grows with the catalog;
        spacing refreshes in proportion keeps a large load's total cost linear in its size.
        """
        interval = REFRESH_INTERVAL + len(self.catalog) * REFRESH_INTERVAL_PER_ENTRY
        wait = self._last_refresh + interval - time.monotonic()
        if now or wait <= 0:
            if self._refresh_timer is not None:
                self._refresh_timer.stop()
                self._refresh_timer = None
            self._last_refresh = time.monotonic()
            self.refresh_view()
        elif self._refresh_timer is None:
            self._refresh_timer = self.set_timer(wait, self._timed_refresh)

    def _timed_refresh(self) -> None:
        self._refresh_timer = None
        self._refresh_soon(now=True)

    def visible_rows(self) -> list[Entry]:
        """The rows shown, in order: the verification reads these first."""
        raise NotImplementedError

    def start_polling(self) -> None:
        """Scan the root, and poll it for changes every ``poll_interval`` seconds."""
        self.scan(progress=True)
        if self._poll_interval:
            self.set_interval(self._poll_interval, self._poll)

    def cancel_scans(self) -> None:
        """Stop the scan and the verification in flight (quit); unmounting also does."""
        self.workers.cancel_group(self, "catalog")
        self._stop_verifying()

    # -- scanning ---------------------------------------------------------------------------

    def scan(self, *, progress: bool) -> None:
        """Start a scan of the root, cancelling any scan in flight."""
        self._scanning = True
        self.is_loading = progress
        # The scan replaces the entries being verified: verify what it finds instead.
        self._stop_verifying()
        if progress:
            self.query_one(StatusLine).progress(0, 0, loading=True)
        self.catalog.start()
        # Exclusive: starting this worker cancels the one in flight, whose late messages are
        # then ignored (they name a cancelled worker).
        self._scan = self._scan_worker(progress)

    @work(thread=True, exclusive=True, exit_on_error=False, group="catalog")
    def _scan_worker(self, progress: bool) -> None:
        stream_catalog(
            self.root,
            post=self.post_message,
            use_cache=self._use_cache,
            progress=progress,
        )

    def _current(self, worker: Worker[None]) -> bool:
        # Only the latest scan's messages count: an older one was cancelled by a rescan.
        return worker is self._scan and not worker.is_cancelled

    def _poll(self) -> None:
        # Live updates: a cheap look at the tree every few seconds; a scan only on a change.
        if self._scanning or self._signature is None:
            return
        self._poll_worker()

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _poll_worker(self) -> None:
        try:
            signature = tree_fingerprint(self.root)
        except OSError:
            return  # the root went away: a rescan (ctrl+r) reports it; polling stays quiet
        self.post_message(TreeSignature(signature))

    @on(TreeSignature)
    def _tree_signature(self, message: TreeSignature) -> None:
        if not self._scanning and message.signature != self._signature:
            self.scan(progress=False)

    @on(CatalogProgress)
    def _progress(self, message: CatalogProgress) -> None:
        if self._current(message.worker) and self.is_loading:
            self.query_one(StatusLine).progress(message.done, message.total, loading=True)

    @on(CatalogBatch)
    def _batch(self, message: CatalogBatch) -> None:
        if not self._current(message.worker):
            return
        update = message.update
        changed = self.catalog.apply(update)
        if self.is_loading:
            self.query_one(StatusLine).progress(update.done, update.total, loading=True)
        if changed:
            self._refresh_soon(now=update.final)
        if update.scan_issues:
            first = safe(update.scan_issues[0].message, 120)
            self.notify(
                f"{len(update.scan_issues)} scan problem(s): {first}",
                severity="warning",
                markup=False,  # file names may hold "[...]": never parse them as markup
            )
        if update.final:
            self._signature = message.signature
            self._finish_scan()

    def _finish_scan(self) -> None:
        if self.is_loading and not self.catalog:
            self.notify(f"no checkpoints under {safe(self.root)}", severity="warning", markup=False)
        self.is_loading = self._scanning = False
        self.query_one(StatusLine).progress(0, 0, loading=False)
        self.scans_completed += 1
        self.verify()

    # -- verifying --------------------------------------------------------------------------

    def verify(self) -> None:
        """Read the verdict of every ``unchecked`` entry in the background (rows in view first)."""
        self._stop_verifying()
        todo = unchecked(self.visible_rows(), self.catalog.by_path())
        if not todo:
            return
        self.is_verifying = True
        self.query_one(StatusLine).verifying(0, len(todo))
        self._verify = self._verify_worker(todo)

    # A description: by default Textual would repr the arguments (every entry to verify).
    @work(thread=True, exclusive=True, exit_on_error=False, group="verify", description="verify")
    def _verify_worker(self, todo: list[Entry]) -> None:
        root = str(self.root) if self._use_cache else None
        stream_verdicts(todo, post=self.post_message, root=root)

    def _stop_verifying(self) -> None:
        if self._verify is not None:
            self._verify.cancel()
        self._verify, self.is_verifying = None, False
        self.query_one(StatusLine).verifying(0, 0)

    @on(VerdictBatch)
    def _verdicts(self, message: VerdictBatch) -> None:
        if message.worker is not self._verify or message.worker.is_cancelled:
            return
        # Replacements only, never final: that would end the scan's own bookkeeping.
        update = CatalogUpdate(message.entries, self.catalog.done, self.catalog.total)
        if self.catalog.apply(update):
            self._refresh_soon(now=message.final)
        self.query_one(StatusLine).verifying(message.done, message.total)
        if message.final:
            self._stop_verifying()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # The one place worker failures surface: a scan that crashed is shown, not swallowed.
        if event.state != WorkerState.ERROR:
            return
        self.notify(
            f"{event.worker.group} failed: {safe(event.worker.error, 200)}",
            severity="error",
            markup=False,
        )
        if event.worker is self._scan:
            self._finish_scan()
        elif event.worker is self._verify:
            self._stop_verifying()
