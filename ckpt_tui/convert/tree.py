"""Converting a whole tree in one pass: each checkpoint is read and planned, and written soon after.

``ckpt-tui convert`` uses :func:`convert_tree` rather than building the catalog first and writing
afterwards: sidecars are written in groups of up to ``WRITE_GROUP`` as the walk goes, each group
on several threads at once, so the fsyncs (the disk's time, not the CPU's) overlap one another.
On Linux the files are also shared with forked worker processes (see
:mod:`ckpt_tui.convert.fork`): the reader is pure Python, so threads could not share that
work.

Each item gets the same entry, plan and sidecar bytes as ``plan_conversion`` + ``execute_plan`` on
a catalog built without the cache would give (a test compares them). With the cache, entries it
holds are used as they are; nothing is stored back, as every sidecar written changes the entry.
"""

from __future__ import annotations

import itertools
import os
import threading
from _queue import Empty, SimpleQueue  # queue.py itself would add ~1 ms of imports
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# The reader is imported by the checkpoint tier on first use; here it is needed for sure, and it
# must be imported once before a fork rather than by every process.
import ckpt_tui.reader
import ckpt_tui.sources.statedict  # noqa: F401
from ckpt_tui.catalog.cache import CatalogCache
from ckpt_tui.catalog.describe import Describer, Prepared
from ckpt_tui.catalog.discover import FoundFile, walk
from ckpt_tui.convert.plan import (
    Action,
    ConversionItem,
    ConversionResult,
    Outcome,
    execute_item,
    plan_item,
)
from ckpt_tui.io.atomic import fsync_folder
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.sidecar.files import sidecar_path_for
from ckpt_tui.sources.checkpoint import checkpoint_tier
from ckpt_tui.sources.merge import TierResult

WRITE_GROUP = 256
"""Sidecars a process plans before writing them all at once (see :class:`SidecarWriter`). Big
enough that small trees are written in one go, small enough that a long run keeps writing as it
goes (a group is ~0.3 s of reading) and holds little in memory."""
WRITE_THREADS = 8
"""Threads writing one group: each write mostly waits for its fsync, and those overlap."""
_CANCEL_POLL_SECONDS = 0.05


@dataclass(slots=True)
class ItemReport:
    """What happened to one candidate checkpoint (plain data: it crosses process boundaries)."""

    index: int
    """Position of the checkpoint in the walk (reports arrive out of order)."""
    checkpoint_path: str
    """The checkpoint, relative to the root, "/"-separated."""
    sidecar_path: str
    """The sidecar written or that would be written."""
    action: Action
    """The plan's action: ``write``, ``replace``, ``skip`` or ``impossible``."""
    outcome: Outcome | None
    """``written``, ``skipped`` or ``failed``; ``None`` in a dry run."""
    reason: str = ""
    """Why it was skipped or failed."""
    unknown_fields: list[str] = field(default_factory=list)
    """Fields no source knew."""

    def to_tuple(self) -> tuple[object, ...]:
        """The report as a tuple of builtins (for ``marshal``)."""
        return (
            self.index,
            self.checkpoint_path,
            self.sidecar_path,
            self.action,
            self.outcome,
            self.reason,
            self.unknown_fields,
        )

    @classmethod
    def from_tuple(cls, data: tuple[object, ...]) -> ItemReport:
        """The inverse of :meth:`to_tuple`."""
        return cls(*data)  # type: ignore[arg-type]


Emit = Callable[[int, "ItemReport | None"], None]
"""Receives each processed file: its index and report (``None``: not a candidate)."""


@dataclass
class TreeRun:
    """The outcome of :func:`convert_tree`."""

    reports: list[ItemReport]
    """One report per candidate looked at, in walk order."""
    not_run: list[FoundFile]
    """Files never looked at (the run was cancelled), in walk order."""
    cancelled: bool
    """Whether ``cancel`` was set (by a signal handler, say) during the run."""
    scan_issues: list[Issue] = field(default_factory=list)
    """Problems met while walking (unreadable folders, odd files)."""


