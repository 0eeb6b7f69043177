"""Building the catalog of a folder: discovery, the tiers, the cache, streamed as it goes.

:func:`iter_catalog` walks the tree once and yields entries in batches as soon as the fast tiers
(sidecar, config, path) have answered, then yields replacements as the slow checkpoint tier
finishes on a bounded thread pool; it stops promptly when ``cancel`` is set. :func:`build_catalog`
collects everything into a :class:`CheckpointCatalog`. One bad file is one entry with an error;
nothing in the tree can stop a build.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ckpt_tui.core.assemble import Assembler, FastResult
from ckpt_tui.core.cache import CatalogCache
from ckpt_tui.core.checkpoint_tier import checkpoint_tier
from ckpt_tui.core.discovery import DEFAULT_PATTERNS, walk
from ckpt_tui.core.entry import CheckpointCatalog, CheckpointCatalogEntry, Issue
from ckpt_tui.core.merge import TierResult

BATCH_SIZE = 500
"""Entries per update while walking."""
SLOW_BATCH_SIZE = 50
"""Entries per update while the checkpoint tier finishes."""
BATCH_SECONDS = 0.25
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


def resolve_root(root: Path | str) -> str:
    """``root`` as an absolute path; ``FileNotFoundError``/``NotADirectoryError`` when unusable."""
    path = os.path.abspath(os.fspath(root))
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such folder: {root}")
    if not os.path.isdir(path):
        raise NotADirectoryError(f"not a folder: {root}")
    return path


def build_catalog(
    root: Path | str, use_cache: bool = True, *, inspect: bool = True
) -> CheckpointCatalog:
    """Every checkpoint under ``root`` as a :class:`CheckpointCatalog` (entries in walk order).

    Raises ``FileNotFoundError`` or ``NotADirectoryError`` when ``root`` is not a folder; no
    problem inside the tree ever raises.
    """
    started = time.perf_counter()
    entries: dict[str, CheckpointCatalogEntry] = {}
    issues: list[Issue] = []
    for update in iter_catalog(root, use_cache=use_cache, inspect=inspect):
        for entry in update.entries:
            entries[entry.checkpoint_path] = entry
        issues.extend(update.scan_issues)
    return CheckpointCatalog(
        root=resolve_root(root),
        entries=list(entries.values()),
        catalog_build_time_seconds=time.perf_counter() - started,
        scan_issues=issues,
    )


def iter_catalog(
    root: Path | str,
    *,
    use_cache: bool = True,
    inspect: bool = True,
    cancel: threading.Event | None = None,
    workers: int = 2,
    patterns: Iterable[str] = DEFAULT_PATTERNS,
) -> Iterator[CatalogUpdate]:
    """Stream the catalog of ``root``: fast-tier entries first, then slow-tier replacements.

    Every update carries the entries that are new or changed since the previous one, the slow
    tier's progress (``done`` of ``total``) and new scan issues; the last has ``final=True``.
    With ``inspect`` the checkpoint tier runs for every entry without a valid sidecar, on
    ``workers`` threads. When ``cancel`` is set the iterator stops within a fraction of a
    second, without a final update (what was finished is still cached). ``use_cache=False``
    bypasses both the in-process and the persistent cache.
    """
    build = _Build(resolve_root(root), use_cache, inspect, cancel, max(1, workers))
    return build.run(list(patterns))


class _Build:
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
        self.pending: dict[str, FastResult] = {}
        self.finished: queue.SimpleQueue[tuple[str, TierResult]] = queue.SimpleQueue()
        self.done = 0
        self.total = 0
        self.cache: CatalogCache | None = None
        self.executor: ThreadPoolExecutor | None = None

    def run(self, patterns: list[str]) -> Iterator[CatalogUpdate]:
        cache_issues = 0
        try:
            if self.use_cache:
                self.cache = CatalogCache(os.path.realpath(self.root))
                self.issues.extend(self.cache.issues)
                cache_issues = len(self.cache.issues)
            for _folder, files in walk(self.root, self.issues, patterns=patterns):
                if self.cancel.is_set():
                    return self._stop()
                for found in files:
                    self._fast(self.assembler.prepare(found))
                    if len(self.batch) >= BATCH_SIZE:
                        if self.cancel.is_set():
                            return self._stop()
                        self._drain()
                        yield self._update()
                self._drain()
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
                self._drain()
                if len(self.batch) >= SLOW_BATCH_SIZE or self._due():
                    yield self._update()
            if self.cache is not None:
                self.cache.finish(complete=True)
                self.issues.extend(self.cache.issues[cache_issues:])
            yield self._update(final=True)
        finally:
            if self.executor is not None:
                self.executor.shutdown(wait=False, cancel_futures=True)
            if self.cache is not None:
                self.cache.close()

    def _fast(self, result: FastResult) -> None:
        found = result.found
        rel = found.rel
        # Nothing to read in a dangling link or an empty file (both are already errors).
        can_inspect = self.inspect and found.error is None and found.size > 0
        if self.cache is not None:
            cached = self.cache.lookup(rel, result.sig, need_inspected=can_inspect)
            if cached is not None:
                cached.abs_path = found.path
                cached.mtime = found.mtime if found.error is None else None
                self.batch.append(cached)
                return
        self.assembler.run_fast(result)
        entry = self.assembler.entry(result)
        self.batch.append(entry)
        if can_inspect and not result.sidecar_backed:
            self._submit(rel, result)
        elif self.cache is not None:
            # Complete as it is: a sidecar answered, or inspection was not asked for.
            done = result.sidecar_backed or found.error is not None or found.size == 0
            self.cache.store(rel, result.sig, entry, inspected=done)

    def _submit(self, rel: str, result: FastResult) -> None:
        if self.executor is None:
            self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="ckpt-inspect")
        self.pending[rel] = result
        self.total += 1
        future = self.executor.submit(_inspect, result.found.path)
        future.add_done_callback(functools.partial(self._finished, rel))

    def _finished(self, rel: str, future: Future[TierResult]) -> None:
        if future.cancelled():
            return
        self.finished.put((rel, future.result()))

    def _slow_done(self, rel: str, slow: TierResult) -> None:
        result = self.pending.pop(rel)
        self.done += 1
        entry = self.assembler.entry(result, slow)
        self.batch.append(entry)
        if self.cache is not None:
            self.cache.store(rel, result.sig, entry, inspected=True)

    def _drain(self) -> None:
        while True:
            try:
                rel, slow = self.finished.get_nowait()
            except queue.Empty:
                return
            self._slow_done(rel, slow)

    def _due(self) -> bool:
        return bool(self.batch) and time.monotonic() - self.last_sent >= BATCH_SECONDS

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
        return update

    def _stop(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self.cache is not None:
            self.cache.finish(complete=False)


def _inspect(path: str) -> TierResult:
    try:
        return checkpoint_tier(path)
    except Exception as exc:  # the tier must never raise, but one file must never stop a build
        return TierResult(
            kind="checkpoint",
            issues=[
                Issue(
                    severity="error",
                    code="checkpoint.inspect-failed",
                    message=f"reading the checkpoint failed: {type(exc).__name__}: {exc}",
                )
            ],
        )
