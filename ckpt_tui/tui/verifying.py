"""Completing the safety verdict in the background: the verification worker's body and messages.

A sidecar answers most rows before their files are read, so those rows start ``unchecked``. Once
a scan's final batch has been applied, the main screen runs :func:`stream_verdicts` in a thread
worker. It reads the files with :func:`ckpt_tui.catalog.verify.verify_entries` (one reader
thread, at a lower scheduling priority than the UI), a few files per call so that progress and
rows arrive steadily, and posts the verified entries at most every :data:`VERIFY_INTERVAL`
seconds: a large tree repaints a few times a second, not once per file. Every message names the
worker that posted it; once a rescan or quit has cancelled that worker, the screen ignores it.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from textual.message import Message
from textual.worker import Worker, get_current_worker

from ckpt_tui.catalog.verify import needs_verdict, verify_entries
from ckpt_tui.model.entry import CheckpointCatalogEntry

Entry = CheckpointCatalogEntry

#: Seconds between two batches of verified entries.
VERIFY_INTERVAL = 0.25
#: Files per call of ``verify_entries``: small enough for steady progress, large enough that
#: starting its reader thread costs nothing next to the reads.
CHUNK = 32
#: How much nicer than the UI the reader runs (Linux ``nice`` steps, per thread).
NICENESS = 10


class VerdictBatch(Message):
    """Entries whose file ``worker`` has read (replacements by checkpoint path), and progress."""

    def __init__(
        self,
        worker: Worker[None],
        entries: list[Entry],
        done: int,
        total: int,
        *,
        final: bool = False,
    ) -> None:
        super().__init__()
        self.worker = worker
        """The verification worker that posted this (stale once it is cancelled)."""
        self.entries = entries
        """The verified entries since the previous batch (each path once)."""
        self.done = done
        """Files read so far."""
        self.total = total
        """Files to read in all."""
        self.final = final
        """Whether every file has been read."""


def unchecked(shown: Iterable[Entry], every: Iterable[Entry]) -> list[Entry]:
    """The entries that need a verdict, each once: those of ``shown`` (the rows in view order)
    first, so the rows a user looks at get theirs soonest, then the rest of ``every``."""
    todo: dict[str, Entry] = {}
    for entry in itertools.chain(shown, every):
        if needs_verdict(entry):
            todo.setdefault(entry.checkpoint_path, entry)
    return list(todo.values())


def lower_priority() -> None:
    """Make the calling thread (and the threads it starts) yield the CPU to the UI.

    On Linux ``nice`` is per thread and inherited by threads started afterwards; elsewhere the
    call would name a process, so nothing is done.
    """
    if sys.platform != "linux":
        return
    try:
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness + NICENESS))
    except OSError:
        pass  # a sandbox may forbid it: the reads then just run at the UI's priority


def stream_verdicts(
    entries: Sequence[Entry], *, post: Callable[[Message], object], root: str | None = None
) -> None:
    """Read the verdict of every entry of ``entries`` that needs one and post
    :class:`VerdictBatch` messages, the last with ``final``. With ``root`` (the catalog's root)
    the verdicts are remembered in the catalog cache, so the next start shows them at once.

    Runs inside a thread worker and stops early (without a final batch) once that worker is
    cancelled: its ``cancelled_event`` is the reads' cancel flag.
    """
    worker: Worker[None] = get_current_worker()
    lower_priority()
    todo = [entry for entry in entries if needs_verdict(entry)]
    total = len(todo)
    pending: dict[str, Entry] = {}
    done = 0
    last_post = time.monotonic()
    for start in range(0, total, CHUNK):
        chunk = todo[start : start + CHUNK]
        for update in verify_entries(chunk, cancel=worker.cancelled_event, workers=1, root=root):
            for entry in update.entries:
                pending[entry.checkpoint_path] = entry
            done = start + update.done
        if worker.is_cancelled:
            return
        now = time.monotonic()
        if now - last_post >= VERIFY_INTERVAL:
            post(VerdictBatch(worker, list(pending.values()), done, total))
            pending = {}
            last_post = now
    if worker.is_cancelled:
        return
    post(VerdictBatch(worker, list(pending.values()), total, total, final=True))
