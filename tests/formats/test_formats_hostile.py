"""Hostile and broken folder checkpoints: one entry each, never a crash, nothing run."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
from formats_helpers import entries_by_path
from payloads import MarkerPayload


@pytest.fixture
def trainer_copy(formats_tree: Path, tmp_path: Path) -> Path:
    """A copy of a real Trainer checkpoint folder, as ``runs/bert/checkpoint-4``."""
    copy = tmp_path / "runs" / "bert" / "checkpoint-4"
    shutil.copytree(formats_tree / "bert-run" / "checkpoint-4", copy)
    return copy


def test_payloads_in_every_pickle_of_a_folder_are_all_named(
    trainer_copy: Path, tmp_path: Path
) -> None:
    import torch

    marker = tmp_path / "marker"
    torch.save(MarkerPayload(marker), trainer_copy / "training_args.bin")
    (trainer_copy / "scheduler.pt").write_bytes(pickle.dumps(MarkerPayload(marker), protocol=2))
    entry = entries_by_path(tmp_path)["runs/bert/checkpoint-4"]
    assert not marker.exists()
    assert entry.safety == "unsafe" and "os.system" in entry.unsafe_globals
    named = {i.message.partition(":")[0] for i in entry.issues if i.code.startswith("security.")}
    assert {"training_args.bin", "scheduler.pt"} <= named
    assert entry.epoch == 2  # the description still comes from trainer_state.json


def test_a_hostile_dcp_metadata_is_unsafe_and_never_run(formats_tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "step_7"
    shutil.copytree(formats_tree / "dcp-run" / "checkpoints" / "step_7", copy)
    marker = tmp_path / "marker"
    (copy / ".metadata").write_bytes(pickle.dumps(MarkerPayload(marker), protocol=4))
    entry = entries_by_path(tmp_path)["step_7"]
    assert not marker.exists()
    assert entry.format == "dcp" and entry.safety == "unsafe"
    assert entry.unsafe_globals == ["os.system"]
    assert "state_dict" not in entry.details["folder"]


@pytest.mark.parametrize(
    "text",
    [
        '{"epoch": 2.0, "global_step": ',  # truncated
        '{"epoch": "two", "global_step": -4, "log_history": "x", "best_metric": [1]}',
        '{"log_history": [1, null, {"eval_loss": "nan", "step": {}}], "epoch": 1e999}',
        "[" * 5000 + "]" * 5000,  # nested too deeply
        '{"global_step": ' + "9" * 5000 + "}",  # a huge number
        '{"epoch": 1e300, "global_step": 5.5, "num_train_epochs": 1e300}',
        "",
    ],
)
def test_a_bad_trainer_state_costs_its_values_only(
    trainer_copy: Path, tmp_path: Path, text: str
) -> None:
    (trainer_copy / "trainer_state.json").write_text(text)
    entry = entries_by_path(tmp_path)["runs/bert/checkpoint-4"]
    assert entry.format == "hf-trainer"
    assert entry.global_step is None and entry.epoch is None
    assert entry.architecture == "BertForSequenceClassification"


def test_a_huge_trainer_state_is_not_read(trainer_copy: Path, tmp_path: Path) -> None:
    state = json.loads((trainer_copy / "trainer_state.json").read_text())
    state["log_history"] = [{"loss": 0.5, "step": i} for i in range(400_000)]
    (trainer_copy / "trainer_state.json").write_text(json.dumps(state))
    entry = entries_by_path(tmp_path)["runs/bert/checkpoint-4"]
    assert entry.epoch is None
    assert any("trainer_state.json" in i.message for i in entry.issues if i.severity == "warning")


def test_a_large_trainer_state_waits_for_the_checkpoint_tier(
    trainer_copy: Path, tmp_path: Path
) -> None:
    state = json.loads((trainer_copy / "trainer_state.json").read_text())
    state["log_history"] += [{"loss": 0.5, "step": i} for i in range(20_000)]
    (trainer_copy / "trainer_state.json").write_text(json.dumps(state))
    quick = entries_by_path(tmp_path, inspect=False)["runs/bert/checkpoint-4"]
    assert quick.epoch is None and not quick.issues
    assert entries_by_path(tmp_path)["runs/bert/checkpoint-4"].epoch == 2


def test_wrong_types_in_config_and_index_are_ignored(formats_tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(formats_tree / "hf" / "bert-safetensors", copy)
    (copy / "config.json").write_text('{"architectures": {"a": 1}, "model_type": 7}')
    (copy / "model.safetensors.index.json").write_text('{"weight_map": {"x": 3, "y": null}}')
    entry = entries_by_path(tmp_path)["model"]
    assert entry.format == "hf-model" and entry.architecture is None
    assert not entry.has_errors


def test_a_link_loop_inside_a_folder_checkpoint(trainer_copy: Path, tmp_path: Path) -> None:
    (trainer_copy / "loop").symlink_to(trainer_copy, target_is_directory=True)
    (trainer_copy / "up").symlink_to(tmp_path, target_is_directory=True)
    entries = entries_by_path(tmp_path)
    assert list(entries) == ["runs/bert/checkpoint-4"]


def test_a_latest_that_leaves_the_folder_is_no_deepspeed_tag(
    formats_tree: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "ds.ckpt"
    shutil.copytree(formats_tree / "ds-run" / "checkpoints" / "epoch=1-step=8.ckpt", copy)
    (copy / "latest").write_text("../../etc")
    entries = entries_by_path(tmp_path)
    # Not a folder checkpoint then: its torch files are listed as files.
    assert "ds.ckpt" not in entries
    assert "ds.ckpt/checkpoint/mp_rank_00_model_states.pt" in entries


def test_a_fifo_named_trainer_state_never_blocks(trainer_copy: Path, tmp_path: Path) -> None:
    (trainer_copy / "trainer_state.json").unlink()
    os.mkfifo(trainer_copy / "trainer_state.json")
    entry = entries_by_path(tmp_path)["runs/bert/checkpoint-4"]
    assert entry.format == "hf-trainer" and entry.epoch is None


def test_a_truncated_shard_makes_the_folder_unreadable(formats_tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(formats_tree / "hf" / "bert-bin", copy)
    shard = next(copy.glob("pytorch_model-00001-of-*.bin"))
    shard.write_bytes(shard.read_bytes()[:300])
    entry = entries_by_path(tmp_path)["model"]
    assert entry.safety == "unreadable" and entry.has_errors
    assert any(i.message.startswith(shard.name + ":") for i in entry.issues)


def test_bin_files_are_listed_by_their_contents(formats_tree: Path, tmp_path: Path) -> None:
    from ckpt_tui.catalog.api import build_catalog

    shutil.copyfile(formats_tree / "loose" / "optimizer.pt", tmp_path / "weights.bin")
    (tmp_path / "tokens.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.bin").write_bytes(b"")
    os.mkfifo(tmp_path / "pipe.bin")
    catalog = build_catalog(tmp_path, use_cache=False)
    assert [e.checkpoint_path for e in catalog.entries] == ["weights.bin"]
    assert [i.code for i in catalog.scan_issues] == ["scan.not-a-file"]