class TreeConverter:
    """Turns found checkpoints into planned items; one per process, as it keeps per-run lookups."""

    def __init__(
        self, root: str, *, force: bool, dry_run: bool, cache: CatalogCache | None
    ) -> None:
        self.describer = Describer(root)
        self.force = force
        self.dry_run = dry_run
        self.cache = cache

    def plan(self, found: FoundFile) -> ConversionItem | None:
        """The planned item for ``found``; ``None`` when it has a sidecar and ``force`` is off."""
        prepared = self.describer.prepare(found)
        if not self.force and prepared.sidecars.present:
            return None
        return plan_item(self._entry(prepared), force=self.force)

    def _entry(self, prepared: Prepared) -> CheckpointCatalogEntry:
        # As the catalog's build does for one file (ckpt_tui.catalog.build), without its threads.
        if self.cache is not None:
            cached = self.cache.lookup(
                prepared.found.rel, prepared.sig, need_inspected=prepared.readable
            )
            if cached is not None:
                return prepared.restore(cached)
        return self.describer.describe(prepared, _fields_only)

    def failed(self, index: int, found: FoundFile, reason: str) -> ItemReport:
        """A failed report for a file that could not be planned or whose worker was lost."""
        target = str(sidecar_path_for(Path(found.path)))
        return ItemReport(index, found.rel, target, "impossible", "failed", reason)


def _fields_only(path: str) -> TierResult:
    # A sidecar holds fields only: the details shown by `show` and the TUI are not worked out.
    return checkpoint_tier(path, details=False)


def _report(index: int, item: ConversionItem, result: ConversionResult | None) -> ItemReport:
    return ItemReport(
        index,
        item.entry.checkpoint_path,
        str(item.target),
        item.action,
        result.outcome if result is not None else None,
        (result.reason if result is not None else item.reason),
        item.unknown_fields,
    )


