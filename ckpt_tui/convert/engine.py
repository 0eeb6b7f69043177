"""The conversion engine, shared by ``ckpt-tui convert`` and the TUI's conversion screen.

:func:`run_conversion` takes jobs and a way to plan each one (a found file planned as the walk
goes, or an item planned earlier), then writes the planned sidecars through
:class:`~ckpt_tui.convert.write.ConversionWriter`, and reports every job: one
:class:`~ckpt_tui.convert.write.ItemReport` per candidate, the jobs a cancel left untouched, and
whether it was cancelled. :func:`ckpt_tui.convert.tree.convert_tree` is the same run over a tree.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ckpt_tui.convert.plan import ConversionItem
from ckpt_tui.convert.write import (
    WRITE_GROUP,
    WRITE_THREADS,
    ConversionWriter,
    ItemReport,
    report_for,
    write_item,
)
from ckpt_tui.model.entry import Issue

J = TypeVar("J")

OnReport = Callable[[int, "ItemReport | None"], None]
"""Receives each job looked at: its index and report (``None``: not a candidate)."""


@dataclass
class ConversionReport(Generic[J]):
    """The outcome of one conversion run."""

    reports: list[ItemReport]
    """One report per candidate looked at, in job order."""
    not_run: list[J]
    """Jobs never looked at, or planned and never written (the run was cancelled), in order."""
    cancelled: bool
    """Whether ``cancel`` was set (by a signal handler or a screen, say) during the run."""
    scan_issues: list[Issue] = field(default_factory=list)
    """Problems met while finding the jobs (unreadable folders, odd files)."""
    cache_hits: int = 0
    """Entries the catalog cache answered (the checkpoint was not read)."""
    checkpoints_read: int = 0
    """Checkpoints whose contents were read to plan them."""
    temps_removed: int = 0
    """Temp files a killed run had left in the folders written to, removed by this run."""


def run_conversion(
    jobs: Sequence[J],
    plan: Callable[[J], ConversionItem | None],
    *,
    force: bool = False,
    dry_run: bool = False,
    cancel: threading.Event | None = None,
    on_report: OnReport | None = None,
    write_threads: int = WRITE_THREADS,
    write_group: int = WRITE_GROUP,
    folder_of: Callable[[J], str | None] | None = None,
    write_stream: bool = False,
) -> ConversionReport[J]:
    """Plan each job with ``plan`` (``None``: not a candidate) and write what it plans.

    ``plan`` must not raise for a bad file (it plans an ``impossible`` item instead). With
    ``dry_run`` nothing is written: each candidate is reported with its planned action and no
    outcome. ``on_report`` runs on the calling thread for each job looked at, in completion
    order. Writes go through a :class:`~ckpt_tui.convert.write.ConversionWriter` of
    ``write_threads`` threads (``0``: one at a time, so a cancel stops right after the sidecar
    being written) in groups of ``write_group``, or with ``write_stream`` each as soon as it is
    planned (when ``plan`` does not read checkpoints in this process: see
    :class:`~ckpt_tui.convert.write.ConversionWriter`). When ``cancel`` is set the writes under way
    finish, whole, and are reported; the other jobs stay untouched and come back in
    ``not_run``. An exception (from ``on_report``, say) stops the run the same way, then
    propagates. ``folder_of`` names each job's folder (``None``: not to be written into): unless
    ``dry_run``, the temp files a killed run left there are removed before the job is planned,
    whether or not it gets a sidecar (folders of items written are swept in any case).
    """
    cancel = cancel or threading.Event()
    seen: dict[int, ItemReport | None] = {}

    def emit(index: int, report: ItemReport | None) -> None:
        seen[index] = report
        if on_report is not None:
            on_report(index, report)

    writer = ConversionWriter(
        lambda report: emit(report.index, report),
        force=force,
        threads=write_threads,
        group=write_group,
        cancel=cancel,
        stream=write_stream,
    )
    try:
        for index, job in enumerate(jobs):
            if cancel.is_set():
                break
            if folder_of is not None and not dry_run:
                folder = folder_of(job)
                if folder is not None:
                    writer.sweep(folder)
            item = plan(job)
            if item is None:
                emit(index, None)
            elif dry_run:
                emit(index, report_for(index, item, None))
            elif item.action in ("write", "replace"):
                writer.submit(index, item)
            else:
                emit(index, write_item(index, item, force=force))
    except BaseException:
        cancel.set()  # what is planned and not started stays untouched
        raise
    finally:
        writer.close()
    reports = [report for _, report in sorted(seen.items()) if report is not None]
    not_run = [job for index, job in enumerate(jobs) if index not in seen]
    return ConversionReport(reports, not_run, cancel.is_set(), temps_removed=writer.temps_removed)
