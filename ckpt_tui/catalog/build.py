"""The streaming build behind :func:`ckpt_tui.catalog.api.iter_catalog`: one pipeline per file.

    discover → describe (prepare → cache, else the fast tiers) → entry → stream
                                         └→ checkpoint tier (thread pool) → entry → stream
    every final entry → cache

One walk of the tree (:func:`~ckpt_tui.catalog.discover.walk`). Each found file is prepared
(:meth:`~ckpt_tui.catalog.describe.Describer.prepare`: its signature); the cache answers if it
can, else the fast tiers (sidecar, config, path) do at once. An entry no valid sidecar answered
then goes to the checkpoint tier on a bounded thread pool, and its replacement follows. Everything
is delivered as :class:`CatalogUpdate` batches on the consumer's thread.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ckpt_tui.catalog.cache import CatalogCache
from ckpt_tui.catalog.describe import Describer, FastTiers, Prepared
from ckpt_tui.catalog.discover import FoundFile, walk
from ckpt_tui.catalog.fingerprint import TreeFingerprint
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.sources.checkpoint import CheckpointTier, checkpoint_tier_or_issue
from ckpt_tui.sources.merge import TierResult

BATCH_SIZE = 500
"""Entries per update while walking."""
FIRST_BATCH_SIZE = 50
"""The first update goes out early, so the first rows appear while the walk goes on."""
SLOW_BATCH_SIZE = 50
"""Entries per update while the checkpoint tier finishes."""
BATCH_SECONDS = 0.25
"""An update is sent at least this often while there is something new."""
FIRST_BATCH_SECONDS = 0.05
"""The same, until the first entries are out."""
_POLL_SECONDS = 0.05


@dataclass
class CatalogUpdate:
    """One step of a streaming build (see :func:`iter_catalog`)."""

    entries: list[CheckpointCatalogEntry] = field(default_factory=list)
    """New entries, or replacements of earlier ones (same ``checkpoint_path``)."""
    done: int = 0
    """Checkpoints the slow (checkpoint) tier has finished so far."""
    total: int = 0
    """Checkpoints queued for the slow tier so far (grows while walking)."""
    scan_issues: list[Issue] = field(default_factory=list)
    """Problems met since the previous update (unreadable folders, cache warnings, ...)."""
    final: bool = False
    """Whether this is the last update of the build."""


class Build:
    """One streaming build; all methods run on the consumer's thread.

    ``checkpoint_tier`` reads one checkpoint (on a worker thread); ``None`` is the real one,
    :func:`ckpt_tui.sources.checkpoint.checkpoint_tier`.
    """

    def __init__(
        self,
        root: str,
        use_cache: bool,
        inspect: bool,
        cancel: threading.Event | None,
        workers: int,
        checkpoint_tier: CheckpointTier | None = None,
    ) -> None:
        self.root = root
        self.inspect = inspect
        self.cancel = cancel or threading.Event()
        self.workers = workers
        self.use_cache = use_cache
        self.checkpoint_tier = checkpoint_tier
        self.describer = Describer(root)
        self.issues: list[Issue] = []
        self.issues_sent = 0
        self.batch: list[CheckpointCatalogEntry] = []
        self.last_sent = time.monotonic()
        self.sent_any = False
        self.cache: CatalogCache | None = None
        # the slow (checkpoint) tier
        self.pending: dict[str, FastTiers] = {}
        self.finished: queue.SimpleQueue[tuple[str, TierResult]] = queue.SimpleQueue()
        self.done = 0
        self.total = 0
        self.inspector: ThreadPoolExecutor | None = None

    def run(
        self, patterns: list[str], fingerprint: TreeFingerprint | None = None
    ) -> Iterator[CatalogUpdate]:
        """Walk, describe, stream; see :func:`ckpt_tui.catalog.api.iter_catalog`."""
        cache_issues = 0
        try:
            if self.use_cache:
                self.cache = CatalogCache(os.path.realpath(self.root))
                self.issues.extend(self.cache.issues)
                cache_issues = len(self.cache.issues)
            for folder, files in walk(self.root, self.issues, patterns=patterns):
                if self.cancel.is_set():
                    return self._stop()
                if fingerprint is not None:
                    fingerprint.add(folder, files)
                for found in files:
                    self._describe(found)
                    if len(self.batch) >= (BATCH_SIZE if self.sent_any else FIRST_BATCH_SIZE):
                        if self.cancel.is_set():
                            return self._stop()
                        self._collect()
                        yield self._update()
                self._collect()
                if self._due():
                    yield self._update()
            if self.batch or self._new_issues():
                yield self._update()
            while self.done < self.total:
                if self.cancel.is_set():
                    return self._stop()
                try:
                    rel, slow = self.finished.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                self._checkpoint_done(rel, slow)
                self._collect()
                if len(self.batch) >= SLOW_BATCH_SIZE or self._due():
                    yield self._update()
            if self.cache is not None:
                self.cache.finish(complete=True)
                self.issues.extend(self.cache.issues[cache_issues:])
            yield self._update(final=True)
        finally:
            self._close_inspector()
            if self.cache is not None:
                self.cache.close()

    # -- one file: prepared, from the cache or the fast tiers, to the checkpoint tier ---------

    def _describe(self, found: FoundFile) -> None:
        prepared = self.describer.prepare(found)
        inspect = self.inspect and prepared.readable
        if self.cache is not None:
            cached = self.cache.lookup(found.rel, prepared.sig, need_inspected=inspect)
            if cached is not None:
                self.batch.append(prepared.restore(cached))
                return
        try:
            fast = self.describer.fast_tiers(prepared)
            entry = self.describer.entry(fast)
        except Exception as exc:  # a bug must cost one entry, never the build
            self._emit(prepared, self.describer.failed(found, exc), complete=True)
            return
        if inspect and fast.needs_checkpoint:
            self.batch.append(entry)
            self._submit(fast)
        else:
            # Complete for any later build when nothing is left to read; otherwise a build
            # that inspects will still have to.
            self._emit(prepared, entry, complete=not fast.needs_checkpoint)

    def _submit(self, fast: FastTiers) -> None:
        if self.inspector is None:
            self.inspector = ThreadPoolExecutor(self.workers, thread_name_prefix="ckpt-inspect")
        found = fast.prepared.found
        self.pending[found.rel] = fast
        self.total += 1
        future = self.inspector.submit(checkpoint_tier_or_issue, found.path, self.checkpoint_tier)
        future.add_done_callback(functools.partial(self._finished, found.rel))

    def _finished(self, rel: str, future: Future[TierResult]) -> None:
        # On a worker thread: hand the result to the consumer's thread.
        if not future.cancelled():
            self.finished.put((rel, future.result()))

    def _collect(self) -> None:
        while True:
            try:
                rel, slow = self.finished.get_nowait()
            except queue.Empty:
                return
            self._checkpoint_done(rel, slow)

    def _checkpoint_done(self, rel: str, slow: TierResult) -> None:
        fast = self.pending.pop(rel)
        self.done += 1
        try:
            entry = self.describer.entry(fast, slow)
        except Exception as exc:  # a bug must cost one entry, never the build
            entry = self.describer.failed(fast.prepared.found, exc)
        self._emit(fast.prepared, entry, complete=True)

    def _emit(self, prepared: Prepared, entry: CheckpointCatalogEntry, *, complete: bool) -> None:
        """Stream a finished ``entry`` and remember it; ``complete``: nothing left to read."""
        self.batch.append(entry)
        if self.cache is not None:
            self.cache.store(prepared.found.rel, prepared.sig, entry, inspected=complete)

    # -- updates and the end -------------------------------------------------------------------

    def _due(self) -> bool:
        wait = BATCH_SECONDS if self.sent_any else FIRST_BATCH_SECONDS
        return bool(self.batch) and time.monotonic() - self.last_sent >= wait

    def _new_issues(self) -> bool:
        return len(self.issues) > self.issues_sent

    def _update(self, final: bool = False) -> CatalogUpdate:
        update = CatalogUpdate(
            entries=self.batch,
            done=self.done,
            total=self.total,
            scan_issues=self.issues[self.issues_sent :],
            final=final,
        )
        self.batch = []
        self.issues_sent = len(self.issues)
        self.last_sent = time.monotonic()
        self.sent_any = self.sent_any or bool(update.entries)
        return update

    def _stop(self) -> None:
        self._close_inspector()
        if self.cache is not None:
            self.cache.finish(complete=False)

    def _close_inspector(self) -> None:
        if self.inspector is not None:
            self.inspector.shutdown(wait=False, cancel_futures=True)
