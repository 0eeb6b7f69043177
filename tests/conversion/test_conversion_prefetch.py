"""Planning ahead in forked worker processes (the command line's conversion) changes nothing but
the time: the same reports and the same sidecars as planning in the main process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conversion_helpers import sidecar_bytes

from ckpt_tui.convert.plan import checked_item, plan_item
from ckpt_tui.convert.prefetch import MIN_PARALLEL_READS, ForkedWork, can_fork
from ckpt_tui.convert.tree import convert_tree

pytestmark = pytest.mark.skipif(not can_fork(), reason="no fork start method here")


@pytest.fixture
def many(legacy_tree: Path) -> Path:
    """The legacy tree (an empty file among them) plus enough copies to be read ahead."""
    source = next(legacy_tree.rglob("epoch=4-step=420.ckpt"))
    for index in range(MIN_PARALLEL_READS + 8):
        shutil.copyfile(source, source.parent / f"epoch={100 + index}-step={index}.ckpt")
    (source.parent / "garbage.ckpt").write_bytes(b"not a checkpoint" * 9)
    return legacy_tree


def rows(report: object) -> list[tuple[object, ...]]:
    return [
        (r.checkpoint_path, r.action, r.outcome, r.reason, r.unknown_fields, r.safety)
        for r in report.reports  # type: ignore[attr-defined]
    ]


def test_forked_reads_write_what_reads_here_write(many: Path, tmp_path: Path) -> None:
    here = tmp_path / "here"
    shutil.copytree(many, here)
    forked = convert_tree(str(many), use_cache=False, read_workers=2)
    local = convert_tree(str(here), use_cache=False, read_workers=0)
    assert rows(forked) == rows(local)
    assert forked.checkpoints_read == local.checkpoints_read >= MIN_PARALLEL_READS
    assert sidecar_bytes(many) == sidecar_bytes(here)
    assert sum(r.outcome == "written" for r in forked.reports) == MIN_PARALLEL_READS + 12


def _size_or_fail(path: str) -> int:
    if path.endswith("garbage.ckpt"):
        raise ValueError("a bug in the work")
    return Path(path).stat().st_size


def test_work_a_worker_did_not_do_is_left_to_the_caller(many: Path) -> None:
    paths = sorted(str(p) for p in many.rglob("*.ckpt"))
    garbage = next(p for p in paths if p.endswith("garbage.ckpt"))
    others = [p for p in paths if p != garbage]
    with ForkedWork(_size_or_fail, [others[0], garbage], 1) as work:
        assert work.result(others[0]) == Path(others[0]).stat().st_size
        assert work.result(garbage) is None  # its work raised in the worker
        assert work.result(others[1]) is None  # never submitted
        assert work.result(others[0]) is None  # a result is given once
    work.close()  # closing twice is fine; results after it are the caller's to work out
    assert work.result(others[2]) is None


def test_a_document_planned_unchecked_is_checked_before_it_is_written(many: Path) -> None:
    from ckpt_tui.catalog.api import build_catalog

    entry = next(e for e in build_catalog(many, use_cache=False).entries if e.epoch is not None)
    item = plan_item(entry, validate=False)
    assert item.action == "write" and item.data is not None
    item.data["training"]["epoch"] = -1  # what the schema refuses
    item.render()
    checked = checked_item(item)
    assert checked.action == "impossible"
    assert checked.reason.startswith("training.epoch")
    assert checked.data is None and checked.payload() == b""


def test_no_worker_and_no_thread_outlives_the_conversion(many: Path) -> None:
    import multiprocessing
    import threading

    before = {t.ident for t in threading.enumerate()}
    report = convert_tree(str(many), use_cache=False, read_workers=2)
    assert report.checkpoints_read >= MIN_PARALLEL_READS  # the workers did plan
    assert multiprocessing.active_children() == []
    left = [t.name for t in threading.enumerate() if t.ident not in before and not t.daemon]
    assert left == []  # nothing for the interpreter's exit to wait for


def test_a_warm_cache_answers_before_any_worker_is_started(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ckpt_tui.catalog.api import build_catalog
    from ckpt_tui.catalog.cache import CACHE_DIR_ENV, clear_memory

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    clear_memory()
    here = tmp_path / "here"
    shutil.copytree(many, here)
    expected = convert_tree(str(here), use_cache=False, dry_run=True)
    build_catalog(many)  # what a listing leaves in the cache file
    clear_memory()  # only the cache file answers, one row per file, taken once
    report = convert_tree(str(many), read_workers=2, dry_run=True)
    assert report.checkpoints_read == 0, "a checkpoint the cache knows was read again"
    assert report.cache_hits == len(report.reports) >= MIN_PARALLEL_READS
    assert rows(report) == rows(expected)
