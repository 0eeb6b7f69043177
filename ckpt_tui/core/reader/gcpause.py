"""Pause the cyclic garbage collector while the reader builds a pickle's objects, thread-safely.

A checkpoint's pickle becomes tens of thousands of small containers that all die together (by
reference count) when the reader is done with them; a collection in between cannot free any of
them, it only walks them. Pausing the collector saves those walks (about 5% of a ResNet-50
checkpoint's reading time with a small heap; with a large one, such as the TUI's, a full
collection that would land inside the reader is only moved after it, to the next allocation).

``gc.disable()`` is process-wide and the catalog reads checkpoints on several threads at once, so
a plain disable/enable pair per read is wrong: a thread that starts reading while another has
paused the collector finds it disabled and leaves it alone, and the first thread to finish then
re-enables it under the second one's read. Hence one count of the pauses under a lock: the
first pause disables the collector (when it was enabled), the last one restores it, and an
exception always passes through the restore.

A process forked while another thread is reading inherits the disabled collector and the count,
but not the thread that would end the pause: the child starts over with no pause, the collector
restored and a fresh lock (which the fork may have copied held).

Why not ``gc.freeze()``: it moves the objects that exist *before* the read out of the collector's
reach, but the collections that the read's own allocations trigger still run. Why not raising
the thresholds: that is process-wide state as well, and would need the same counting.
"""

from __future__ import annotations

import gc
import os
import threading
from types import TracebackType

_lock = threading.Lock()
_pauses = 0
_restore = False


class GCPaused:
    """``with gc_paused:`` — the collector stays disabled until every nested or concurrent pause
    has ended; it is then re-enabled only if it was enabled when the first one began."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _pauses, _restore
        with _lock:
            if _pauses == 0:
                _restore = gc.isenabled()
                if _restore:
                    gc.disable()
            _pauses += 1

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        global _pauses
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _restore:
                gc.enable()


def _after_fork_in_child() -> None:
    global _lock, _pauses
    _lock = threading.Lock()
    if _pauses:
        _pauses = 0
        if _restore:
            gc.enable()


os.register_at_fork(after_in_child=_after_fork_in_child)

gc_paused = GCPaused()
"""The one pause object (it holds no state of its own, so it can be shared and nested)."""


def active_pauses() -> int:
    """How many pauses are in progress (for tests)."""
    return _pauses
