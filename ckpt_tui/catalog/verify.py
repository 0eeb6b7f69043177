"""Verifying the safety verdict of entries whose file was not read (a sidecar described them).

A sidecar says what a checkpoint *is about*, never what loading it would do: an entry a sidecar
answered starts ``unchecked``. :func:`verify_entries` reads each such file with the safe reader
(its pickles only) and sends the entry again with the file's verdict, its unsafe globals and
its security issues; every other value stays what the sidecar said. The TUI runs it in the
background once the table has filled; ``list --verify`` and ``show`` run it for scripts.

Verified verdicts are remembered in the catalog cache (:func:`remember_verdicts`), on the row of
the same file only: a file changed since its row was made is left to be read again.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from ckpt_tui.catalog.build import BATCH_SIZE, CatalogUpdate
from ckpt_tui.catalog.cache import CatalogCache
from ckpt_tui.catalog.describe import file_identity
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.sources.checkpoint import checkpoint_tier_or_issue
from ckpt_tui.sources.merge import TierResult, dedupe_issues

Entry = CheckpointCatalogEntry
ReadVerdict = Callable[[str], TierResult]
"""Reads one checkpoint (absolute path) and returns at least its ``safety`` value."""

SECURITY_PREFIX = "security."
"""Issue codes that belong to the verdict (they travel with it onto a sidecar's entry)."""


def needs_verdict(entry: Entry) -> bool:
    """Whether ``entry``'s file still has to be read for its verdict."""
    return entry.safety == "unchecked" and bool(entry.abs_path)


def read_verdict(path: str) -> TierResult:
    """The checkpoint tier of ``path`` without the details a person reads (never raises)."""
    from ckpt_tui.sources.checkpoint import checkpoint_tier

    return checkpoint_tier_or_issue(path, lambda p: checkpoint_tier(p, details=False))


def with_verdict(entry: Entry, tier: TierResult) -> Entry:
    """``entry`` with the verdict ``tier`` read from its file; every other value unchanged."""
    safety = tier.values.get("safety", "unreadable")
    unsafe = list(tier.values.get("unsafe_globals", []))
    security = [issue for issue in tier.issues if issue.code.startswith(SECURITY_PREFIX)]
    if safety == "unreadable":
        security += [issue for issue in tier.issues if issue.severity == "error"]
    kept = [issue for issue in entry.issues if not issue.code.startswith(SECURITY_PREFIX)]
    issues = sorted(dedupe_issues(security + kept), key=lambda issue: issue.rank)
    provenance = dict(entry.provenance)
    for name in ("safety", "unsafe_globals", "format"):
        if name in tier.provenance:
            provenance[name] = tier.provenance[name]
    # What wrote the file is learnt by the same read (a sidecar never says).
    fmt = tier.values.get("format", entry.format)
    return dataclasses.replace(
        entry,
        safety=safety,
        unsafe_globals=unsafe,
        issues=issues,
        provenance=provenance,
        format=fmt,
    )


def verify_entries(
    entries: Iterable[Entry],
    *,
    cancel: threading.Event | None = None,
    workers: int = 1,
    read: ReadVerdict = read_verdict,
    root: str | None = None,
) -> Iterator[CatalogUpdate]:
    """Read the verdict of every entry that :func:`needs_verdict`, ``workers`` files at a time.

    Yields updates with the verified entries (replacements, same ``checkpoint_path``) in batches
    of up to ``BATCH_SIZE``, ``done``/``total`` counting files read, and a final update. Stops
    early, without a final update, once ``cancel`` is set. With ``root`` (the catalog's root)
    each batch is remembered in the catalog cache (:func:`remember_verdicts`) before it is sent;
    a cache problem is the final update's ``scan_issues``.
    """
    cache_issues: list[Issue] = []

    def send(batch: list[Entry], *, final: bool = False) -> CatalogUpdate:
        if root is not None and batch:
            cache_issues.extend(remember_verdicts(root, batch))
        issues = list(cache_issues) if final else []
        return CatalogUpdate(entries=batch, done=done, total=total, scan_issues=issues, final=final)

    todo = [entry for entry in entries if needs_verdict(entry)]
    total = len(todo)
    done = 0
    batch: list[Entry] = []
    pending: dict[Future[TierResult], Entry] = {}
    queue = iter(todo)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="verify") as pool:
        try:
            while True:
                while len(pending) < max(1, workers) * 2:
                    entry = next(queue, None)
                    if entry is None:
                        break
                    pending[pool.submit(read, entry.abs_path)] = entry
                if not pending:
                    break
                finished, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                if cancel is not None and cancel.is_set():
                    return
                for future in finished:
                    entry = pending.pop(future)
                    batch.append(with_verdict(entry, future.result()))
                    done += 1
                if len(batch) >= BATCH_SIZE:
                    yield send(batch)
                    batch = []
        finally:
            for future in pending:
                future.cancel()
    yield send(batch, final=True)


def remember_verdicts(root: str, entries: Iterable[Entry]) -> list[Issue]:
    """Store verified ``entries`` (of the catalog of ``root``) in the catalog cache.

    An entry replaces its cached row only when the row was made for the file as it is now (same
    real path, size, mtime, ctime and inode), so a verdict never lands on a row of another file.
    Returns the cache's warnings (a locked or unwritable cache is not an error).
    """
    cache = CatalogCache(os.path.realpath(root))
    try:
        for entry in entries:
            if entry.safety == "unchecked" or not entry.abs_path:
                continue
            row = cache.stored(entry.checkpoint_path)
            identity = file_identity(entry.abs_path)
            if row is None or identity is None or f"|{identity}|" not in row[0]:
                continue
            cache.store(entry.checkpoint_path, row[0], entry, inspected=row[1])
        cache.finish(complete=False)
    finally:
        cache.close()
    return list(cache.issues)
