"""Writing planned sidecars: one item at a time, or a group at a time on several threads.

Every write is atomic (a temp file in the same folder, fsynced, then renamed), never touches the
checkpoint, and never raises for a file that cannot be written: it becomes a failed report.
:class:`ConversionWriter` writes groups of items on threads, because a write is mostly waiting
for its fsync and those overlap; each folder written to is fsynced once, at the end.
"""

from __future__ import annotations

import itertools
import os
import stat
import threading
from _queue import Empty, SimpleQueue  # queue.py would add its own imports for nothing here
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ckpt_tui.convert.plan import OUTSIDE_ROOT, Action, ConversionItem, Outcome, is_within
from ckpt_tui.io.atomic import (
    atomic_create_bytes,
    atomic_write_bytes,
    fsync_folder,
    remove_stale_temps,
)
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, find_sidecars

WRITE_GROUP = 256
"""Sidecars planned before they are all written at once (see :class:`ConversionWriter`). Big
enough that small trees are written in one go, small enough that a long run keeps writing as it
goes and holds little in memory."""
WRITE_THREADS = 8
"""Threads writing one group: each write mostly waits for its fsync, and those overlap."""
_CANCEL_POLL_SECONDS = 0.05


@dataclass(slots=True)
class ItemReport:
    """What happened (or, in a dry run, would happen) to one candidate checkpoint."""

    index: int
    """Position of the checkpoint among the conversion's jobs (writes finish out of order)."""
    checkpoint_path: str
    """The checkpoint, relative to the root, "/"-separated."""
    sidecar_path: str
    """The sidecar written or that would be written."""
    action: Action
    """The plan's action: ``write``, ``replace``, ``skip`` or ``impossible``."""
    outcome: Outcome | None
    """``written``, ``skipped`` or ``failed``; ``None`` in a dry run."""
    reason: str = ""
    """Why it was skipped or failed (or, in a dry run, why it would be)."""
    unknown_fields: list[str] = field(default_factory=list)
    """Fields no source knew."""
    safety: str = "unchecked"
    """The checkpoint's safety verdict, as the plan recorded it."""


def report_for(
    index: int, item: ConversionItem, outcome: Outcome | None, reason: str | None = None
) -> ItemReport:
    """The report of ``item`` with ``outcome`` (``None``: planned only); the plan's reason when
    ``reason`` is not given."""
    return ItemReport(
        index,
        item.entry.checkpoint_path,
        str(item.target),
        item.action,
        outcome,
        item.reason if reason is None else reason,
        item.unknown_fields,
        item.entry.safety,
    )


def write_item(
    index: int, item: ConversionItem, *, force: bool = False, sync_folder: bool = True
) -> ItemReport:
    """Carry out one planned item. Never raises for a failed write: it becomes a report.

    A ``write`` creates the sidecar without replacing anything (even with ``force``): a sidecar
    that appeared since the plan, under either name, is kept and the item is ``skipped`` ("a
    sidecar appeared"). A ``replace`` (``--force``) replaces the sidecar, valid or broken, in
    one atomic rename. ``sync_folder=False`` leaves the folder's fsync to the caller
    (:class:`ConversionWriter` does it once per folder).
    """
    if item.action == "skip":
        return report_for(index, item, "skipped")
    if item.action == "impossible" or item.data is None:
        return report_for(index, item, "failed")
    name = item.target.name
    root = item.write_root
    if root is not None and not is_within(os.path.realpath(item.target.parent), root):
        return report_for(index, item, "skipped", OUTSIDE_ROOT)  # a link swapped in since
    try:
        if item.action == "replace":
            atomic_write_bytes(item.target, item.payload(), sync_folder=sync_folder)
        else:
            other = _other_sidecar(item)
            if other is not None:  # the checkpoint's other sidecar name: theirs is complete
                return report_for(index, item, "skipped", f"a sidecar appeared: {other}")
            atomic_create_bytes(item.target, item.payload(), sync_folder=sync_folder)
    except FileExistsError:
        if _is_folder(item.target):
            return report_for(index, item, "failed", f"cannot write {name}: a folder has its name")
        return report_for(index, item, "skipped", f"a sidecar appeared: {name}")
    except OSError as exc:
        reason = f"cannot write {name}: {exc.strerror or exc}"
        return report_for(index, item, "failed", reason)
    except Exception as exc:  # one item that cannot be written must never stop the others
        reason = f"cannot write {name}: {type(exc).__name__}: {exc!s:.200}"
        return report_for(index, item, "failed", reason)
    return report_for(index, item, "written", "")


def _other_sidecar(item: ConversionItem) -> str | None:
    """The name of a sidecar of ``item``'s checkpoint other than its target, if one exists."""
    checkpoint = item.checkpoint
    found = find_sidecars(checkpoint.parent, checkpoint.name, stem_shared=item.stem_shared)
    return next((n for n, _ in found.present if n != item.target.name), None)


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


