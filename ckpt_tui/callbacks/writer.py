"""Sidecar file operations, off the training loop.

A sidecar write is atomic and durable (temp file, fsync, rename, fsync of the folder). The two
fsyncs cost most of the time, and on ext4 they can also wait for the checkpoint's own dirty pages,
so they would stall training by several ms per checkpoint. A single background thread does the
file work instead, in order (a write queued before a removal of the same sidecar happens first);
the training loop only builds the document and queues it. :meth:`SidecarWriter.drain` waits for
everything queued; failures come back as messages for the caller to warn about on its own thread.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ckpt_tui.sidecar.document import write_document

#: How many write durations are kept for diagnostics and the benchmark.
WRITE_TIMINGS_KEPT = 10_000


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


class SidecarWriter:
    """Writes and removes sidecars in order, in one background thread (or inline)."""

    def __init__(self, *, background: bool = True) -> None:
        self.background = background
        self.write_seconds: deque[float] = deque(maxlen=WRITE_TIMINGS_KEPT)
        """Seconds each completed sidecar write took (atomic write with fsync)."""
        self._executor: ThreadPoolExecutor | None = None
        self._futures: deque[Future[None]] = deque()
        self._errors: deque[str] = deque()  # appended by the worker, taken by the caller

    def write(self, document: dict[str, Any], checkpoint: Path) -> None:
        """Queue writing ``document`` (built by ``ckpt_tui.sidecar.document.build_document``)
        as the sidecar of ``checkpoint``."""
        self._submit(lambda: self._write(document, checkpoint))

    def remove(self, sidecars: Iterable[Path]) -> None:
        """Queue removing ``sidecars`` (missing ones are fine)."""
        paths = list(sidecars)
        self._submit(lambda: self._remove(paths))

    def take_errors(self) -> list[str]:
        """Failure messages so far (each returned once); never blocks."""
        taken: list[str] = []
        while self._errors:
            taken.append(self._errors.popleft())
        return taken

    def drain(self) -> list[str]:
        """Wait until everything queued is done; the failure messages not yet taken."""
        while self._futures:
            self._futures.popleft().result()
        return self.take_errors()

    def close(self) -> list[str]:
        """Drain, then stop the thread (a later write starts a new one)."""
        errors = self.drain()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        return errors

    def _submit(self, job: Callable[[], None]) -> None:
        if not self.background:
            job()
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="ckpt-tui-sidecars"
            )
        while self._futures and self._futures[0].done():
            self._futures.popleft()
        self._futures.append(self._executor.submit(job))

    def _write(self, document: dict[str, Any], checkpoint: Path) -> None:
        started = time.perf_counter()
        try:
            write_document(document, checkpoint)
        except Exception as exc:  # reported by the caller as a warning; training goes on
            self._errors.append(f"ckpt-tui: no sidecar for {checkpoint}: {_reason(exc)}")
            return
        self.write_seconds.append(time.perf_counter() - started)

    def _remove(self, sidecars: list[Path]) -> None:
        for sidecar in sidecars:
            try:
                sidecar.unlink(missing_ok=True)
            except OSError as exc:
                self._errors.append(f"ckpt-tui: could not remove {sidecar}: {_reason(exc)}")
