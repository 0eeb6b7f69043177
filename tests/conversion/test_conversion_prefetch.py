"""Reading ahead in forked worker processes (the command line's conversion) changes nothing but
the time: the same reports and the same sidecars as reading in the main process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conversion_helpers import sidecar_bytes

from ckpt_tui.convert.prefetch import MIN_PARALLEL_READS, ForkedReader, can_fork
from ckpt_tui.convert.tree import convert_tree, read_fields

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


def test_a_path_not_read_ahead_is_read_here(many: Path) -> None:
    paths = sorted(str(p) for p in many.rglob("*.ckpt"))
    with ForkedReader(read_fields, paths[:2], 1) as reader:
        assert reader.read(paths[0]).values == read_fields(paths[0]).values
        assert reader.read(paths[3]).values == read_fields(paths[3]).values
    reader.close()  # closing twice is fine; reads after it happen here
    assert reader.read(paths[1]).values == read_fields(paths[1]).values
