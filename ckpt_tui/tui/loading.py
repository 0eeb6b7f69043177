"""Streaming the catalog into the UI: the body of the loading worker and the messages it posts.

The worker thread iterates :func:`ckpt_tui.catalog.api.iter_catalog` into a
:class:`~ckpt_tui.catalog.updates.CatalogState` and passes its changes on at most every
:data:`BATCH_INTERVAL` seconds (the first batch at once, so sidecar rows paint early), never one
message per row. Progress in between is posted as a replaceable message, so a slow UI only ever
sees the latest count. Every message names the worker that posted it: once a newer scan has
cancelled that worker, the screen ignores what it still had in flight. Nothing here touches a
widget; the screen applies the messages on the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual.message import Message
from textual.worker import Worker, get_current_worker

from ckpt_tui.catalog.api import CatalogState, CatalogUpdate, iter_catalog
from ckpt_tui.catalog.fingerprint import TreeFingerprint

#: Seconds between two batches of entries.
BATCH_INTERVAL = 0.1


class CatalogBatch(Message):
    """New or replaced entries from the scan run by ``worker``; ``update.final`` ends that scan."""

    def __init__(
        self, worker: Worker[None], update: CatalogUpdate, *, signature: int | None = None
    ) -> None:
        super().__init__()
        self.worker = worker
        """The loading worker that posted this (stale once it is cancelled)."""
        self.update = update
        """The entries that changed since the previous batch (each path once), scan issues
        and progress."""
        self.signature = signature
        """On the final batch: the tree's fingerprint as the scan walked it
        (:class:`~ckpt_tui.catalog.fingerprint.TreeFingerprint`)."""


class TreeSignature(Message):
    """The live-update poll's look at the tree: a new signature means something changed."""

    def __init__(self, signature: int) -> None:
        super().__init__()
        self.signature = signature


class CatalogProgress(Message):
    """How far the scan run by ``worker`` has got; a newer one replaces an unread older one."""

    def __init__(self, worker: Worker[None], done: int, total: int) -> None:
        super().__init__()
        self.worker = worker
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CatalogProgress)


def stream_catalog(
    root: Path,
    *,
    post: Callable[[Message], object],
    use_cache: bool = True,
    progress: bool = True,
    workers: int = 2,
) -> None:
    """Scan ``root`` and post :class:`CatalogBatch` / :class:`CatalogProgress` messages.

    Runs inside a thread worker and stops early (without a final batch) once that worker is
    cancelled: its ``cancelled_event`` is the build's cancel flag. ``progress=False`` is for the
    quiet background poll: batches only.
    """
    worker: Worker[None] = get_current_worker()
    # Fed by the scan's own walk, each folder before its files are read: a change the scan
    # missed shows up as a new fingerprint at the next poll, and no second walk competes with
    # the first rows for the interpreter.
    fingerprint = TreeFingerprint()
    state = CatalogState()
    last_post = float("-inf")
    updates = iter_catalog(
        root,
        use_cache=use_cache,
        inspect=True,
        cancel=worker.cancelled_event,
        workers=workers,
        fingerprint=fingerprint,
    )
    for update in updates:
        if worker.is_cancelled:
            return
        state.apply(update)
        if update.final:
            break
        now = time.monotonic()
        if state.has_news and now - last_post >= BATCH_INTERVAL:
            post(CatalogBatch(worker, state.take()))
            last_post = now
        elif progress:
            post(CatalogProgress(worker, update.done, update.total))
    if worker.is_cancelled:
        return
    post(CatalogBatch(worker, state.take(), signature=fingerprint.value()))
