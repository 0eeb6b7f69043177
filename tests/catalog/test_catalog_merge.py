"""Merging tiers field by field, with provenance; the sidecar tier inside real builds."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from catalog_helpers import HYDRA_CONFIG, write_text
from payloads import MarkerPayload
from reference_sidecar import REFERENCE_YAML as REFERENCE_SIDECAR

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.model.schema import MetricsInfo
from ckpt_tui.sources.checkpoint import checkpoint_tier, tier_from_inspection
from ckpt_tui.sources.merge import TierResult, canonical_metric, merge_tiers


def entries(root: Path, **kwargs: Any) -> dict[str, CheckpointCatalogEntry]:
    catalog = build_catalog(root, use_cache=False, **kwargs)
    return {entry.checkpoint_path: entry for entry in catalog.entries}


def test_tiers_merge_field_by_field() -> None:
    sidecar = TierResult(kind="sidecar")
    sidecar.put("epoch", 0, "sidecar training.epoch")  # epoch 0 is a value, not "missing"
    sidecar.put("exp_name", "from-sidecar", "sidecar exp_name")
    config = TierResult(kind="config")
    config.put("architecture", "dbnet", "hydra config model.architecture")
    config.put("epoch", 7, "never used")
    config.put("exp_name", "from-config", "hydra config exp_name")
    path = TierResult(kind="path")
    path.put("backbone", "resnet18", "path run")
    path.put("architecture", "craft", "path craft")
    merged = merge_tiers([path, config, sidecar])
    assert merged.values == {
        "epoch": 0,
        "exp_name": "from-config",
        "architecture": "dbnet",
        "backbone": "resnet18",
    }
    assert merged.provenance == {
        "epoch": "sidecar training.epoch",
        "exp_name": "hydra config exp_name",
        "architecture": "hydra config model.architecture",
        "backbone": "path run",
    }
    assert merged.source == "sidecar"


def test_source_is_best_tier_that_answered() -> None:
    empty_sidecar = TierResult(
        kind="sidecar", issues=[Issue(severity="error", code="x", message="bad")]
    )
    path = TierResult(kind="path")
    path.put("epoch", 3, "path epoch=3")
    merged = merge_tiers([empty_sidecar, TierResult(kind="config"), path])
    assert merged.source == "path"
    assert [i.code for i in merged.issues] == ["x"]


def test_hyper_parameters_rank_as_config_below_config_files() -> None:
    @dataclass
    class Inspection:
        epoch: int = 0
        global_step: int = 12
        monitor: str = "val/hmean"
        monitor_mode: str = "max"
        monitor_value: float = 0.75
        metrics: dict[str, float] = field(default_factory=lambda: {"val/hmean": 0.75, "lr": 0.1})
        hyper_parameters: dict[str, Any] = field(
            default_factory=lambda: {"model": {"architecture": "psenet"}, "exp_name": "hp"}
        )
        issues: list[Issue] = field(default_factory=list)

    checkpoint = tier_from_inspection(Inspection())
    path = TierResult(kind="path")
    path.put("epoch", 9, "path epoch=9")
    merged = merge_tiers([checkpoint, path])
    assert merged.values["epoch"] == 0
    assert merged.provenance["epoch"] == "checkpoint epoch"
    assert merged.values["architecture"] == "psenet"
    assert merged.provenance["architecture"] == "checkpoint hyper_parameters model.architecture"
    assert merged.values["hmean"] == 0.75
    assert merged.values["additional_metrics"] == {"lr": 0.1}
    assert merged.source == "config"
    config = TierResult(kind="config")
    config.put("architecture", "dbnet", "hydra config model.architecture")
    merged = merge_tiers([checkpoint, config, path])
    assert merged.values["architecture"] == "dbnet"


def test_monitor_value_derived_from_monitored_metric() -> None:
    config = TierResult(kind="config")
    config.put("monitor", "val/hmean", "hydra config callbacks.model_checkpoint.monitor")
    path = TierResult(kind="path")
    path.put("hmean", 0.9, "path best-hmean-0.9")
    merged = merge_tiers([config, path])
    assert merged.values["monitor_value"] == 0.9
    assert merged.provenance["monitor_value"] == "path best-hmean-0.9"


@pytest.mark.parametrize(
    ("name", "field_name"),
    [
        ("val/hmean", "hmean"),
        ("val_hmean", "hmean"),
        ("hmean", "hmean"),
        ("val/precision", "precision"),
        ("val/loss", "validation_loss"),
        ("val_loss", "validation_loss"),
        ("train/hmean", None),
        ("loss", None),
        ("test/recall", None),
    ],
)
def test_canonical_metric(name: str, field_name: str | None) -> None:
    assert canonical_metric(name) == field_name


def test_sidecar_backed_entry(tmp_path: Path, write_checkpoint, write_sidecar) -> None:
    run = tmp_path / "run"
    write_text(run / ".hydra" / "config.yaml", HYDRA_CONFIG)
    ckpt = write_checkpoint(run / "checkpoints" / "epoch=10-step=5420.ckpt")
    write_sidecar(ckpt)
    entry = entries(tmp_path)["run/checkpoints/epoch=10-step=5420.ckpt"]
    assert entry.source == "sidecar"
    assert entry.sidecar_path == "run/checkpoints/epoch=10-step=5420.metadata.yaml"
    assert entry.config_path == "run/.hydra/config.yaml"
    assert entry.architecture == "dbnet"  # the sidecar beats the config
    assert entry.exp_name == "hydra-exp"  # ... except for exp_name, where the config wins
    assert (entry.epoch, entry.global_step, entry.hmean) == (10, 5420, 0.84)
    assert entry.created_at == "2025-10-18T14:32:15"
    assert entry.provenance["epoch"] == "sidecar training.epoch"
    assert entry.provenance["created_at"] == "sidecar created_at"
    assert entry.provenance["backbone"] == "sidecar model.encoder.model_name"
    assert entry.monitor_value == 0.84
    assert entry.decoder == "unet_decoder"  # the sidecar had no decoder; the config did
    # sidecar-backed entries skip the slow tier
    assert not any(i.code == "checkpoint.not-inspected" for i in entry.issues)


def test_reference_written_sidecar_loads(tmp_path: Path, write_checkpoint) -> None:
    ckpt = write_checkpoint(tmp_path / "dbnet-resnet50" / "checkpoints" / "epoch=10.ckpt")
    write_text(ckpt.with_name("epoch=10.ckpt.metadata.yaml"), REFERENCE_SIDECAR)
    entry = entries(tmp_path)["dbnet-resnet50/checkpoints/epoch=10.ckpt"]
    assert entry.source == "sidecar"
    assert entry.exp_name == "dbnet-resnet50-pan-20251018"
    assert (entry.hmean, entry.precision, entry.recall) == (0.843, 0.8542, 0.8321)
    assert entry.validation_loss == 0.0234
    assert (entry.monitor, entry.monitor_mode, entry.save_top_k) == ("val/hmean", "max", 3)
    assert entry.issues == []


def test_unknown_strings_become_null(tmp_path: Path, write_checkpoint) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    text = REFERENCE_SIDECAR.replace('"dbnet"', '"unknown"').replace('"resnet50"', "unknown")
    write_text(ckpt.with_name("last.metadata.yaml"), text)
    entry = entries(tmp_path)["run/checkpoints/last.ckpt"]
    assert entry.architecture is None
    assert entry.backbone is None
    assert "architecture" not in entry.provenance


def test_invalid_sidecar_is_an_error_and_other_tiers_answer(
    tmp_path: Path, write_checkpoint
) -> None:
    ckpt = write_checkpoint(tmp_path / "craft-resnet34" / "checkpoints" / "epoch=4-step=9.ckpt")
    broken = REFERENCE_SIDECAR.replace("epoch: 10", "epoch: -3")
    write_text(ckpt.with_name("epoch=4-step=9.metadata.yaml"), broken)
    entry = entries(tmp_path, inspect=False)["craft-resnet34/checkpoints/epoch=4-step=9.ckpt"]
    assert entry.source == "path"
    assert entry.sidecar_path == "craft-resnet34/checkpoints/epoch=4-step=9.metadata.yaml"
    assert entry.issues[0].severity == "error"
    assert entry.issues[0].code == "sidecar.invalid"
    assert "training.epoch" in entry.issues[0].message
    assert (entry.epoch, entry.global_step, entry.architecture) == (4, 9, "craft")


def test_hostile_sidecar_runs_nothing(tmp_path: Path, write_checkpoint) -> None:
    marker = tmp_path / "MARKER"
    ckpt = write_checkpoint(tmp_path / "r" / "checkpoints" / "last.ckpt")
    write_text(
        ckpt.with_name("last.metadata.yaml"),
        f"exp_name: !!python/object/apply:os.system ['touch {marker}']\n",
    )
    entry = entries(tmp_path)["r/checkpoints/last.ckpt"]
    assert not marker.exists()
    assert entry.has_errors
    assert entry.issues[0].code == "sidecar.unreadable"


def test_both_sidecar_names_newer_wins(tmp_path: Path, write_checkpoint, write_sidecar) -> None:
    ckpt = write_checkpoint(tmp_path / "r" / "checkpoints" / "e.ckpt")
    old = write_sidecar(ckpt, exp_name="old")
    newer = ckpt.with_name("e.ckpt.metadata.yaml")
    newer.write_text(old.read_text().replace("exp_name: old", "exp_name: new"))
    past = time.time() - 100
    os.utime(old, (past, past))
    entry = entries(tmp_path)["r/checkpoints/e.ckpt"]
    assert entry.provenance["exp_name"] == "sidecar exp_name"
    assert entry.exp_name == "new"
    assert entry.sidecar_path == "r/checkpoints/e.ckpt.metadata.yaml"
    assert [i.code for i in entry.issues] == ["sidecar.duplicate"]


def test_sidecar_business_rules(tmp_path: Path, write_checkpoint, write_sidecar) -> None:
    ckpt = write_checkpoint(tmp_path / "r" / "checkpoints" / "e.ckpt")
    write_sidecar(ckpt, metrics=MetricsInfo(precision=0.5))
    entry = entries(tmp_path)["r/checkpoints/e.ckpt"]
    assert entry.source == "sidecar"
    codes = [(i.severity, i.code) for i in entry.issues]
    assert codes == [("error", "metrics.required"), ("warning", "metrics.missing")]


def test_checkpoint_tier_reads_the_file(tmp_path: Path, write_checkpoint) -> None:
    ckpt = write_checkpoint(tmp_path / "runs" / "x" / "model.ckpt")
    tier = checkpoint_tier(ckpt)
    assert tier.kind == "checkpoint"
    assert (tier.values["epoch"], tier.values["global_step"]) == (4, 120)
    assert tier.provenance["epoch"] == "checkpoint epoch"
    assert tier.details["lightning_version"] == "2.6.0"
    entry = entries(tmp_path)["runs/x/model.ckpt"]
    assert entry.source == "checkpoint"
    assert (entry.epoch, entry.global_step) == (4, 120)
    assert (
        entry.exp_name == "x"
    )  # the run folder: the path still answers what the file does not know
    uninspected = entries(tmp_path, inspect=False)["runs/x/model.ckpt"]
    assert (uninspected.source, uninspected.epoch) == ("path", None)


def test_checkpoint_hyper_parameters_count_as_config(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "exp" / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    hparams = {"model": {"architecture": "craft", "encoder": {"model_name": "resnet34"}}}
    torch.save({"epoch": 0, "global_step": 3, "hyper_parameters": hparams}, path)
    entry = entries(tmp_path)["exp/checkpoints/last.ckpt"]
    assert entry.source == "config"
    assert entry.architecture == "craft"
    assert entry.provenance["architecture"] == "checkpoint hyper_parameters model.architecture"
    assert entry.epoch == 0  # epoch 0 is a real epoch
    assert entry.provenance["epoch"] == "checkpoint epoch"


def test_broken_checkpoints_are_error_entries(tmp_path: Path, write_checkpoint) -> None:
    good = write_checkpoint(tmp_path / "r" / "checkpoints" / "good.ckpt")
    data = good.read_bytes()
    (tmp_path / "r" / "checkpoints" / "truncated.ckpt").write_bytes(data[: len(data) // 2])
    (tmp_path / "r" / "checkpoints" / "garbage.ckpt").write_bytes(b"\x00not a checkpoint" * 50)
    found = entries(tmp_path)
    assert not found["r/checkpoints/good.ckpt"].has_errors
    for name in ("truncated", "garbage"):
        entry = found[f"r/checkpoints/{name}.ckpt"]
        assert entry.has_errors, entry.issues
        assert entry.issues[0].code.startswith("checkpoint.")


def test_hostile_checkpoint_runs_nothing(tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "MARKER"
    path = tmp_path / "r" / "checkpoints" / "evil.ckpt"
    path.parent.mkdir(parents=True)
    torch.save({"epoch": 1, "payload": MarkerPayload(marker)}, path)
    entry = entries(tmp_path)["r/checkpoints/evil.ckpt"]
    assert not marker.exists()
    assert any(i.code.startswith("security.") for i in entry.issues), entry.issues


def test_file_facts(tmp_path: Path, write_checkpoint) -> None:
    ckpt = write_checkpoint(tmp_path / "r" / "checkpoints" / "e.ckpt")
    (tmp_path / "r" / "checkpoints" / "empty.ckpt").write_bytes(b"")
    found = entries(tmp_path)
    entry = found["r/checkpoints/e.ckpt"]
    assert entry.abs_path == str(ckpt)
    assert entry.size_bytes == ckpt.stat().st_size
    assert entry.mtime == ckpt.stat().st_mtime
    assert entry.provenance["created_at"] == "file mtime"
    assert entry.created_at is not None and entry.created_at.startswith("20")
    empty = found["r/checkpoints/empty.ckpt"]
    assert empty.issues[0].code == "checkpoint.empty"
    assert empty.issues[0].severity == "error"
