"""Streaming the catalog into the UI: the body of the loading worker and the messages it posts.

The worker thread iterates :func:`ckpt_tui.catalog.api.iter_catalog` and coalesces its updates:
entries are posted in batches at most every :data:`BATCH_INTERVAL` seconds (the first batch at
once, so sidecar rows paint early), never one message per row. Progress in between is posted as
a replaceable message, so a slow UI only ever sees the latest count. Nothing here touches a
widget; the screen applies the messages on the UI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from textual.message import Message

from ckpt_tui.catalog.api import iter_catalog
from ckpt_tui.catalog.fingerprint import TreeFingerprint
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue

#: Seconds between two batches of entries.
BATCH_INTERVAL = 0.1


class CatalogBatch(Message):
    """New or replaced entries (keyed by checkpoint path) from scan number ``generation``."""

    def __init__(
        self,
        generation: int,
        entries: list[CheckpointCatalogEntry],
        scan_issues: list[Issue],
        done: int,
        total: int,
        *,
        final: bool,
        seen: frozenset[str] | None = None,
        signature: int | None = None,
    ) -> None:
        super().__init__()
        self.generation = generation
        self.entries = entries
        self.scan_issues = scan_issues
        self.done = done
        self.total = total
        self.final = final
        self.seen = seen
        """On the final batch: every checkpoint path the scan found (others were removed)."""
        self.signature = signature
        """On the final batch: the tree's fingerprint as the scan walked it
        (:class:`~ckpt_tui.catalog.fingerprint.TreeFingerprint`)."""


class TreeSignature(Message):
    """The live-update poll's look at the tree: a new signature means something changed."""

    def __init__(self, signature: int) -> None:
        super().__init__()
        self.signature = signature


class CatalogProgress(Message):
    """How far scan ``generation`` has got; a newer one replaces an unread older one."""

    def __init__(self, generation: int, done: int, total: int) -> None:
        super().__init__()
        self.generation = generation
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CatalogProgress)


def stream_catalog(
    root: Path,
    *,
    generation: int,
    post: Callable[[Message], object],
    cancel: threading.Event,
    use_cache: bool = True,
    progress: bool = True,
    workers: int = 2,
) -> None:
    """Scan ``root`` and post :class:`CatalogBatch` / :class:`CatalogProgress` messages.

    Stops early (without a final batch) once ``cancel`` is set. ``progress=False`` is for the
    quiet background poll: batches only.
    """
    # Fed by the scan's own walk, each folder before its files are read: a change the scan
    # missed shows up as a new fingerprint at the next poll, and no second walk competes with
    # the first rows for the interpreter.
    fingerprint = TreeFingerprint()
    pending: dict[str, CheckpointCatalogEntry] = {}
    issues: list[Issue] = []
    seen: set[str] = set()
    last_post = float("-inf")
    done = total = 0
    updates = iter_catalog(
        root,
        use_cache=use_cache,
        inspect=True,
        cancel=cancel,
        workers=workers,
        fingerprint=fingerprint,
    )
    for update in updates:
        if cancel.is_set():
            return
        done, total = update.done, update.total
        for entry in update.entries:
            pending[entry.checkpoint_path] = entry
            seen.add(entry.checkpoint_path)
        issues.extend(update.scan_issues)
        now = time.monotonic()
        if update.final:
            break
        if pending and now - last_post >= BATCH_INTERVAL:
            post(CatalogBatch(generation, list(pending.values()), issues, done, total, final=False))
            pending, issues, last_post = {}, [], now
        elif progress:
            post(CatalogProgress(generation, done, total))
    if cancel.is_set():
        return
    post(
        CatalogBatch(
            generation,
            list(pending.values()),
            issues,
            done,
            total,
            final=True,
            seen=frozenset(seen),
            signature=fingerprint.value(),
        )
    )
