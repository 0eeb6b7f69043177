"""The one-pass conversion of a tree (``convert_tree``): it writes the same bytes as planning a
built catalog's entries, a failure is one failed item, stops leave whole sidecars, and the
catalog cache spares the checkpoints it knows from being read again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conversion_helpers import sidecar_bytes as sidecars
from conversion_helpers import tree_hashes, write_planned

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.cache import CACHE_DIR_ENV, clear_memory
from ckpt_tui.cli import main
from ckpt_tui.convert.plan import ConversionItem, plan_conversion
from ckpt_tui.convert.tree import convert_tree, read_fields
from ckpt_tui.convert.write import ItemReport, _spread_over_folders
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, read_sidecar
from ckpt_tui.sources.merge import TierResult

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


def test_tree_and_planned_entries_write_identical_sidecars(big_tree: Path, tmp_path: Path) -> None:
    serial_tree = copy_of(big_tree, tmp_path / "serial")
    plan_tree = copy_of(big_tree, tmp_path / "plan")
    hashes = checkpoints(big_tree)
    threaded = convert_tree(str(big_tree), use_cache=False)
    serial = convert_tree(str(serial_tree), use_cache=False, write_threads=0)
    planned = plan_conversion(build_catalog(plan_tree, use_cache=False).entries)
    results = write_planned(planned).reports

    assert not threaded.cancelled and threaded.not_run == []
    assert as_rows(threaded.reports) == as_rows(serial.reports)
    assert [r.index for r in threaded.reports] == sorted(r.index for r in threaded.reports)
    assert sidecars(big_tree) == sidecars(serial_tree) == sidecars(plan_tree)
    assert len(sidecars(big_tree)) == 4 + 2 * COPIES
    assert [r.outcome for r in threaded.reports].count("written") == 4 + 2 * COPIES
    assert sorted(map(str, (r.outcome for r in results))) == sorted(
        map(str, (r.outcome for r in threaded.reports))
    )
    assert checkpoints(big_tree) == hashes
    assert_reported_is_on_disk(big_tree, threaded.reports)


@pytest.mark.parametrize("threads", [0, 3])
def test_many_small_groups_write_what_one_group_writes(
    big_tree: Path, tmp_path: Path, threads: int
) -> None:
    """Sidecars are written a group at a time; the group size changes nothing but when."""
    one_group = copy_of(big_tree, tmp_path / "one")
    whole = convert_tree(str(one_group), use_cache=False)
    written_by_then: list[int] = []

    def count_sidecars(_index: int, report: ItemReport | None) -> None:
        if report is not None and report.outcome == "written":
            written_by_then.append(len(sidecars(big_tree)))

    grouped = convert_tree(
        str(big_tree),
        use_cache=False,
        on_report=count_sidecars,
        write_group=4,
        write_threads=threads,
    )
    assert as_rows(grouped.reports) == as_rows(whole.reports)
    assert sidecars(big_tree) == sidecars(one_group)
    # Written as the walk goes: the first reports came while most files had no sidecar yet.
    assert written_by_then[0] <= 4 < len(sidecars(big_tree))
    assert_reported_is_on_disk(big_tree, grouped.reports)


def test_a_cancel_between_groups_reports_exactly_what_was_written(big_tree: Path) -> None:
    cancel = threading.Event()

    def cancel_after_a_write(_index: int, report: ItemReport | None) -> None:
        if report is not None and report.outcome == "written":
            cancel.set()

    tree = convert_tree(
        str(big_tree),
        use_cache=False,
        cancel=cancel,
        on_report=cancel_after_a_write,
        write_group=4,
    )
    assert tree.cancelled and tree.not_run
    written = [r for r in tree.reports if r.outcome == "written"]
    assert 1 <= len(written) <= 4  # the group under way finished; nothing after it started
    assert len(tree.reports) + len(tree.not_run) == TOTAL
    assert_reported_is_on_disk(big_tree, tree.reports)


def test_a_group_is_written_one_folder_after_another(big_tree: Path) -> None:
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


def test_failures_are_single_failed_items(big_tree: Path) -> None:
    blocked = big_tree / "run_a" / "checkpoints" / f"epoch=3-step=21{SIDECAR_SUFFIX}"
    blocked.mkdir()  # os.replace cannot put a file over a folder (even as root)
    tree = convert_tree(str(big_tree), use_cache=False)
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


def test_dry_run_writes_nothing(big_tree: Path) -> None:
    before = tree_hashes(big_tree)
    tree = convert_tree(str(big_tree), use_cache=False, dry_run=True)
    assert tree_hashes(big_tree) == before
    assert [r.outcome for r in tree.reports] == [None] * (TOTAL)
    assert sum(r.action == "write" for r in tree.reports) == 4 + 2 * COPIES


def test_checkpoints_with_sidecars_are_left_out_unless_forced(big_tree: Path) -> None:
    first = convert_tree(str(big_tree), use_cache=False)
    again = convert_tree(str(big_tree), use_cache=True)
    # Only the files that failed the first time are candidates again.
    assert {r.checkpoint_path for r in again.reports} == {
        r.checkpoint_path for r in first.reports if r.outcome == "failed"
    }
    forced = convert_tree(str(big_tree), use_cache=False, force=True)
    assert sum(r.action == "replace" for r in forced.reports) == 4 + 2 * COPIES


class CountingReader:
    """The checkpoint tier, counting the checkpoints it reads."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, path: str) -> TierResult:
        self.paths.append(path)
        return read_fields(path)


def warm_cache_with_list(root: Path, cache: Path) -> None:
    """``ckpt-tui list ROOT`` in its own process: the cache it leaves is all this process gets."""
    env = {**os.environ, CACHE_DIR_ENV: str(cache)}
    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "list", str(root), "--json"],
        capture_output=True,
        env=env,
        check=True,
    )
    assert len(json.loads(done.stdout)) == 5
    clear_memory()  # nothing remembered in this process: only the cache file can answer


def test_a_warm_cache_spares_every_checkpoint_a_second_read(
    legacy_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(cache))
    clear_memory()
    cold_reader = CountingReader()
    cold = convert_tree(
        str(legacy_tree), dry_run=True, use_cache=False, read_checkpoint=cold_reader
    )
    assert len(cold_reader.paths) == 4 == cold.checkpoints_read  # zero.ckpt has nothing to read
    assert cold.cache_hits == 0

    warm_cache_with_list(legacy_tree, cache)
    before = tree_hashes(legacy_tree)
    reader = CountingReader()
    warm = convert_tree(str(legacy_tree), dry_run=True, read_checkpoint=reader)
    assert reader.paths == [], "a checkpoint the cache knows was read again"
    assert warm.checkpoints_read == 0
    assert warm.cache_hits == 5
    assert as_rows(warm.reports) == as_rows(cold.reports)  # the same plan, from the cache
    assert tree_hashes(legacy_tree) == before


def test_cli_dry_run_after_list_prints_the_same_plan(
    legacy_tree: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    clear_memory()
    assert main(["convert", str(legacy_tree), "--dry-run", "--json", "--no-cache"]) == 1
    cold = json.loads(capsys.readouterr().out)
    warm_cache_with_list(legacy_tree, tmp_path / "cache")
    assert main(["convert", str(legacy_tree), "--dry-run", "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == cold
