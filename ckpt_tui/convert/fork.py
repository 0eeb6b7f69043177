"""Sharing a tree's conversion with forked worker processes (Linux).

The safe reader is pure Python, so threads cannot share its work; processes can. The parent walks
the tree, then forks children that inherit everything found (nothing is pickled). All of them take
file indices from one pipe, filled and closed before the fork: on Linux a read of one 4-byte
record from a pipe is atomic, so each file is taken by exactly one process, and whoever is free
takes the next one (the load balances itself). A child sends each report back on its own pipe
(length-prefixed ``marshal``); the parent, which converts files too, collects them between its own.

Stopping: a cancel in the parent (SIGTERM, Ctrl-C, a caller's event) is passed on as SIGTERM; a
child treats SIGINT and SIGTERM as a cancel too, and stops by itself once its parent is gone
(SIGKILL), checking before each file. Either way the sidecars being written finish, whole.
"""

from __future__ import annotations

import gc
import marshal
import os
import select
import signal
import sys
import threading
from array import array
from collections.abc import Callable, Iterator
from types import FrameType
from typing import NoReturn

from ckpt_tui.catalog.discover import FoundFile
from ckpt_tui.convert.tree import Emit, ItemReport, TreeConverter, work

MAX_PROCESSES = 4
"""Most processes sharing one conversion (beyond that the disk's fsyncs are the limit)."""
MIN_FILES_PER_PROCESS = 16
"""A process forked for fewer files than this costs more than it saves."""
_MAX_RECORDS = 1024
"""Work records in the pipe: 4 KiB, within any Linux pipe's capacity, so the parent can fill it
before forking. Bigger trees hand out consecutive runs of files per record."""
_POLL_SECONDS = 0.05


