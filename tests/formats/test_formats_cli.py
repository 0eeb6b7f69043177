"""The command line on folder checkpoints: show, list, convert (a sidecar beside the folder)
and the cache."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from formats_helpers import entries_by_path, json_list, run_cli


@pytest.fixture
def trainer_run(formats_tree: Path, tmp_path: Path) -> Path:
    """A copy of the Trainer run as ``outputs/bert-run`` (root ``outputs``)."""
    run = tmp_path / "outputs" / "bert-run"
    shutil.copytree(formats_tree / "bert-run", run)
    return run


def test_show_json_of_a_trainer_folder(formats_tree: Path) -> None:
    folder = formats_tree / "bert-run" / "checkpoint-4"
    result = run_cli("show", str(folder), "--json", "--no-cache")
    assert result.returncode == 1, result.stderr  # an unsafe pickle is an error issue
    data = json.loads(result.stdout)
    assert data["format"] == "hf-trainer" and data["file_name"] == "checkpoint-4"
    assert data["checkpoint_path"].endswith("bert-run/checkpoint-4")
    assert data["safety"] == "unsafe" and data["epoch"] == 2
    files = dict(data["details"]["folder"]["files"])
    assert files["trainer_state.json"] == (folder / "trainer_state.json").stat().st_size
    assert data["details"]["folder"]["trainer"]["best_model_checkpoint"].endswith("checkpoint-2")


def test_show_prints_files_best_metric_and_eval_history(formats_tree: Path) -> None:
    result = run_cli("show", str(formats_tree / "bert-run" / "checkpoint-6"), "--no-cache")
    out = result.stdout
    assert "hf-trainer" in out and "training_args.bin" in out and "model.safetensors" in out
    assert "best metric" in out and "checkpoint-2" in out
    assert "eval history (3 evaluations)" in out and "eval_accuracy" in out
    assert "training_args.bin: names globals outside the allowlist" in " ".join(out.split())


def test_show_refuses_a_folder_that_is_no_checkpoint(formats_tree: Path) -> None:
    result = run_cli("show", str(formats_tree / "archives"))
    assert result.returncode == 2 and "not a checkpoint folder" in result.stderr


def test_convert_writes_the_sidecar_beside_the_folder(trainer_run: Path) -> None:
    root = trainer_run.parent
    before = {e["checkpoint_path"]: e for e in json_list(root)}
    result = run_cli("convert", str(root), "--force", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    sidecar = trainer_run / "checkpoint-4.metadata.yaml"
    assert sidecar.is_file()
    assert not any(
        p.name.endswith(".metadata.yaml") for p in (trainer_run / "checkpoint-4").iterdir()
    )
    after = {e["checkpoint_path"]: e for e in json_list(root, "--verify")}
    entry = after["bert-run/checkpoint-4"]
    assert (
        entry["source"] == "sidecar"
        and entry["sidecar_path"] == "bert-run/checkpoint-4.metadata.yaml"
    )
    # The verdict belongs to the folder's files: a sidecar never hides it.
    assert entry["safety"] == "unsafe" and entry["format"] == "hf-trainer"
    for name in ("epoch", "global_step", "architecture", "monitor", "monitor_value", "exp_name"):
        assert entry[name] == before["bert-run/checkpoint-4"][name], name


def test_validate_finds_the_sidecar_beside_a_folder(trainer_run: Path) -> None:
    root = trainer_run.parent
    assert run_cli("convert", str(root), "--force").returncode == 0
    result = run_cli("validate", str(root), "--json")
    report = json.loads(result.stdout)
    assert "sidecar.orphan" not in result.stdout  # each sidecar belongs to its folder
    assert len(report["results"]) == 3


def test_the_cache_knows_a_folder_by_all_its_files(trainer_run: Path) -> None:
    root = trainer_run.parent
    first = entries_by_path(root)["bert-run/checkpoint-4"]
    again = entries_by_path(root)["bert-run/checkpoint-4"]
    assert again == first
    state_file = trainer_run / "checkpoint-4" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    state["global_step"] = 5
    stat = state_file.stat()
    state_file.write_text(json.dumps(state))
    os.utime(state_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: ctime tells
    assert entries_by_path(root)["bert-run/checkpoint-4"].global_step == 5
