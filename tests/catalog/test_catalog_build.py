"""Streaming builds: update order, batches, progress, cancellation, the worker bound."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ckpt_tui.catalog.api import BATCH_SIZE, CatalogUpdate, build_catalog, iter_catalog
from ckpt_tui.sources.merge import TierResult


@pytest.fixture
def mixed_tree(tmp_path: Path, write_checkpoint, write_sidecar) -> Path:
    for index in range(6):
        ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / f"epoch={index}.ckpt")
        if index % 2 == 0:
            write_sidecar(ckpt, exp_name="with-sidecar")
    return tmp_path


def collect(root: Path, **kwargs: object) -> list[CatalogUpdate]:
    return list(iter_catalog(root, **kwargs))  # type: ignore[arg-type]


def test_fast_entries_first_then_slow_replacements(mixed_tree: Path) -> None:
    updates = collect(mixed_tree)
    assert updates[-1].final and not any(u.final for u in updates[:-1])
    assert updates[-1].done == updates[-1].total == 3
    first_seen: dict[str, int] = {}
    last: dict[str, object] = {}
    for index, update in enumerate(updates):
        for entry in update.entries:
            first_seen.setdefault(entry.checkpoint_path, index)
            last[entry.checkpoint_path] = entry
    # every checkpoint is delivered by the walk, before any slow-tier update
    assert len(first_seen) == 6
    assert max(first_seen.values()) <= min(i for i, u in enumerate(updates) if u.done > 0)
    # the checkpoint tier replaced the entries without a sidecar: the file's own epoch wins
    from_file = sorted(
        p for p, e in last.items() if e.provenance.get("epoch") == "checkpoint epoch"
    )  # type: ignore[attr-defined]
    assert from_file == [f"run/checkpoints/epoch={i}.ckpt" for i in (1, 3, 5)]
    assert all(e.epoch == 4 for p, e in last.items() if p in from_file)  # type: ignore[attr-defined]


def test_warm_build_inspects_nothing_again(mixed_tree: Path) -> None:
    collect(mixed_tree)
    updates = collect(mixed_tree)
    assert updates[-1].total == 0
    assert sum(len(u.entries) for u in updates) == 6


def test_cache_from_uninspected_build_is_inspected_later(mixed_tree: Path) -> None:
    collect(mixed_tree, inspect=False)
    updates = collect(mixed_tree, inspect=True)
    assert updates[-1].total == 3


def test_walk_batches_are_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(BATCH_SIZE * 2 + 10):
        (folder / f"epoch={index}.ckpt").write_bytes(b"x")
    updates = collect(tmp_path, inspect=False)
    sizes = [len(u.entries) for u in updates]
    assert max(sizes) <= BATCH_SIZE
    assert sum(sizes) == BATCH_SIZE * 2 + 10


def test_bad_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        build_catalog(tmp_path / "missing")
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        iter_catalog(tmp_path / "file")


def test_the_checkpoint_tier_given_reads_only_what_no_sidecar_answered(mixed_tree: Path) -> None:
    (mixed_tree / "run" / "checkpoints" / "empty.ckpt").write_bytes(b"")
    (mixed_tree / "run" / "checkpoints" / "gone.ckpt").symlink_to(mixed_tree / "missing.ckpt")
    asked: list[str] = []
    lock = threading.Lock()

    def tier(path: str) -> TierResult:
        with lock:
            asked.append(Path(path).name)
        answer = TierResult(kind="checkpoint")
        answer.put("architecture", "from-the-given-tier", "a test")
        return answer

    catalog = build_catalog(mixed_tree, checkpoint_tier=tier)
    entries = {Path(e.checkpoint_path).name: e for e in catalog.entries}
    # neither the sidecar-backed files, nor an empty file, nor a dangling link is read
    assert sorted(asked) == ["epoch=1.ckpt", "epoch=3.ckpt", "epoch=5.ckpt"]
    assert {name for name, e in entries.items() if e.architecture == "from-the-given-tier"} == {
        "epoch=1.ckpt",
        "epoch=3.ckpt",
        "epoch=5.ckpt",
    }
    assert entries["empty.ckpt"].issues[0].code == "checkpoint.empty"
    # a warm build asks nothing again
    asked.clear()
    build_catalog(mixed_tree, checkpoint_tier=tier)
    assert asked == []


def test_failing_tier_is_one_error_entry(mixed_tree: Path) -> None:
    def broken(path: str) -> TierResult:
        if path.endswith("epoch=3.ckpt"):
            raise RuntimeError("boom")
        return TierResult(kind="checkpoint")

    entries = {
        e.checkpoint_path: e for e in build_catalog(mixed_tree, checkpoint_tier=broken).entries
    }
    assert len(entries) == 6
    bad = entries["run/checkpoints/epoch=3.ckpt"]
    assert bad.issues[0].code == "checkpoint.inspect-failed"
    assert "boom" in bad.issues[0].message
    assert not entries["run/checkpoints/epoch=1.ckpt"].has_errors


def test_slow_tier_respects_worker_bound(tmp_path: Path) -> None:
    for index in range(12):
        (tmp_path / f"m{index}.ckpt").write_bytes(b"x")
    lock = threading.Lock()
    running = [0, 0]  # now, peak

    def slow(path: str) -> TierResult:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return TierResult(kind="checkpoint")

    updates = collect(tmp_path, workers=3, use_cache=False, checkpoint_tier=slow)
    assert updates[-1].done == 12
    assert 1 <= running[1] <= 3


def test_cancel_stops_promptly_while_workers_are_busy(tmp_path: Path) -> None:
    for index in range(20):
        (tmp_path / f"m{index}.ckpt").write_bytes(b"x")
    release = threading.Event()

    def blocked(path: str) -> TierResult:
        release.wait(timeout=30)
        return TierResult(kind="checkpoint")

    cancel = threading.Event()
    seen: list[CatalogUpdate] = []
    try:
        iterator = iter_catalog(tmp_path, cancel=cancel, workers=2, checkpoint_tier=blocked)
        seen.append(next(iterator))  # the walk's entries
        cancel.set()
        started = time.monotonic()
        seen.extend(iterator)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert elapsed < 5, "cancel was not prompt"  # hang detection, not a timing assert
    assert not any(update.final for update in seen)
    assert len(seen[0].entries) == 20


def test_cancel_before_start_yields_nothing(mixed_tree: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    assert collect(mixed_tree, cancel=cancel) == []