def process_count(requested: int | None, files: int) -> int:
    """How many processes should convert ``files`` files (1: no fork).

    ``requested`` (default: the CPUs this process may use, at most ``MAX_PROCESSES``) is capped
    so each process gets ``MIN_FILES_PER_PROCESS`` files, or at least one when requested.
    Forking needs Linux and a single-threaded caller (a fork copies no other thread).
    """
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return 1
    if requested is None:
        wanted = min(len(os.sched_getaffinity(0)), MAX_PROCESSES)
        return max(1, min(wanted, files // MIN_FILES_PER_PROCESS))
    return max(1, min(requested, files))


def run_forked(
    converter: TreeConverter,
    found: list[FoundFile],
    emit: Emit,
    cancel: threading.Event,
    children: int,
) -> bool:
    """Convert ``found`` in this process and ``children`` forked ones; reports go to ``emit``.

    Returns whether every child ended normally; when one did not (killed from outside), the
    files it had taken and not reported are missing from the reports. An exception here sets
    ``cancel``, so the children stop too.
    """
    chunk = -(-len(found) // _MAX_RECORDS)
    work_r, work_w = os.pipe()
    try:
        os.write(work_w, array("I", range(0, len(found), chunk)).tobytes())
    finally:
        os.close(work_w)
    for stream in (sys.stdout, sys.stderr):  # a child must never write the parent's buffers
        stream.flush()
    # What exists now (modules, the files found) is never garbage: keep the collector from
    # scanning it, and from touching (and so copying) the pages the children share with us.
    gc.freeze()
    parent = os.getpid()
    kids = _Children(emit, cancel)
    try:
        for _ in range(children):
            try:
                out_r, out_w = os.pipe()
            except OSError:  # out of file descriptors: fewer helpers (or none) will do
                break
            try:
                pid = os.fork()
            except OSError:  # out of processes or memory: likewise
                os.close(out_r)
                os.close(out_w)
                break
            if pid == 0:
                os.close(out_r)
                for inbox in kids.inboxes.values():
                    os.close(inbox.fd)
                _child(converter, found, _taker(work_r, chunk, len(found)), out_w, parent, cancel)
            os.close(out_w)
            os.set_blocking(out_r, False)
            kids.inboxes[pid] = _Inbox(pid, out_r)
        work(converter, found, _taker(work_r, chunk, len(found)), emit, cancel, kids.poll)
    except BaseException:
        cancel.set()  # this process failed: the children stop too (after their writes)
        raise
    finally:
        os.close(work_r)
        # Also after an exception here: the children finish their writes, and are waited for.
        while kids.inboxes:
            kids.poll(_POLL_SECONDS)
        gc.unfreeze()  # a long-lived caller (the library, tests) collects as before
    return kids.healthy


class _Children:
    """The parent's view of its children: their report pipes and how they ended."""

    def __init__(self, emit: Emit, cancel: threading.Event) -> None:
        self.emit = emit
        self.cancel = cancel
        self.inboxes: dict[int, _Inbox] = {}
        self.healthy = True
        """Whether every child that ended so far ended normally."""

    def poll(self, wait: float = 0.0) -> None:
        """Pass a cancel on, deliver the reports that arrived (waiting up to ``wait`` seconds
        for some), and reap the children that are done."""
        for inbox in self.inboxes.values():
            if self.cancel.is_set() and not inbox.stopped:
                inbox.stopped = True
                os.kill(inbox.pid, signal.SIGTERM)  # our own child, by its pid
        if wait:
            select.select([inbox.fd for inbox in self.inboxes.values()], [], [], wait)
        for pid, inbox in list(self.inboxes.items()):
            if inbox.drain(self.emit):
                continue
            os.close(inbox.fd)
            del self.inboxes[pid]
            _, status = os.waitpid(pid, 0)
            self.healthy = self.healthy and os.waitstatus_to_exitcode(status) == 0


class _Inbox:
    """One child's report pipe, as seen by the parent."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd
        self.buffer = bytearray()
        self.stopped = False
        """Whether SIGTERM was sent (after a cancel)."""

    def drain(self, emit: Emit) -> bool:
        """Deliver every whole report available; ``False`` at the end of the pipe."""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return True
            if not data:
                return False
            buffer = self.buffer
            buffer += data
            start = 0
            while len(buffer) - start >= 4:
                size = int.from_bytes(buffer[start : start + 4], "little")
                if len(buffer) - start - 4 < size:
                    break
                # marshal only ever reads what our own forked child wrote on a private pipe.
                index, fields = marshal.loads(buffer[start + 4 : start + 4 + size])
                start += 4 + size
                emit(index, None if fields is None else ItemReport.from_tuple(fields))
            del buffer[:start]


def _taker(fd: int, chunk: int, total: int) -> Callable[[], int | None]:
    """Hands out the indices of the records read from the shared work pipe; ``None`` when empty."""
    current: Iterator[int] = iter(())

    def take() -> int | None:
        nonlocal current
        index = next(current, None)
        if index is not None:
            return index
        record = os.read(fd, 4)  # atomic: the pipe holds whole records, all written before
        if len(record) < 4:
            return None
        start = int.from_bytes(record, sys.byteorder)
        current = iter(range(start + 1, min(start + chunk, total)))
        return start

    return take


def _child(
    converter: TreeConverter,
    found: list[FoundFile],
    take_next: Callable[[], int | None],
    out: int,
    parent: int,
    cancel: threading.Event,
) -> NoReturn:
    """A forked worker: convert what it takes, report each file, then exit (never returns)."""
    code = 1
    try:
        # ``cancel`` is this process's copy of the parent's event: a signal caught by the
        # parent's handlers between the fork and here has already set it.
        def stop(signum: int, frame: FrameType | None) -> None:
            cancel.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

        def take() -> int | None:
            # Reparented: the parent was killed, and nobody would see what is done from now on.
            return take_next() if os.getppid() == parent else None

        def emit(index: int, report: ItemReport | None) -> None:
            fields = None if report is None else report.to_tuple()
            data = marshal.dumps((index, fields))  # type: ignore[arg-type]
            view = memoryview(len(data).to_bytes(4, "little") + data)
            while view:
                view = view[os.write(out, view) :]

        work(converter, found, take, emit, cancel)
        code = 0
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