class SidecarWriter:
    """Writes planned sidecars in groups: up to ``group`` are planned, then all are written at
    once on ``threads`` threads while the caller waits.

    A write is mostly waiting for the disk (its fsync), so a group's writes overlap one another.
    They are not mixed with the reading of checkpoints: writer threads woken one syscall at a
    time would take the GIL from the reader again and again, and 200 Lightning checkpoints
    converted ~15% slower that way (``make bench``) than with the reading and the writing
    alternating. Each folder written to is fsynced once, by :meth:`close`.
    """

    def __init__(
        self,
        force: bool,
        threads: int | None = None,
        group: int | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.force = force
        self.group = max(1, WRITE_GROUP if group is None else group)
        self.cancel = cancel or threading.Event()
        self._threads: list[threading.Thread] = []
        self._wanted = WRITE_THREADS if threads is None else threads
        self._planned: list[tuple[int, ConversionItem]] = []
        self._jobs: SimpleQueue[tuple[int, ConversionItem] | None] = SimpleQueue()
        self._done: SimpleQueue[ItemReport] = SimpleQueue()
        self._reports: list[ItemReport] = []
        self._folders: set[str] = set()

    def submit(self, index: int, item: ConversionItem) -> None:
        """Plan ``item``'s write; the group is written once it is full."""
        self._planned.append((index, item))
        if len(self._planned) >= self.group:
            self._write_group()

    def ready(self) -> list[ItemReport]:
        """The reports of the writes done since the last call."""
        out, self._reports = self._reports, []
        return out

    def close(self, cancelled: bool = False) -> list[ItemReport]:
        """Write what is planned (``cancelled``: drop it, its files untouched and not
        reported); fsync the folders; the remaining reports."""
        if not cancelled:
            self._write_group()
        self._planned.clear()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        for folder in sorted(self._folders):
            fsync_folder(Path(folder))
        return self.ready()

    def _write_group(self) -> None:
        """Write the planned group and wait for it; a cancel drops the writes not started."""
        group, self._planned = self._planned, []
        if not self._wanted or len(group) == 1:  # no threads: written here and now
            for job in group:
                if self.cancel.is_set():
                    return
                self._reports.append(self._write(*job))
            return
        while len(self._threads) < min(self._wanted, len(group)):  # started after any fork
            number = len(self._threads)
            thread = threading.Thread(target=self._run, name=f"ckpt-convert-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        for job in _spread_over_folders(group):
            self._jobs.put(job)
        expected = len(group)
        while expected:
            if self.cancel.is_set():  # the writes under way finish; the others are dropped
                expected -= self._drop_unstarted()
            try:
                # A timeout, so that a signal handler setting ``cancel`` is seen while waiting.
                self._reports.append(self._done.get(timeout=_CANCEL_POLL_SECONDS))
                expected -= 1
            except Empty:
                continue

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

    def _write(self, index: int, item: ConversionItem) -> ItemReport:
        try:
            result = execute_item(item, force=self.force, sync_folder=False)
        except Exception as exc:  # never raises for a failed write; a bug must not hang the group
            reason = f"internal error: {type(exc).__name__}: {exc!s:.200}"
            result = ConversionResult(item.checkpoint, "failed", reason=reason)
        if result.sidecar is not None:
            self._folders.add(os.path.dirname(result.sidecar))
        return _report(index, item, result)


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


def work(
    converter: TreeConverter,
    found: list[FoundFile],
    take: Callable[[], int | None],
    emit: Emit,
    cancel: threading.Event,
    between: Callable[[], None] = lambda: None,
) -> None:
    """Convert the files whose indices ``take`` hands out until it says ``None`` or ``cancel``.

    Every file taken is reported through ``emit``, also after an exception, except the writes
    still queued when ``cancel`` is set: those are dropped, their files untouched. Writes under
    way always finish first (whole files).
    ``between`` runs after each file (the forked run drains its workers' reports there).
    """
    writer = SidecarWriter(converter.force, cancel=cancel)
    try:
        while not cancel.is_set() and (index := take()) is not None:
            try:
                item = converter.plan(found[index])
            except Exception as exc:  # planning never raises for a bad file; a bug costs one item
                reason = f"internal error: {type(exc).__name__}: {exc!s:.200}"
                emit(index, converter.failed(index, found[index], reason))
                continue
            if item is None:
                emit(index, None)
            elif converter.dry_run:
                emit(index, _report(index, item, None))
            elif item.action in ("write", "replace"):
                writer.submit(index, item)
            else:
                emit(index, _report(index, item, execute_item(item, force=converter.force)))
            for report in writer.ready():
                emit(report.index, report)
            between()
    finally:
        for report in writer.close(cancel.is_set()):
            emit(report.index, report)


def find_files(
    root: str, select: Callable[[str], bool] | None
) -> tuple[list[FoundFile], list[Issue]]:
    """The checkpoints under ``root`` (those whose relative path ``select`` accepts)."""
    issues: list[Issue] = []
    found = [
        file
        for _folder, files in walk(root, issues)
        for file in files
        if select is None or select(file.rel)
    ]
    return found, issues


def convert_tree(
    root: str,
    *,
    select: Callable[[str], bool] | None = None,
    force: bool = False,
    dry_run: bool = False,
    use_cache: bool = True,
    cancel: threading.Event | None = None,
    on_report: Emit | None = None,
    on_found: Callable[[int], None] | None = None,
    processes: int | None = None,
) -> TreeRun:
    """Convert every checkpoint under the folder ``root`` that has no sidecar (all with ``force``).

    ``select`` keeps the files whose relative path it accepts. ``on_found`` gets the number of
    files found, before any is looked at; ``on_report`` runs on the calling thread for each file
    looked at, in completion order. When ``cancel`` is set, the sidecars
    being written finish, whole, and are reported; the other files stay untouched and come back
    in ``not_run``. ``processes`` caps the processes sharing the work (default: one per CPU,
    see :func:`ckpt_tui.convert.fork.process_count`).
    """
    from ckpt_tui.convert.fork import process_count, run_forked

    root = os.path.abspath(root)
    cancel = cancel or threading.Event()
    found, issues = find_files(root, select)
    if on_found is not None:
        on_found(len(found))
    cache = None
    if use_cache:
        cache = CatalogCache(os.path.realpath(root))
        cache.close()  # its rows are in memory now; no connection may cross a fork
    converter = TreeConverter(root, force=force, dry_run=dry_run, cache=cache)
    seen: dict[int, ItemReport | None] = {}

    def emit(index: int, report: ItemReport | None) -> None:
        seen[index] = report
        if on_report is not None:
            on_report(index, report)

    count = process_count(processes, len(found))
    healthy = True
    if count > 1:
        healthy = run_forked(converter, found, emit, cancel, count - 1)
    else:
        indices = iter(range(len(found)))
        work(converter, found, lambda: next(indices, None), emit, cancel)
    if not healthy and not cancel.is_set():
        # A worker process was killed from outside: what it had taken is unknown, so failed.
        lost = "the worker process converting it stopped unexpectedly"
        for index, file in enumerate(found):
            if index not in seen:
                emit(index, converter.failed(index, file, lost))
    reports = [report for _, report in sorted(seen.items()) if report is not None]
    not_run = [file for index, file in enumerate(found) if index not in seen]
    return TreeRun(reports, not_run, cancel.is_set(), issues)
