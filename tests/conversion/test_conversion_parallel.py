"""The engine writing planned sidecars on several threads: same files, reports in order, safe
stops."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from conversion_helpers import sidecar_bytes as sidecars
from conversion_helpers import tree_hashes, write_planned

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.convert.plan import ConversionPlan, plan_conversion
from ckpt_tui.convert.write import ItemReport
from ckpt_tui.io.atomic import atomic_write_bytes, atomic_write_text
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, read_sidecar

COPIES = 40
WORKERS = 4


@pytest.fixture(scope="module")
def many_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real torch checkpoint copied into two folders, 2 * COPIES files, no sidecars."""
    import torch

    root = tmp_path_factory.mktemp("many") / "outputs"
    for run in ("run_a", "run_b"):
        (root / run / "checkpoints").mkdir(parents=True)
    first = root / "run_a" / "checkpoints" / "epoch=0-step=0.ckpt"
    torch.save(
        {"epoch": 0, "global_step": 0, "pytorch-lightning_version": "2.6.6", "state_dict": {}},
        first,
    )
    for index in range(1, 2 * COPIES):
        folder = root / ("run_a" if index < COPIES else "run_b") / "checkpoints"
        shutil.copy2(first, folder / f"epoch={index}-step={index * 10}.ckpt")
    return root


@pytest.fixture
def many_tree(many_template: Path, tmp_path: Path) -> Path:
    """A fresh copy (mtimes kept, so two copies plan the same metadata)."""
    target = tmp_path / "outputs"
    shutil.copytree(many_template, target)
    return target


def plan_for(root: Path) -> ConversionPlan:
    return plan_conversion(build_catalog(root, use_cache=False).entries)


def temp_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.name.endswith(".tmp")]


def assert_reported_is_on_disk(root: Path, results: list[ItemReport]) -> None:
    """Exactly the sidecars reported as written exist, each one whole and valid."""
    written = {root / r.checkpoint_path for r in results if r.outcome == "written"}
    on_disk = {ckpt for ckpt in root.rglob("*.ckpt") if read_sidecar(ckpt).found}
    assert on_disk == written
    for ckpt in on_disk:
        assert read_sidecar(ckpt).metadata is not None, ckpt
    assert temp_files(root) == []


def test_parallel_writes_the_same_sidecars_as_serial(many_tree: Path, tmp_path: Path) -> None:
    other = tmp_path / "other" / "outputs"
    shutil.copytree(many_tree, other)
    hashes = {k: v for k, v in tree_hashes(many_tree).items() if k.endswith(".ckpt")}
    serial = write_planned(plan_for(other), write_threads=0).reports
    plan = plan_for(many_tree)
    seen: list[int] = []
    parallel = write_planned(
        plan, on_report=lambda index, _: seen.append(index), write_threads=WORKERS
    ).reports
    assert [r.outcome for r in parallel] == ["written"] * (2 * COPIES)
    assert [r.sidecar_path for r in parallel] == [str(item.target) for item in plan.items]
    assert sorted(seen) == list(range(len(plan.items)))  # each once, as its write finished
    assert sidecars(many_tree) == sidecars(other)
    assert len(serial) == len(parallel)
    assert {k: v for k, v in tree_hashes(many_tree).items() if k.endswith(".ckpt")} == hashes
    assert_reported_is_on_disk(many_tree, parallel)


def test_parallel_cancel_finishes_only_the_writes_in_flight(many_tree: Path) -> None:
    plan = plan_for(many_tree)
    cancel = threading.Event()
    group = 2 * WORKERS
    run = write_planned(
        plan,
        cancel=cancel,
        on_report=lambda *_: cancel.set(),
        write_threads=WORKERS,
        write_group=group,
    )
    results = run.reports
    assert run.cancelled
    assert 1 <= len(results) <= group, "no group is started after a cancel"
    assert len(results) + len(run.not_run) == len(plan.items)
    assert_reported_is_on_disk(many_tree, results)


