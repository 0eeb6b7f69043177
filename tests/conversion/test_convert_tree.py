"""The one-pass conversion of a tree (``convert_tree``): serial and forked runs write the same
bytes as the plan/execute path, a failure is one failed item, and stops leave whole sidecars."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path

import pytest
from conversion_helpers import tree_hashes

import ckpt_tui.convert.tree as convert_tree_module
from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.convert.fork import process_count
from ckpt_tui.convert.plan import execute_plan, plan_conversion
from ckpt_tui.convert.tree import ItemReport, _spread_over_folders, convert_tree
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, read_sidecar

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux")

COPIES = 30
TOTAL = 2 * COPIES + 6
"""The copies, the four real legacy checkpoints, the empty file and the garbage file."""


@pytest.fixture
def big_tree(legacy_tree: Path) -> Path:
    """The legacy tree (Hydra config, an empty file) plus copies of one real checkpoint in two
    more run folders, and one file of garbage named like a checkpoint."""
    source = next(legacy_tree.rglob("epoch=4-step=420.ckpt"))
    for run in ("run_a", "run_b"):
        folder = legacy_tree / run / "checkpoints"
        folder.mkdir(parents=True)
        for index in range(COPIES):
            shutil.copy2(source, folder / f"epoch={index}-step={index * 7}.ckpt")
    (legacy_tree / "run_b" / "checkpoints" / "garbage.ckpt").write_bytes(b"not a checkpoint" * 9)
    return legacy_tree


def copy_of(tree: Path, where: Path) -> Path:
    target = where / "outputs"
    shutil.copytree(tree, target)  # mtimes kept: the same metadata is planned
    return target


def sidecars(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob(f"*{SIDECAR_SUFFIX}"))
    }


def checkpoints(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_hashes(root).items() if k.endswith(".ckpt")}


def as_rows(reports: list[ItemReport]) -> list[tuple[object, ...]]:
    """Reports without the absolute sidecar path (it differs between copies)."""
    return [(r.checkpoint_path, r.action, r.outcome, r.reason, r.unknown_fields) for r in reports]


def assert_reported_is_on_disk(root: Path, reports: list[ItemReport]) -> None:
    written = {r.checkpoint_path for r in reports if r.outcome == "written"}
    on_disk = {
        ckpt.relative_to(root).as_posix()
        for ckpt in root.rglob("*.ckpt")
        if read_sidecar(ckpt).found
    }
    assert on_disk == written
    for ckpt in root.rglob("*.ckpt"):
        read = read_sidecar(ckpt)
        assert read.path is None or read.metadata is not None, (ckpt, read.issues)
    assert [p for p in root.rglob("*.tmp")] == []


def test_forked_serial_and_plan_paths_write_identical_sidecars(
    big_tree: Path, tmp_path: Path
) -> None:
    serial_tree = copy_of(big_tree, tmp_path / "serial")
    plan_tree = copy_of(big_tree, tmp_path / "plan")
    hashes = checkpoints(big_tree)
    assert process_count(2, 64) == 2, "the forked path must really be taken"
    forked = convert_tree(str(big_tree), use_cache=False, processes=2)
    serial = convert_tree(str(serial_tree), use_cache=False, processes=1)
    results = execute_plan(plan_conversion(build_catalog(plan_tree, use_cache=False).entries))

    assert not forked.cancelled and forked.not_run == []
    assert as_rows(forked.reports) == as_rows(serial.reports)
    assert [r.index for r in forked.reports] == sorted(r.index for r in forked.reports)
    assert sidecars(big_tree) == sidecars(serial_tree) == sidecars(plan_tree)
    assert len(sidecars(big_tree)) == 4 + 2 * COPIES
    assert [r.outcome for r in forked.reports].count("written") == 4 + 2 * COPIES
    assert sorted(r.outcome for r in results) == sorted(r.outcome for r in forked.reports)
    assert checkpoints(big_tree) == hashes
    assert_reported_is_on_disk(big_tree, forked.reports)


@pytest.mark.parametrize("threads", [0, 3])
def test_many_small_groups_write_what_one_group_writes(
    big_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    """Sidecars are written a group at a time; the group size changes nothing but when."""
    one_group = copy_of(big_tree, tmp_path / "one")
    whole = convert_tree(str(one_group), use_cache=False, processes=1)
    monkeypatch.setattr(convert_tree_module, "WRITE_GROUP", 4)
    monkeypatch.setattr(convert_tree_module, "WRITE_THREADS", threads)
    written_by_then: list[int] = []

    def count_sidecars(_index: int, report: ItemReport | None) -> None:
        if report is not None and report.outcome == "written":
            written_by_then.append(len(sidecars(big_tree)))

    grouped = convert_tree(str(big_tree), use_cache=False, processes=1, on_report=count_sidecars)
    assert as_rows(grouped.reports) == as_rows(whole.reports)
    assert sidecars(big_tree) == sidecars(one_group)
    # Written as the walk goes: the first reports came while most files had no sidecar yet.
    assert written_by_then[0] <= 4 < len(sidecars(big_tree))
    assert_reported_is_on_disk(big_tree, grouped.reports)


def test_a_cancel_between_groups_reports_exactly_what_was_written(
    big_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert_tree_module, "WRITE_GROUP", 4)
    cancel = threading.Event()

    def cancel_after_a_write(_index: int, report: ItemReport | None) -> None:
        if report is not None and report.outcome == "written":
            cancel.set()

    tree = convert_tree(
        str(big_tree), use_cache=False, processes=1, cancel=cancel, on_report=cancel_after_a_write
    )
    assert tree.cancelled and tree.not_run
    written = [r for r in tree.reports if r.outcome == "written"]
    assert 1 <= len(written) <= 4  # the group under way finished; nothing after it started
    assert len(tree.reports) + len(tree.not_run) == TOTAL
    assert_reported_is_on_disk(big_tree, tree.reports)


def test_a_group_is_written_one_folder_after_another(big_tree: Path) -> None:
    from ckpt_tui.convert.plan import ConversionItem

    items: list[ConversionItem] = [
        item
        for item in plan_conversion(build_catalog(big_tree, use_cache=False).entries).items
        if item.action == "write"
    ]
    group = list(enumerate(items))
    spread = _spread_over_folders(group)
    assert sorted(spread, key=lambda job: job[0]) == group  # the same jobs
    folders = [job[1].target.parent for job in spread]
    assert len(set(folders)) >= 3
    first_round = folders[: len(set(folders))]
    assert len(set(first_round)) == len(first_round)  # one from each folder first


def test_failures_in_workers_are_single_failed_items(big_tree: Path) -> None:
    blocked = big_tree / "run_a" / "checkpoints" / f"epoch=3-step=21{SIDECAR_SUFFIX}"
    blocked.mkdir()  # os.replace cannot put a file over a folder (even as root)
    tree = convert_tree(str(big_tree), use_cache=False, processes=2)
    by_path = {r.checkpoint_path: r for r in tree.reports}
    failed = {path for path, r in by_path.items() if r.outcome == "failed"}
    assert failed == {
        "run_a/checkpoints/epoch=3-step=21.ckpt",
        "run_b/checkpoints/garbage.ckpt",
        "2025-10-18/14-32-15/checkpoints/zero.ckpt",
    }
    assert "cannot write" in by_path["run_a/checkpoints/epoch=3-step=21.ckpt"].reason
    assert by_path["run_b/checkpoints/garbage.ckpt"].action == "impossible"
    assert sum(r.outcome == "written" for r in tree.reports) == 4 + 2 * COPIES - 1


def test_cancel_stops_every_process_and_reports_exactly_what_was_written(
    big_tree: Path,
) -> None:
    cancel = threading.Event()
    tree = convert_tree(
        str(big_tree),
        use_cache=False,
        processes=2,
        cancel=cancel,
        on_report=lambda *_: cancel.set(),
    )
    assert tree.cancelled and tree.not_run, "the cancel should land mid-conversion"
    assert len(tree.reports) + len(tree.not_run) == TOTAL
    assert_reported_is_on_disk(big_tree, tree.reports)


def _children() -> list[int]:
    pids: list[int] = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as listing:
            pids += [int(pid) for pid in listing.read().split()]
    return pids


def test_a_worker_killed_from_outside_fails_its_items_not_the_run(big_tree: Path) -> None:
    killed: list[int] = []

    def kill_worker(_index: int, _report: ItemReport | None) -> None:
        if not killed:
            killed.extend(_children())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    tree = convert_tree(str(big_tree), use_cache=False, processes=2, on_report=kill_worker)
    assert killed, "a worker process should have been running"
    assert not tree.cancelled and tree.not_run == []
    assert len(tree.reports) == TOTAL  # every file has an outcome
    lost = [r for r in tree.reports if "stopped unexpectedly" in r.reason]
    assert all(r.outcome == "failed" for r in lost)
    written = {r.checkpoint_path for r in tree.reports if r.outcome == "written"}
    on_disk = {
        c.relative_to(big_tree).as_posix()
        for c in big_tree.rglob("*.ckpt")
        if read_sidecar(c).found
    }
    assert written <= on_disk  # a lost report may hide a sidecar written whole
    for ckpt in big_tree.rglob("*.ckpt"):
        read = read_sidecar(ckpt)
        assert read.path is None or read.metadata is not None, (ckpt, read.issues)


def test_dry_run_writes_nothing_in_any_process(big_tree: Path) -> None:
    before = tree_hashes(big_tree)
    tree = convert_tree(str(big_tree), use_cache=False, dry_run=True, processes=2)
    assert tree_hashes(big_tree) == before
    assert [r.outcome for r in tree.reports] == [None] * (TOTAL)
    assert sum(r.action == "write" for r in tree.reports) == 4 + 2 * COPIES


def test_checkpoints_with_sidecars_are_left_out_unless_forced(big_tree: Path) -> None:
    first = convert_tree(str(big_tree), use_cache=False, processes=2)
    again = convert_tree(str(big_tree), use_cache=True, processes=2)
    # Only the files that failed the first time are candidates again.
    assert {r.checkpoint_path for r in again.reports} == {
        r.checkpoint_path for r in first.reports if r.outcome == "failed"
    }
    forced = convert_tree(str(big_tree), use_cache=False, force=True, processes=2)
    assert sum(r.action == "replace" for r in forced.reports) == 4 + 2 * COPIES


def test_process_count_caps_by_files() -> None:
    assert process_count(1, 1000) == 1
    assert process_count(4, 3) == 3
    assert process_count(None, 10) == 1  # too few files to pay for a fork
