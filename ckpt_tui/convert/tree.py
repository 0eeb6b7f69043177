"""Converting a whole tree in one pass: each checkpoint is read and planned, and written soon after.

``ckpt-tui convert`` uses :func:`convert_tree` rather than building the catalog first and writing
afterwards: the engine (:func:`ckpt_tui.convert.engine.run_conversion`) plans the files as the
walk found them and writes their sidecars in groups on several threads, so the fsyncs (the
disk's time, not the CPU's) overlap one another.

Each item gets the same entry, plan and sidecar bytes as planning the entries of a catalog built
without the cache would give (a test compares them). With the cache, the entries it holds (from
``ckpt-tui list`` or the TUI, say) are used as they are, and their checkpoints are not read
again; nothing is stored back, as every sidecar written changes the entry.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from ckpt_tui.catalog.cache import CatalogCache
from ckpt_tui.catalog.describe import Describer, Prepared
from ckpt_tui.catalog.discover import FoundFile, walk
from ckpt_tui.convert.engine import ConversionReport, OnReport, run_conversion
from ckpt_tui.convert.plan import (
    OUTSIDE_ROOT,
    Action,
    ConversionItem,
    checked_item,
    is_within,
    plan_item,
)
from ckpt_tui.convert.prefetch import MIN_PARALLEL_READS, ForkedWork, can_fork
from ckpt_tui.convert.write import WRITE_GROUP, WRITE_THREADS
from ckpt_tui.io.text import iso_local_time
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.sidecar.files import sidecar_path_for, stem_of
from ckpt_tui.sources.checkpoint import checkpoint_tier
from ckpt_tui.sources.merge import TierResult

ReadCheckpoint = Callable[[str], TierResult]
"""Reads one checkpoint's fields (the checkpoint tier), given its absolute path."""


def read_fields(path: str) -> TierResult:
    """The checkpoint tier without the details: a sidecar holds fields only (the details shown by
    ``show`` and the TUI are not worked out)."""
    return checkpoint_tier(path, details=False)


class TreePlanner:
    """Turns found checkpoints into planned items for one run; keeps the run's lookups (configs
    read once per folder, the cache) and counts what it read."""

    def __init__(
        self,
        root: str,
        *,
        force: bool,
        cache: CatalogCache | None,
        read_checkpoint: ReadCheckpoint = read_fields,
        write_outside_root: bool = False,
    ) -> None:
        self.describer = Describer(root)
        self.force = force
        self.write_root = None if write_outside_root else os.path.realpath(root)
        self.cache = cache
        self.read_checkpoint = read_checkpoint
        self.checkpoints_read = 0
        """Checkpoints whose contents were read (the others came from a sidecar or the cache)."""
        self.cache_hits = 0
        """Checkpoints the cache answered for."""
        self._prepared: dict[int, Prepared] = {}
        self._cached: dict[int, CheckpointCatalogEntry] = {}
        """The entries :meth:`paths_to_read` found in the cache (a cache row is taken once)."""
        self._to_read: dict[str, FoundFile] = {}
        self.ahead: ForkedWork[ConversionItem] | None = None
        """Workers planning the files to read ahead (see :meth:`plan_ahead`), when started."""
        self.written_at = iso_local_time()
        """When this run's sidecars are written, as their ``ckpt_tui`` blocks record it."""

    def paths_to_read(self, files: list[FoundFile]) -> list[str]:
        """The checkpoints :meth:`plan` will read, in order (to read them ahead): those to be
        written, readable, and not answered by a sidecar or the cache. Never raises."""
        paths: list[str] = []
        for found in files:
            try:
                prepared = self._prepared[id(found)] = self.describer.prepare(found)
                if (not self.force and prepared.sidecars.present) or not self.may_write(found):
                    continue
                if not prepared.readable or prepared.sidecars.present:
                    continue  # a forced file with a sidecar may not need a read: read if asked
                if self.cache is not None:
                    cached = self.cache.lookup(found.rel, prepared.sig, need_inspected=True)
                    if cached is not None:
                        self._cached[id(found)] = cached
                        continue
            except Exception:  # a bug here costs only the read ahead: plan() reports it
                continue
            paths.append(found.path)
            self._to_read[found.path] = found
        return paths

    def plan_ahead(self, path: str) -> ConversionItem | None:
        """In a forked worker: the item of ``path`` (one of :meth:`paths_to_read`), planned as
        :meth:`plan` plans it, with its YAML rendered but not checked against the schema (the
        main process checks it: see :func:`~ckpt_tui.convert.plan.checked_item`)."""
        item = self._plan(self._to_read[path], validate=False)
        if item is not None:
            item.render()
        return item

    def plan(self, found: FoundFile) -> ConversionItem | None:
        """The planned item for ``found``; ``None`` when it has a sidecar and ``force`` is off.
        Never raises: an unexpected failure is an ``impossible`` item that says why."""
        if self.ahead is not None and self._to_read.pop(found.path, None) is not None:
            item = self.ahead.result(found.path)
            if item is not None:
                self._prepared.pop(id(found), None)
                self.checkpoints_read += 1
                return checked_item(item)
        return self._plan(found)

    def _plan(self, found: FoundFile, *, validate: bool = True) -> ConversionItem | None:
        try:
            prepared = self._prepared.pop(id(found), None) or self.describer.prepare(found)
            if not self.force and prepared.sidecars.present:
                return None
            if not self.may_write(found):  # listed, never written into
                return _item_without_entry(found, "skip", OUTSIDE_ROOT)
            entry = self._entry(prepared)
            shared = stem_of(found.name) in found.folder.shared_stems
            return plan_item(
                entry,
                force=self.force,
                write_root=self.write_root,
                written_at=self.written_at,
                stem_shared=shared,
                validate=validate,
            )
        except Exception as exc:  # a bug must cost one item, never the run
            reason = f"internal error: {type(exc).__name__}: {exc!s:.200}"
            return _item_without_entry(found, "impossible", reason)

    def may_write(self, found: FoundFile) -> bool:
        """Whether sidecars may be written into ``found``'s folder: it is really inside the root
        (a link may lead out of it), or writing outside was asked for."""
        return self.write_root is None or is_within(found.folder.real, self.write_root)

    def folder_to_sweep(self, found: FoundFile) -> str | None:
        """``found``'s folder, when this run may write (and so clean up) there."""
        return found.folder.path if self.may_write(found) else None

    def _entry(self, prepared: Prepared) -> CheckpointCatalogEntry:
        # As the catalog's build does for one file (ckpt_tui.catalog.build), without its threads.
        if self.cache is not None:
            cached = self._cached.pop(id(prepared.found), None) or self.cache.lookup(
                prepared.found.rel, prepared.sig, need_inspected=prepared.readable
            )
            if cached is not None:
                self.cache_hits += 1
                return prepared.restore(cached)
        return self.describer.describe(prepared, self._read)

    def _read(self, path: str) -> TierResult:
        self.checkpoints_read += 1
        return self.read_checkpoint(path)


