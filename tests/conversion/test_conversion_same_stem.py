"""Two checkpoints whose names share a stem (``a.ckpt``, ``a.pt``) get a sidecar each, and each
row reads its own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.cli import main
from ckpt_tui.sidecar.files import read_sidecar, sidecar_path_for


@pytest.fixture
def same_stem(legacy_tree: Path) -> Path:
    """``best.ckpt`` (epoch 4) and ``best.pt`` (epoch 9) side by side, no sidecars."""
    folder = next(legacy_tree.rglob("epoch=4-step=420.ckpt")).parent
    shutil.copyfile(folder / "epoch=4-step=420.ckpt", folder / "best.ckpt")
    shutil.copyfile(folder / "epoch=9-step=930.ckpt", folder / "best.pt")
    return folder


def epochs(root: Path) -> dict[str, tuple[int | None, str | None]]:
    return {
        Path(e.checkpoint_path).name: (e.epoch, e.sidecar_path and Path(e.sidecar_path).name)
        for e in build_catalog(root, use_cache=False).entries
    }


def test_same_stem_checkpoints_get_distinct_sidecars(
    same_stem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = same_stem.parents[2]
    assert epochs(root)["best.ckpt"][0] == 4 and epochs(root)["best.pt"][0] == 9
    main(["convert", str(root), "--json", "--no-cache"])
    data = json.loads(capsys.readouterr().out)
    targets = {Path(i["sidecar_path"]).name for i in data["items"] if i["outcome"] == "written"}
    assert {"best.ckpt.metadata.yaml", "best.pt.metadata.yaml"} <= targets
    assert not (same_stem / "best.metadata.yaml").exists()
    after = epochs(root)
    assert after["best.ckpt"] == (4, "best.ckpt.metadata.yaml")
    assert after["best.pt"] == (9, "best.pt.metadata.yaml")
    assert read_sidecar(same_stem / "best.pt").metadata.training.epoch == 9  # type: ignore[union-attr]
    assert main(["validate", str(root)]) == 0


def test_a_stem_sidecar_is_read_by_neither_and_said_to_be_ambiguous(
    same_stem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = same_stem.parents[2]
    main(["convert", "--checkpoint", str(same_stem / "best.pt"), "--no-cache"])
    (same_stem / "best.pt.metadata.yaml").rename(same_stem / "best.metadata.yaml")
    assert sidecar_path_for(same_stem / "best.ckpt").name == "best.ckpt.metadata.yaml"
    entries = {
        Path(e.checkpoint_path).name: e for e in build_catalog(root, use_cache=False).entries
    }
    for name in ("best.ckpt", "best.pt"):
        assert entries[name].sidecar_path is None
        assert "sidecar.ambiguous" in {issue.code for issue in entries[name].issues}
    assert entries["best.ckpt"].epoch == 4
    capsys.readouterr()
    main(["validate", str(root), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert "sidecar.orphan" not in report["error_counts"]
    assert report["error_counts"]["sidecar.ambiguous"] == 2