class ConversionWriter:
    """Writes planned sidecars in groups: up to ``group`` are planned, then all are written at
    once on ``threads`` threads (``0``: one after another on the caller's thread) while the
    caller waits. ``emit`` gets each report on the caller's thread as its write finishes.

    The writes are not mixed with the reading of checkpoints: writer threads woken one syscall
    at a time would take the GIL from the reader again and again, so the reading and the writing
    alternate instead. With ``stream`` (for a caller that does not read in this process, as when
    forked workers plan), each sidecar is handed to the threads as soon as it is planned and
    the caller goes on: the writes then overlap the planning. A cancel lets the
    writes under way finish, whole, and drops the others (their files untouched, not reported).
    Each folder written to is fsynced once, by :meth:`close`.
    """

    def __init__(
        self,
        emit: Callable[[ItemReport], None],
        *,
        force: bool,
        threads: int = WRITE_THREADS,
        group: int = WRITE_GROUP,
        cancel: threading.Event | None = None,
        stream: bool = False,
    ) -> None:
        self.emit = emit
        self.force = force
        self.group = max(1, group)
        self.cancel = cancel or threading.Event()
        self._wanted = max(0, threads)
        self._stream = stream and self._wanted > 0
        self._pending = 0
        """Writes handed to the threads and not yet reported (nor dropped by a cancel)."""
        self._threads: list[threading.Thread] = []
        self._planned: list[tuple[int, ConversionItem]] = []
        self._jobs: SimpleQueue[tuple[int, ConversionItem] | None] = SimpleQueue()
        self._done: SimpleQueue[ItemReport] = SimpleQueue()
        self._folders: set[str] = set()
        self._swept: set[str] = set()
        self._sweep_lock = threading.Lock()
        self.temps_removed = 0
        """Temp files a killed run had left in the folders written to, removed."""

    def submit(self, index: int, item: ConversionItem) -> None:
        """Plan ``item``'s write; the group is written once it is full (streaming: hand it to
        the threads now, and report the writes finished meanwhile)."""
        if self._stream:
            self._start_threads(self._wanted)
            self._jobs.put((index, item))
            self._pending += 1
            self._deliver_finished()
            return
        self._planned.append((index, item))
        if len(self._planned) >= self.group:
            self._write_group()

    def close(self) -> None:
        """Write what is still planned (unless cancelled: then it is dropped, untouched), let
        the writes under way finish and report them, stop the threads, fsync the folders."""
        try:
            if not self.cancel.is_set():
                self._write_group()
        finally:
            self._planned.clear()
            self._pending -= self._drop_unstarted()
            for _ in self._threads:
                self._jobs.put(None)
            for thread in self._threads:
                thread.join()
            self._threads.clear()
            try:
                self._deliver_finished()  # after an exception in emit: what is on disk
            finally:
                for folder in sorted(self._folders):
                    fsync_folder(Path(folder))

    def _write_group(self) -> None:
        """Write the planned group (and any streamed writes) and wait for them; a cancel drops
        the writes not started."""
        group, self._planned = self._planned, []
        if not self._wanted or (len(group) == 1 and not self._pending):  # here and now
            for job in group:
                if self.cancel.is_set():
                    return
                self.emit(self._write(*job))
            return
        self._start_threads(len(group))
        for job in _spread_over_folders(group):
            self._jobs.put(job)
        self._pending += len(group)
        while self._pending:
            if self.cancel.is_set():  # the writes under way finish; the others are dropped
                self._pending -= self._drop_unstarted()
                if not self._pending:
                    return
            try:
                # A timeout, so that a signal handler setting ``cancel`` is seen while waiting.
                report = self._done.get(timeout=_CANCEL_POLL_SECONDS)
            except Empty:
                continue
            self._pending -= 1
            self.emit(report)

    def _start_threads(self, wanted: int) -> None:
        while len(self._threads) < min(self._wanted, wanted):
            number = len(self._threads)
            thread = threading.Thread(target=self._run, name=f"ckpt-convert-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _deliver_finished(self) -> None:
        while True:
            try:
                report = self._done.get_nowait()
            except Empty:
                return
            self._pending -= 1
            self.emit(report)

    def _drop_unstarted(self) -> int:
        dropped = 0
        while True:
            try:
                job = self._jobs.get_nowait()
            except Empty:
                return dropped
            if job is not None:
                dropped += 1

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._done.put(self._write(*job))

    def sweep(self, folder: str) -> None:
        """Remove a killed run's leftover temp files from ``folder``, once per run (see
        :func:`~ckpt_tui.io.atomic.remove_stale_temps`: only old sidecar temp files)."""
        with self._sweep_lock:
            if folder in self._swept:
                return
            self._swept.add(folder)
            self.temps_removed += len(remove_stale_temps(folder, suffix=SIDECAR_SUFFIX))

    def _write(self, index: int, item: ConversionItem) -> ItemReport:
        if item.action in ("write", "replace"):
            self.sweep(os.path.dirname(item.target))
        try:
            report = write_item(index, item, force=self.force, sync_folder=False)
        except Exception as exc:  # never raises for a failed write; a bug must not hang the group
            reason = f"internal error: {type(exc).__name__}: {exc!s:.200}"
            report = report_for(index, item, "failed", reason)
        if report.outcome == "written":
            self._folders.add(os.path.dirname(item.target))
        return report


def _spread_over_folders(
    group: list[tuple[int, ConversionItem]],
) -> list[tuple[int, ConversionItem]]:
    """``group`` reordered to take one sidecar from each folder in turn.

    Creating a file locks its folder, so threads writing into one folder wait for each other;
    in this order they mostly write into different folders at once.
    """
    by_folder: dict[str, list[tuple[int, ConversionItem]]] = {}
    for job in group:
        by_folder.setdefault(os.path.dirname(job[1].target), []).append(job)
    rounds = itertools.zip_longest(*by_folder.values())
    return [job for jobs in rounds for job in jobs if job is not None]