def _item_without_entry(found: FoundFile, action: Action, reason: str) -> ConversionItem:
    """An item that was never described: skipped or impossible before any tier ran."""
    checkpoint = Path(found.path)
    entry = CheckpointCatalogEntry(
        checkpoint_path=found.rel, abs_path=found.path, size_bytes=found.size
    )
    target = sidecar_path_for(checkpoint)
    return ConversionItem(entry, checkpoint, target, action, reason=reason)


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
    on_report: OnReport | None = None,
    on_found: Callable[[int], None] | None = None,
    read_checkpoint: ReadCheckpoint = read_fields,
    write_threads: int = WRITE_THREADS,
    write_group: int = WRITE_GROUP,
    write_outside_root: bool = False,
    read_workers: int = 0,
) -> ConversionReport[FoundFile]:
    """Convert every checkpoint under the folder ``root`` that has no sidecar (all with ``force``).

    ``select`` keeps the files whose relative path it accepts. ``on_found`` gets the number of
    files found, before any is looked at; ``on_report`` runs on the calling thread for each file
    looked at, in completion order. With ``use_cache`` the catalog cache answers for the files
    it knows (``cache_hits`` in the report), so their checkpoints are not read again;
    ``read_checkpoint`` reads the others. When ``cancel`` is set, the sidecars being written
    finish, whole, and are reported; the other files stay untouched and come back in
    ``not_run``. A folder that a link leads to outside ``root`` is listed (its checkpoints are
    skipped, "outside ROOT through a link") and never written into, unless
    ``write_outside_root``. Temp files a killed run left in the folders it may write into are
    removed. ``read_workers`` (> 0, where ``fork`` exists; the command line only) plans the
    checkpoints to read ahead in that many forked processes when there are many (see
    :mod:`ckpt_tui.convert.prefetch`): this process checks their documents and writes. See
    :func:`~ckpt_tui.convert.engine.run_conversion` for the rest.
    """
    root = os.path.abspath(root)
    found, issues = find_files(root, select)
    if on_found is not None:
        on_found(len(found))
    cache = CatalogCache(os.path.realpath(root)) if use_cache else None
    stack = contextlib.ExitStack()
    try:
        if cache is not None:
            issues.extend(cache.issues)
        planner = TreePlanner(
            root,
            force=force,
            cache=cache,
            read_checkpoint=read_checkpoint,
            write_outside_root=write_outside_root,
        )
        forked = False
        if read_workers > 0 and len(found) >= MIN_PARALLEL_READS and can_fork():
            paths = planner.paths_to_read(found)
            if len(paths) >= MIN_PARALLEL_READS:
                # The modules the workers use, imported once here rather than in every worker.
                import ckpt_tui.reader
                import ckpt_tui.sources.statedict
                from ckpt_tui.io.safe_yaml import dump_yaml

                dump_yaml({})  # loads PyYAML and its dumper
                planner.ahead = stack.enter_context(
                    ForkedWork(planner.plan_ahead, paths, read_workers)
                )
                forked = True
                # While the workers plan: the schema every planned sidecar is checked against.
                import ckpt_tui.model.schema  # noqa: F401
        report = run_conversion(
            found,
            planner.plan,
            force=force,
            dry_run=dry_run,
            cancel=cancel,
            on_report=on_report,
            write_threads=write_threads,
            write_group=write_group,
            folder_of=planner.folder_to_sweep,
            write_stream=forked,  # this process checks and writes; the workers plan
        )
    finally:
        stack.close()
        if cache is not None:
            cache.close()
    report.scan_issues = issues
    report.cache_hits = planner.cache_hits
    report.checkpoints_read = planner.checkpoints_read
    return report
