"""The config tier: search order, key paths, hostile and broken configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_helpers import HYDRA_CONFIG, write_text

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.sources.config import HPARAMS_LABEL, read_config_fields


def only_entry(root: Path) -> CheckpointCatalogEntry:
    (entry,) = build_catalog(root, use_cache=False, inspect=False).entries
    return entry


def test_hydra_config_two_levels_up(tmp_path: Path, write_checkpoint) -> None:
    run = tmp_path / "outputs" / "2025-10-18" / "14-32-15"
    write_text(run / ".hydra" / "config.yaml", HYDRA_CONFIG)
    write_checkpoint(run / "checkpoints" / "epoch=2-step=20.ckpt")
    entry = only_entry(tmp_path)
    assert entry.source == "config"
    assert entry.config_path == "outputs/2025-10-18/14-32-15/.hydra/config.yaml"
    assert entry.architecture == "dbnetpp"
    assert entry.backbone == "mobilenetv3_small_050"
    assert (entry.decoder, entry.head, entry.loss) == ("unet_decoder", "db_head", "db_loss")
    assert entry.max_epochs == 30
    assert (entry.monitor, entry.monitor_mode, entry.save_top_k, entry.save_last) == (
        "val/hmean",
        "max",
        2,
        True,
    )
    assert entry.exp_name == "hydra-exp"
    assert entry.wandb_run_id == "abc123"
    assert entry.hydra_config_path == entry.config_path
    assert entry.provenance["architecture"] == "hydra config model.architecture"
    assert entry.provenance["backbone"] == "hydra config model.encoder.model_name"
    assert entry.provenance["exp_name"] == "hydra config exp_name"
    assert entry.provenance["epoch"] == "path epoch=2-step=20"


def test_hydra_three_levels_up_for_nested_checkpoints(tmp_path: Path, write_checkpoint) -> None:
    run = tmp_path / "run"
    write_text(run / ".hydra" / "config.yaml", HYDRA_CONFIG)
    write_checkpoint(run / "checkpoints" / "fold0" / "last.ckpt")
    assert only_entry(tmp_path).config_path == "run/.hydra/config.yaml"


def test_sidecar_config_comes_first(tmp_path: Path, write_checkpoint) -> None:
    run = tmp_path / "run"
    write_text(run / ".hydra" / "config.yaml", HYDRA_CONFIG)
    ckpt = write_checkpoint(run / "checkpoints" / "epoch=1.ckpt")
    own = {"model": {"architecture": "craft", "encoder": {"model_name": "resnet34"}}}
    write_text(ckpt.parent / "epoch=1.config.json", json.dumps(own))
    entry = only_entry(tmp_path)
    assert entry.config_path == "run/checkpoints/epoch=1.config.json"
    assert entry.architecture == "craft"
    assert entry.provenance["architecture"] == "sidecar config model.architecture"


@pytest.mark.parametrize(
    "suffix", [".config.json", ".config.yaml", ".config.yml", ".resolved.config.json"]
)
def test_each_sidecar_config_name(tmp_path: Path, write_checkpoint, suffix: str) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / "best.ckpt")
    write_text(ckpt.parent / f"best{suffix}", json.dumps({"model": {"architecture": "pan"}}))
    assert only_entry(tmp_path).architecture == "pan"


def test_folder_configs_order(tmp_path: Path, write_checkpoint) -> None:
    folder = tmp_path / "exp" / "weights"
    write_checkpoint(folder / "m.ckpt")
    write_text(tmp_path / "exp" / "config.yaml", "model:\n  architecture: from-parent\n")
    assert only_entry(tmp_path).architecture == "from-parent"
    write_text(folder / "hparams.yaml", "model:\n  architecture: from-hparams\n")
    assert only_entry(tmp_path).architecture == "from-hparams"
    write_text(folder / "config.yaml", "model:\n  architecture: from-config\n")
    assert only_entry(tmp_path).architecture == "from-config"


def test_lightning_logs_hparams(tmp_path: Path, write_checkpoint) -> None:
    version = tmp_path / "lightning_logs" / "version_0"
    write_text(version / "hparams.yaml", "exp_name: lit\nmodel:\n  architectures: dbnet\n")
    write_checkpoint(version / "checkpoints" / "epoch=0-step=5.ckpt")
    entry = only_entry(tmp_path)
    assert entry.config_path == "lightning_logs/version_0/hparams.yaml"
    assert entry.architecture == "dbnet"
    assert entry.provenance["architecture"] == "hparams.yaml model.architectures"
    assert entry.epoch == 0  # epoch 0 is a real epoch
    assert entry.exp_name == "lit"


def test_broken_config_is_a_warning_and_next_candidate_is_used(
    tmp_path: Path, write_checkpoint
) -> None:
    run = tmp_path / "run"
    write_text(run / ".hydra" / "config.yaml", "model: [unclosed\n")
    write_text(run / "config.yaml", "model:\n  architecture: fallback\n")
    write_checkpoint(run / "ckpts" / "last.ckpt")
    entry = only_entry(tmp_path)
    assert entry.architecture == "fallback"
    assert entry.config_path == "run/config.yaml"
    warning = next(i for i in entry.issues if i.code == "config.unreadable")
    assert warning.severity == "warning"
    assert "run/.hydra/config.yaml" in warning.message


def test_hostile_config_runs_nothing(tmp_path: Path, write_checkpoint) -> None:
    marker = tmp_path / "MARKER"
    run = tmp_path / "run"
    write_text(
        run / ".hydra" / "config.yaml",
        f"model: !!python/object/apply:os.system ['touch {marker}']\n",
    )
    write_checkpoint(run / "checkpoints" / "last.ckpt")
    entry = only_entry(tmp_path)
    assert not marker.exists()
    assert entry.config_path is None
    assert any(i.code == "config.unreadable" for i in entry.issues)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({"architecture": "dbnet"}, "dbnet"),
        ({"architectures": "craft"}, "craft"),
        ({"architectures": ["psenet"]}, "psenet"),
        ({"architectures": {"name": "pan", "_target_": "ocr.models.PAN"}}, "pan"),
        ({"_target_": "ocr.models.OCRModel"}, None),
        ({"architectures": {"_target_": "ocr.models.OCRModel"}}, None),
        ({"architecture": "unknown"}, None),
        ({"architecture": "${oc.env:ARCH}"}, None),
    ],
)
def test_architecture_key_paths(model: dict[str, object], expected: str | None) -> None:
    tier = read_config_fields({"model": model}, "hydra config")
    assert tier.values.get("architecture") == expected


def test_component_overrides_win() -> None:
    data = {
        "model": {
            "encoder": {"model_name": "resnet18"},
            "decoder": {"name": "fpn"},
            "component_overrides": {
                "encoder": {"model_name": "resnet50"},
                "decoder": {"name": "pan_decoder"},
                "head": {"name": "db_head"},
                "loss": {"name": "db_loss"},
            },
        }
    }
    tier = read_config_fields(data, "hydra config")
    assert tier.values["backbone"] == "resnet50"
    assert tier.values["decoder"] == "pan_decoder"
    assert tier.values["head"] == "db_head"
    assert tier.values["loss"] == "db_loss"
    assert (
        tier.provenance["backbone"] == "hydra config model.component_overrides.encoder.model_name"
    )


def test_interpolation_and_odd_values() -> None:
    data = {
        "name": "exp-from-ref",
        "exp_name": "${name}",
        "trainer": {"max_epochs": -1},
        "callbacks": {"model_checkpoint": {"mode": "MIN", "save_top_k": True, "save_last": "link"}},
        "logger": {"wandb": {"id": 12345}},
    }
    tier = read_config_fields(data, "config.yaml")
    assert tier.values["exp_name"] == "exp-from-ref"
    assert "max_epochs" not in tier.values  # -1: unlimited, not a number of epochs
    assert tier.values["monitor_mode"] == "min"
    assert "save_top_k" not in tier.values  # a bool is not a count
    assert tier.values["save_last"] == "link"
    assert tier.values["wandb_run_id"] == "12345"


def test_reader_works_on_hyper_parameters() -> None:
    tier = read_config_fields({"model": {"architecture": "dbnet"}}, HPARAMS_LABEL)
    assert tier.kind == "config"
    assert tier.provenance["architecture"] == "checkpoint hyper_parameters model.architecture"
