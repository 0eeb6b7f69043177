"""Planning many checkpoints ahead in forked worker processes (``ckpt-tui convert`` only).

Describing a checkpoint (the safe reader's pass over ``data.pkl``, the merge of the sources) and
rendering its sidecar's YAML are pure Python and hold the GIL, so threads cannot overlap them;
processes can. When a conversion has many checkpoints to read, :class:`ForkedWork` runs that
work in a ``fork`` process pool, in the order the conversion will ask for it, while the main
process imports the schema, checks each planned document against it and writes. The workers
only plan: every check against the schema and every write stays in the main process, and any
result a worker could not give is worked out there instead. The work goes out a few keys at a
time (:data:`KEYS_PER_TASK`), so the pool's own cost per file stays small.

The work itself is handed to the workers through the fork (the pool's initializer), never
pickled: a planner holds the whole run's state. Used only where ``fork`` exists (Linux) and only
for a command-line run: a forked child of a process with running threads (the TUI's workers)
could inherit a held lock. A worker dies with the process that started it
(``PR_SET_PDEATHSIG``): a ``convert`` killed with SIGKILL leaves no workers behind, which would
otherwise wait on their queue forever.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

R = TypeVar("R")

MIN_PARALLEL_READS = 32
"""Fewer reads than this are done in the main process: starting workers would cost more."""
KEYS_PER_TASK = 8
"""Keys a worker handles per task: one round trip through the pool per few files rather than per
file, while the first results still come back after a few milliseconds."""


def worker_count() -> int:
    """Workers for a command-line conversion: the CPUs this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def can_fork() -> bool:
    """Whether this platform has the ``fork`` start method."""
    return "fork" in multiprocessing.get_all_start_methods()


class ForkedWork(Generic[R]):
    """Runs ``work`` for each of ``keys`` ahead in ``workers`` forked processes; :meth:`result`
    gives a key's result (waiting for it if needed), or ``None`` when the caller must do that
    work itself (a key not submitted, a worker that died, a ``work`` that raised or answered
    ``None``). Close it (or use ``with``) to stop the workers.

    ``work`` runs in the workers as the process was when they forked (at the first submit, here
    in the constructor): what it needs must be ready before. Its results are pickled back."""

    def __init__(self, work: Callable[[str], R | None], keys: Iterable[str], workers: int) -> None:
        self._futures: dict[str, tuple[Future[list[Any]], int]] = {}
        context = multiprocessing.get_context("fork")
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), work)
        )
        unique = list(dict.fromkeys(keys))
        try:
            for start in range(0, len(unique), KEYS_PER_TASK):
                chunk = unique[start : start + KEYS_PER_TASK]
                future = self._pool.submit(_work_all, chunk)
                for position, key in enumerate(chunk):
                    self._futures[key] = (future, position)
        except BrokenProcessPool:
            self.close()

    def result(self, key: str) -> R | None:
        """``work(key)`` as a worker did it; ``None`` when none did (do it here)."""
        task = self._futures.pop(key, None)
        if task is None:
            return None
        future, position = task
        try:
            result: R | None = future.result()[position]
        except BrokenProcessPool:
            self.close()
            return None
        return result

    def close(self) -> None:
        """Stop the workers and wait for them to end; work not started is dropped
        (:meth:`result` then says ``None``). A worker first finishes the task at hand (a few
        files): joined here, none is left for the interpreter's exit to wait for."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._futures.clear()

    def __enter__(self) -> ForkedWork[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_work: Callable[[str], object] | None = None
"""In a worker: the work its pool was started with (inherited through the fork)."""

_PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal this process gets when its parent dies."""


def _start_worker(parent: int, work: Callable[[str], object]) -> None:
    """In each worker: keep ``work``, die with ``parent``, and leave SIGINT and SIGTERM to it
    (the main process stops the pool; the CLI's own handlers, inherited by the fork, are not the
    worker's)."""
    global _work
    _work = work
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still ends it
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def _work_all(keys: list[str]) -> list[object]:
    """The work of each key, in a worker; ``None`` where it raised (the main process then does
    that key's work itself, so the exception is its own)."""
    results: list[object] = []
    for key in keys:
        try:
            results.append(_work(key))  # type: ignore[misc]
        except Exception:  # a bug in one key's work must not lose the others' results
            results.append(None)
    return results
