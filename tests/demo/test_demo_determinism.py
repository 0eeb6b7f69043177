"""Same seed, same tree: names, bytes (checkpoints included), links and mtimes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ckpt_tui.demo import DemoSummary
from ckpt_tui.demo.runs import RUNS
from ckpt_tui.demo.simulate import replay, run_points


def _snapshot(root: Path) -> dict[str, tuple[str, object, int]]:
    out: dict[str, tuple[str, object, int]] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        info = path.lstat()
        if path.is_symlink():
            out[key] = ("link", os.readlink(path), info.st_mtime_ns)
        elif path.is_dir():
            out[key] = (
                "dir",
                None,
                0,
            )  # folder mtimes change as files land; not part of the promise
        else:
            out[key] = ("file", path.read_bytes(), info.st_mtime_ns)
    return out


def test_same_seed_gives_identical_trees(demo: DemoSummary, demo_twin: DemoSummary) -> None:
    first, second = _snapshot(demo.root), _snapshot(demo_twin.root)
    assert list(first) == list(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_torch_zip_checkpoints_embed_no_timestamps(demo: DemoSummary) -> None:
    # torch.save writes every zip member with zeroed DOS date and time fields (read back as
    # 1980-00-00), so equal data gives equal bytes: what makes the byte-for-byte test possible.
    import zipfile

    zipped = [p for p in demo.checkpoints if zipfile.is_zipfile(p)]
    assert len(zipped) > 40
    for path in zipped[:5]:
        with zipfile.ZipFile(path) as archive:
            assert {info.date_time for info in archive.infolist()} == {(1980, 0, 0, 0, 0, 0)}
            assert all(info.filename.startswith("archive/") for info in archive.infolist())


@pytest.mark.parametrize("seed", [1, 7, 12345])
def test_names_do_not_depend_on_the_seed(seed: int) -> None:
    for run in RUNS:
        assert sorted(replay(run, seed)) == sorted(replay(run, 0)), run.key


def test_scores_do_depend_on_the_seed() -> None:
    hmeans = {
        seed: [p.metrics["val/hmean"] for run in RUNS for a in run_points(run, seed) for p in a]
        for seed in (0, 1)
    }
    assert hmeans[0] != hmeans[1]
    assert hmeans[0] == [p.metrics["val/hmean"] for r in RUNS for a in run_points(r, 0) for p in a]
