"""Reading many checkpoints ahead in forked worker processes (``ckpt-tui convert`` only).

Reading a checkpoint (the safe reader's pass over ``data.pkl``) is pure Python and holds the GIL,
so threads cannot overlap those reads; processes can. When a conversion has many checkpoints to
read, :class:`ForkedReader` reads them in a ``fork`` process pool, in the order the conversion
will ask for them, while the main process plans, imports the schema and writes. The workers only
read: every decision and every write stays in the main process. The results are the checkpoint
tier's small plain results (``details`` left out), so passing them back costs little; the paths
go out a few at a time (:data:`PATHS_PER_TASK`), so the pool's own work per file stays small.

Used only where ``fork`` exists (Linux) and only for a command-line run: a forked child of a
process with running threads (the TUI's workers) could inherit a held lock. A worker dies with
the process that started it (``PR_SET_PDEATHSIG``): a ``convert`` killed with SIGKILL leaves no
readers behind, which would otherwise wait on their queue forever.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ckpt_tui.sources.merge import TierResult

ReadCheckpoint = Callable[[str], TierResult]

MIN_PARALLEL_READS = 32
"""Fewer reads than this are done in the main process: starting workers would cost more."""
PATHS_PER_TASK = 8
"""Paths a worker reads per task: one round trip through the pool per few files rather than per
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


class ForkedReader:
    """Reads the given checkpoints ahead in ``workers`` forked processes; :meth:`read` returns a
    path's result (waiting for it if needed), or reads in this process a path not submitted or
    whose worker failed. Close it (or use ``with``) to stop the workers."""

    def __init__(self, read: ReadCheckpoint, paths: Iterable[str], workers: int) -> None:
        self._read = read
        self._futures: dict[str, tuple[Future[list[TierResult | None]], int]] = {}
        context = multiprocessing.get_context("fork")
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
        )
        unique = list(dict.fromkeys(paths))
        try:
            for start in range(0, len(unique), PATHS_PER_TASK):
                chunk = unique[start : start + PATHS_PER_TASK]
                future = self._pool.submit(_read_all, read, chunk)
                for position, path in enumerate(chunk):
                    self._futures[path] = (future, position)
        except BrokenProcessPool:
            self.close()

    def read(self, path: str) -> TierResult:
        """The checkpoint tier of ``path``: the worker's result when it read it, else read here
        (a worker that died or whose read raised, a path never submitted)."""
        task = self._futures.pop(path, None)
        if task is not None:
            future, position = task
            try:
                result = future.result()[position]
            except BrokenProcessPool:
                self.close()
            else:
                if result is not None:
                    return result
        return self._read(path)

    def close(self) -> None:
        """Stop the workers; reads not started are dropped (their paths are read here if asked)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._futures.clear()

    def __enter__(self) -> ForkedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal this process gets when its parent dies."""


def _start_worker(parent: int) -> None:
    """In each worker: die with ``parent``, and leave SIGINT and SIGTERM to it (the main
    process stops the pool; the CLI's own handlers, inherited by the fork, are not the worker's)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pool's own shutdown still ends it
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def _read_all(read: ReadCheckpoint, paths: list[str]) -> list[TierResult | None]:
    """``read`` of each path, in a worker; ``None`` where it raised (the main process then reads
    that path itself, so the exception is its own)."""
    results: list[TierResult | None] = []
    for path in paths:
        try:
            results.append(read(path))
        except Exception:  # a bug in one read must not lose the others' results
            results.append(None)
    return results
