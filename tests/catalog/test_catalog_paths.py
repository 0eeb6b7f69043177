"""The path tier: epoch/step name patterns, metrics in names, words, experiment names."""

from __future__ import annotations

from pathlib import Path

import pytest

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.sources.path import checkpoint_name, parse_name, path_tier


@pytest.mark.parametrize(
    ("name", "epoch", "step"),
    [
        ("epoch=67-step=18564", 67, 18564),
        ("epoch_09_step_002730", 9, 2730),
        ("epoch-9-step-1030", 9, 1030),
        ("epoch-03_step-000103", 3, 103),
        ("epoch_epoch_22_step_step_001932_20251009_015037", 22, 1932),
        ("epoch=0-step=0", 0, 0),
        ("epoch=3-step=100-v1", 3, 100),
        ("model-epoch=05-val_loss=0.23", 5, None),
    ],
)
def test_epoch_and_step_patterns(name: str, epoch: int, step: int | None) -> None:
    facts = parse_name(name)
    assert (facts.epoch, facts.step) == (epoch, step)


@pytest.mark.parametrize("name", ["best", "best-v1", "last", "last-v2", "model", "final_weights"])
def test_names_without_epoch_are_null_not_fake(name: str) -> None:
    facts = parse_name(name)
    assert facts.epoch is None
    assert facts.step is None


def test_metric_in_name() -> None:
    tier = path_tier(
        "run/checkpoints/best-hmean-0.8920.ckpt", "/x/run/checkpoints/best-hmean-0.8920.ckpt"
    )
    assert tier.values["hmean"] == pytest.approx(0.892)
    assert tier.provenance["hmean"] == "path best-hmean-0.8920"
    assert "epoch" not in tier.values


def test_metric_with_slash_makes_subfolders(tmp_path: Path, write_checkpoint) -> None:
    # Lightning's filename "{epoch}-{step}-{val/hmean:.4f}" writes a folder per "/".
    rel = "run/checkpoints/epoch=3-step=100-val/hmean=0.8123.ckpt"
    write_checkpoint(tmp_path / rel)
    write_checkpoint(tmp_path / "run/checkpoints/val/hmean=0.8.ckpt")
    catalog = build_catalog(tmp_path, use_cache=False, inspect=False)
    by_path = {e.checkpoint_path: e for e in catalog.entries}
    entry = by_path[rel]
    assert (entry.epoch, entry.global_step) == (3, 100)
    assert entry.hmean == pytest.approx(0.8123)
    assert entry.provenance["epoch"] == "path epoch=3-step=100-val/hmean=0.8123"
    assert entry.exp_name == "run"
    short = by_path["run/checkpoints/val/hmean=0.8.ckpt"]
    assert short.hmean == pytest.approx(0.8)
    assert short.epoch is None


def test_checkpoint_name_joins_only_metric_folders() -> None:
    assert checkpoint_name(["a", "epoch=3-val", "hmean=0.8.ckpt"]) == "epoch=3-val/hmean=0.8"
    assert checkpoint_name(["a", "checkpoints", "epoch=3.ckpt"]) == "epoch=3"
    assert checkpoint_name(["hmean=0.8.ckpt"]) == "hmean=0.8"


def test_architecture_and_encoder_from_whole_words() -> None:
    tier = path_tier(
        "dbnetpp_mobilenetv3_small_050/checkpoints/last.ckpt",
        "/o/dbnetpp_mobilenetv3_small_050/checkpoints/last.ckpt",
    )
    assert tier.values["architecture"] == "dbnetpp"
    assert tier.values["backbone"] == "mobilenetv3_small_050"
    assert tier.provenance["architecture"] == "path dbnetpp_mobilenetv3_small_050"


@pytest.mark.parametrize(
    ("rel", "arch", "encoder"),
    [
        ("company/panorama/checkpoints/best.ckpt", None, None),  # "pan" inside words
        ("expand/resnet500/last.ckpt", None, None),
        ("craft-resnet34/checkpoints/last.ckpt", "craft", "resnet34"),
        ("dbnet-resnet50-pan-20251018/checkpoints/e.ckpt", "dbnet", "resnet50"),
        ("pan_decoder/x/checkpoints/e.ckpt", None, None),  # a decoder, not the architecture
        ("runs/DBNet++_ResNet101/checkpoints/e.ckpt", "dbnetpp", "resnet101"),
        ("psenet_efficientnet_b3/checkpoints/e.ckpt", "psenet", "efficientnet_b3"),
        ("pan-mobilenetv3_large_100/checkpoints/e.ckpt", "pan", "mobilenetv3_large_100"),
    ],
)
def test_words_match_whole_tokens(rel: str, arch: str | None, encoder: str | None) -> None:
    tier = path_tier(rel, "/data/" + rel)
    assert tier.values.get("architecture") == arch
    assert tier.values.get("backbone") == encoder


@pytest.mark.parametrize(
    ("rel", "exp", "rule"),
    [
        ("my-run/checkpoints/e.ckpt", "my-run", "path parent of checkpoints folder"),
        (
            "my-run/checkpoints/sub/checkpoints/e.ckpt",
            "sub",
            "path parent of checkpoints folder",
        ),
        (
            "my-run/checkpoints/epoch=1-val/hmean=0.5.ckpt",
            "my-run",
            "path parent of checkpoints folder",
        ),
        ("outputs/run7/weights/e.ckpt", "run7", "path parent of checkpoints folder"),
        ("outputs/run7/e.ckpt", "run7", "path checkpoint's folder"),
        ("e.ckpt", None, None),
        ("checkpoints/e.ckpt", None, None),
        ("sweep_model=[dbnet,craft]/checkpoints/e.ckpt", None, None),
    ],
)
def test_exp_name_rules(rel: str, exp: str | None, rule: str | None) -> None:
    # The run folder; never the scanned root (/data here) and never a sweep list.
    tier = path_tier(rel, "/data/" + rel)
    assert tier.values.get("exp_name") == exp
    assert tier.provenance.get("exp_name") == rule


def test_a_sweep_list_segment_gives_no_architecture() -> None:
    rel = "sweep_model=[dbnet,craft]/run/checkpoints/e.ckpt"
    tier = path_tier(rel, "/data/" + rel)
    assert "architecture" not in tier.values
    assert tier.values["exp_name"] == "run"


def test_percent_hmean_is_not_guessed() -> None:
    tier = path_tier("r/checkpoints/best-hmean-89.2.ckpt", "/d/r/checkpoints/best-hmean-89.2.ckpt")
    assert "hmean" not in tier.values


def test_other_metrics_go_to_additional_metrics() -> None:
    tier = path_tier(
        "r/checkpoints/epoch=1-train_acc=0.5-val_loss=0.25.ckpt",
        "/d/r/checkpoints/epoch=1-train_acc=0.5-val_loss=0.25.ckpt",
    )
    assert tier.values["validation_loss"] == pytest.approx(0.25)
    assert tier.values["additional_metrics"] == {"train_acc": 0.5}