def test_interrupt_lets_writes_in_flight_finish_and_reports_them(many_tree: Path) -> None:
    plan = plan_for(many_tree)
    delivered: list[ItemReport] = []

    def ctrl_c_once(_index: int, report: ItemReport | None) -> None:
        assert report is not None
        delivered.append(report)
        if len(delivered) == 1:
            raise KeyboardInterrupt  # as a Ctrl-C on the calling thread would

    with pytest.raises(KeyboardInterrupt):
        write_planned(plan, on_report=ctrl_c_once, write_threads=WORKERS)
    assert 1 <= len(delivered) < len(plan.items)
    assert_reported_is_on_disk(many_tree, delivered)


def test_a_failing_item_does_not_stop_the_others(many_tree: Path) -> None:
    plan = plan_for(many_tree)
    blocked = plan.items[5]
    blocked.target.mkdir()  # os.replace cannot put a file over a folder (even as root)
    results = write_planned(plan, write_threads=WORKERS).reports
    outcomes = [r.outcome for r in results]
    assert outcomes[5] == "failed" and "cannot write" in results[5].reason
    assert outcomes.count("written") == len(plan.items) - 1
    assert temp_files(many_tree) == []


def test_atomic_write_handles_a_name_at_the_length_limit(tmp_path: Path) -> None:
    # A checkpoint named with 245 bytes has a 254-byte sidecar name: legal, but too long to
    # embed whole in the temp file's name.
    target = tmp_path / ("x" * 240 + SIDECAR_SUFFIX)
    atomic_write_text(target, "a: 1\n")
    assert target.read_text() == "a: 1\n"
    assert temp_files(tmp_path) == []


def test_atomic_write_modes_follow_the_umask_and_replace(tmp_path: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    target = tmp_path / "x.metadata.yaml"
    atomic_write_bytes(target, b"first", sync_folder=False)
    atomic_write_bytes(target, b"second" * 10_000)
    assert target.read_bytes() == b"second" * 10_000
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["x.metadata.yaml"]


def test_streamed_writes_are_the_group_writes(many_tree: Path, tmp_path: Path) -> None:
    # Streaming (each sidecar handed to the threads as it is planned, as the command line does
    # when forked workers read) writes the same files and reports each item once.
    other = tmp_path / "other" / "outputs"
    shutil.copytree(many_tree, other)
    grouped = write_planned(plan_for(other), write_threads=WORKERS).reports
    plan = plan_for(many_tree)
    seen: list[int] = []
    streamed = write_planned(
        plan,
        on_report=lambda index, _: seen.append(index),
        write_threads=WORKERS,
        write_stream=True,
    ).reports
    assert [r.outcome for r in streamed] == ["written"] * (2 * COPIES)
    assert sorted(seen) == list(range(len(plan.items)))
    assert [r.sidecar_path for r in streamed] == [str(item.target) for item in plan.items]
    assert sidecars(many_tree) == sidecars(other)
    assert len(grouped) == len(streamed)
    assert_reported_is_on_disk(many_tree, streamed)


def test_streamed_cancel_finishes_only_the_writes_in_flight(many_tree: Path) -> None:
    plan = plan_for(many_tree)
    cancel = threading.Event()
    run = write_planned(
        plan,
        cancel=cancel,
        on_report=lambda *_: cancel.set(),
        write_threads=WORKERS,
        write_stream=True,
    )
    assert run.cancelled
    assert 1 <= len(run.reports) < len(plan.items)
    assert len(run.reports) + len(run.not_run) == len(plan.items)
    assert_reported_is_on_disk(many_tree, run.reports)


def test_streamed_interrupt_reports_what_is_on_disk(many_tree: Path) -> None:
    plan = plan_for(many_tree)
    delivered: list[ItemReport] = []

    def ctrl_c_once(_index: int, report: ItemReport | None) -> None:
        assert report is not None
        delivered.append(report)
        if len(delivered) == 1:
            raise KeyboardInterrupt  # as a Ctrl-C on the calling thread would

    with pytest.raises(KeyboardInterrupt):
        write_planned(plan, on_report=ctrl_c_once, write_threads=WORKERS, write_stream=True)
    assert 1 <= len(delivered) <= len(plan.items)
    assert_reported_is_on_disk(many_tree, delivered)
