"""Conversion core and CLI on real legacy checkpoints written by torch."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from conversion_helpers import tree_hashes, write_planned

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.cli import main
from ckpt_tui.convert.plan import plan_conversion
from ckpt_tui.sidecar.files import read_sidecar, sidecar_path_for

SIDECAR_FIELDS = (
    "exp_name", "architecture", "backbone", "epoch", "global_step", "hmean", "precision",
    "recall", "monitor", "monitor_mode", "decoder", "head", "loss", "max_epochs",
)  # fmt: skip


def checkpoints(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_hashes(root).items() if k.endswith(".ckpt")}


def test_plan_builds_valid_metadata_and_lists_unknowns(legacy_tree: Path) -> None:
    catalog = build_catalog(legacy_tree, use_cache=False)
    plan = plan_conversion(catalog.entries)
    by_name = {Path(item.checkpoint).name: item for item in plan.items}
    item = by_name["epoch=4-step=420.ckpt"]
    assert item.action == "write"
    assert item.metadata is not None
    assert item.metadata.model.architecture == "dbnet"
    assert item.metadata.model.encoder.model_name == "resnet18"
    assert item.metadata.training.epoch == 4 and item.metadata.training.global_step == 420
    assert item.metadata.checkpointing.monitor == "val/hmean"
    assert "metrics.hmean" in item.unknown_fields
    assert "model.architecture" not in item.unknown_fields
    assert "architecture: dbnet" in item.preview_yaml()
    assert by_name["best-hmean-0.8920.ckpt"].metadata is not None
    assert by_name["best-hmean-0.8920.ckpt"].metadata.metrics.hmean == pytest.approx(0.892)
    assert by_name["zero.ckpt"].action == "impossible"


def test_round_trip_reads_back_the_same_values_from_sidecars(legacy_tree: Path) -> None:
    before = {e.checkpoint_path: e for e in build_catalog(legacy_tree, use_cache=False).entries}
    hashes = checkpoints(legacy_tree)
    results = write_planned(plan_conversion(before.values())).reports
    assert sorted(r.outcome for r in results) == [
        "failed",
        "written",
        "written",
        "written",
        "written",
    ]
    assert checkpoints(legacy_tree) == hashes, "a checkpoint changed"
    after = {e.checkpoint_path: e for e in build_catalog(legacy_tree, use_cache=False).entries}
    for result in results:
        if result.outcome != "written":
            continue
        key = result.checkpoint_path
        old, new = before[key], after[key]
        assert new.source == "sidecar", key
        for name in SIDECAR_FIELDS:
            assert getattr(new, name) == getattr(old, name), (key, name)
        assert old.created_at and new.created_at
        assert datetime.fromisoformat(new.created_at) == datetime.fromisoformat(old.created_at)


def test_existing_sidecars_are_skipped_unless_forced(legacy_tree: Path) -> None:
    entries = build_catalog(legacy_tree, use_cache=False).entries
    write_planned(plan_conversion(entries))
    target = next(legacy_tree.rglob("epoch=0-step=0.metadata.yaml"))
    first = target.read_bytes()
    again = write_planned(plan_conversion(entries)).reports
    assert {r.outcome for r in again} <= {"skipped", "failed"}
    assert target.read_bytes() == first
    forced = write_planned(plan_conversion(entries, force=True), force=True).reports
    assert "written" in {r.outcome for r in forced}
    assert read_sidecar(next(legacy_tree.rglob("epoch=0-step=0.ckpt"))).metadata is not None


def test_cli_dry_run_writes_nothing(legacy_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hashes = tree_hashes(legacy_tree)
    code = main(["convert", str(legacy_tree), "--dry-run", "--json", "--no-cache"])
    data = json.loads(capsys.readouterr().out)
    assert tree_hashes(legacy_tree) == hashes
    assert code == 1  # zero.ckpt cannot be converted
    assert data["dry_run"] is True and data["converted"] == 4 and data["failed"] == 1


def test_cli_converts_and_exits_by_outcome(
    legacy_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (next(legacy_tree.rglob("zero.ckpt"))).unlink()
    assert main(["convert", str(legacy_tree), "--json", "--no-cache"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total"], data["converted"], data["failed"]) == (4, 4, 0)
    assert main(["convert", "--outputs-dir", str(legacy_tree), "--no-cache"]) == 0
    assert "0 checkpoints" in capsys.readouterr().out  # nothing left without a sidecar
    one = next(legacy_tree.rglob("epoch=9-step=930.ckpt"))
    assert main(["convert", "--checkpoint", str(one), "--force", "--json", "--no-cache"]) == 0
    assert json.loads(capsys.readouterr().out)["converted"] == 1


def test_cli_usage_errors(tmp_path: Path) -> None:
    assert main(["convert"]) == 2
    assert main(["convert", str(tmp_path / "nope")]) == 2


def test_read_only_folder_is_a_failed_item(legacy_tree: Path) -> None:
    # Root ignores permissions, so make the write fail for real: the sidecar's name is taken by
    # a folder, which os.replace cannot overwrite with a file.
    ckpt = next(legacy_tree.rglob("epoch=4-step=420.ckpt"))
    entries = [
        e for e in build_catalog(legacy_tree, use_cache=False).entries if e.abs_path == str(ckpt)
    ]
    plan = plan_conversion(entries)
    sidecar_path_for(ckpt).mkdir()
    plan.items[0].action = "write"
    [result] = write_planned(plan).reports
    assert result.outcome == "failed" and "cannot write" in result.reason
    assert not [p for p in ckpt.parent.iterdir() if p.name.endswith(".tmp")]
