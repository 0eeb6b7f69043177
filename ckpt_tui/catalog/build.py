"""The streaming build behind :func:`ckpt_tui.catalog.api.iter_catalog`.

One walk of the tree; each file's cache signature is checked first, cache misses have their fast
tiers (sidecar, config, path) run at once, and entries without a valid sidecar then go to the
checkpoint tier on a bounded thread pool. Everything is delivered as :class:`CatalogUpdate`
batches on the consumer's thread.
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
from ckpt_tui.catalog.describe import Assembler, FastResult
from ckpt_tui.catalog.discover import walk
from ckpt_tui.catalog.fingerprint import TreeFingerprint
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.sources.checkpoint import checkpoint_tier, checkpoint_tier_or_issue
from ckpt_tui.sources.merge import TierResult

BATCH_SIZE = 500
FIRST_BATCH_SIZE = 50
"""The first update goes out early, so the first rows appear while the walk goes on."""
"""Entries per update while walking."""
SLOW_BATCH_SIZE = 50
"""Entries per update while the checkpoint tier finishes."""
BATCH_SECONDS = 0.25
FIRST_BATCH_SECONDS = 0.05
"""An update is sent at least this often while there is something new."""
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
    """One streaming build; all methods run on the consumer's thread."""

    def __init__(
        self,
        root: str,
        use_cache: bool,
        inspect: bool,
        cancel: threading.Event | None,
        workers: int,
    ) -> None:
        self.root = root
        self.inspect = inspect
        self.cancel = cancel or threading.Event()
        self.workers = workers
        self.use_cache = use_cache
        self.assembler = Assembler(root)
        self.issues: list[Issue] = []
        self.issues_sent = 0
        self.batch: list[CheckpointCatalogEntry] = []
        self.last_sent = time.monotonic()
        self.sent_any = False
        self.cache: CatalogCache | None = None
        # the slow (checkpoint) tier
        self.pending: dict[str, FastResult] = {}
        self.finished: queue.SimpleQueue[tuple[str, TierResult]] = queue.SimpleQueue()
        self.done = 0
        self.total = 0
        self.inspector: ThreadPoolExecutor | None = None

    def run(
        self, patterns: list[str], fingerprint: TreeFingerprint | None = None
    ) -> Iterator[CatalogUpdate]:
        """Walk, answer, stream; see :func:`ckpt_tui.catalog.api.iter_catalog`."""
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
                    self._prepared(self.assembler.prepare(found))
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
                self._slow_done(rel, slow)
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

    # -- the fast tiers ------------------------------------------------------------------------

    def _prepared(self, result: FastResult) -> None:
        found = result.found
        if self.cache is not None:
            cached = self.cache.lookup(
                found.rel, result.sig, need_inspected=self._can_inspect(result)
            )
            if cached is not None:
                cached.abs_path = found.path
                cached.mtime = found.mtime if found.error is None else None
                self.batch.append(cached)
                return
        try:
            self.assembler.run_fast(result)
            entry = self.assembler.entry(result)
        except Exception as exc:  # a bug must cost one entry, never the build
            entry = self.assembler.failed(result, exc)
            result.sidecar_backed = True  # nothing more to learn about it
        self._fast_done(result, entry)

    def _collect(self) -> None:
        while True:
            try:
                rel, slow = self.finished.get_nowait()
            except queue.Empty:
                return
            self._slow_done(rel, slow)

    def _fast_done(self, result: FastResult, entry: CheckpointCatalogEntry) -> None:
        self.batch.append(entry)
        if self._can_inspect(result) and not result.sidecar_backed:
            self._submit(result)
        elif self.cache is not None:
            # Complete for any later build when a sidecar answered or there is nothing to read;
            # otherwise a build that inspects will still have to.
            found = result.found
            complete = result.sidecar_backed or found.error is not None or found.size == 0
            self.cache.store(found.rel, result.sig, entry, inspected=complete)

    def _can_inspect(self, result: FastResult) -> bool:
        # Nothing to read in a dangling link or an empty file (both are already errors).
        found = result.found
        return self.inspect and found.error is None and found.size > 0

    # -- the slow tier -------------------------------------------------------------------------

    def _submit(self, result: FastResult) -> None:
        if self.inspector is None:
            self.inspector = ThreadPoolExecutor(self.workers, thread_name_prefix="ckpt-inspect")
        rel = result.found.rel
        self.pending[rel] = result
        self.total += 1
        future = self.inspector.submit(_inspect, result.found.path)
        future.add_done_callback(functools.partial(self._finished, rel))

    def _finished(self, rel: str, future: Future[TierResult]) -> None:
        if not future.cancelled():
            self.finished.put((rel, future.result()))

    def _slow_done(self, rel: str, slow: TierResult) -> None:
        result = self.pending.pop(rel)
        self.done += 1
        try:
            entry = self.assembler.entry(result, slow)
        except Exception as exc:  # a bug must cost one entry, never the build
            entry = self.assembler.failed(result, exc)
        self.batch.append(entry)
        if self.cache is not None:
            self.cache.store(rel, result.sig, entry, inspected=True)

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


def _inspect(path: str) -> TierResult:
    # checkpoint_tier is looked up here, at call time (tests replace it).
    return checkpoint_tier_or_issue(path, checkpoint_tier)
