"""Common keys outside Lightning reach the entry's fields, each with provenance.

Real files (``keys_corpus.write_corpus``): the ImageNet example's ``save_checkpoint``, timm's
``CheckpointSaver``, mmcv's ``meta``, safetensors ``__metadata__``, a Lightning weights-only run
with the metric in its file names, and the links those tools make.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from keys_corpus import Corpus
from keys_recovery import CHECKED_FIELDS, measure, same

from ckpt_tui import build_catalog


def run_cli(*args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def listed(keys_corpus: Corpus) -> dict[str, dict[str, Any]]:
    """``list --json`` of the whole tree, by checkpoint path."""
    return {
        e["checkpoint_path"]: e
        for e in run_cli("list", str(keys_corpus.root), "--json", "--no-cache")
    }


def test_list_json_has_the_values_the_files_hold(
    listed: dict[str, dict[str, Any]], keys_corpus: Corpus
) -> None:
    for path, truth in keys_corpus.expected.items():
        entry = listed[path]
        for name, value in truth.items():
            if name in entry:  # max_epochs and additional_metrics are not in the JSON contract
                assert same(entry[name], value), (path, name, entry[name], value)
        assert entry["safety"] == "safe", path
        assert not [i for i in entry["issues"] if i["severity"] != "info"], (path, entry["issues"])


def test_no_field_holds_a_value_the_file_does_not(
    listed: dict[str, dict[str, Any]], keys_corpus: Corpus
) -> None:
    result = measure(list(listed.values()), keys_corpus.expected)
    assert result.wrong == []


def test_the_imagenet_epoch_is_the_index_of_the_last_epoch(
    listed: dict[str, dict[str, Any]],
) -> None:
    # The example saves epoch + 1 after the 0-based epoch it finished: 3 after three epochs.
    entry = listed["imagenet/checkpoint.pth"]
    assert entry["epoch"] == 2
    assert entry["provenance"]["epoch"] == (
        "checkpoint epoch 3 - 1 (the ImageNet example saves the epochs completed)"
    )
    assert entry["provenance"]["architecture"] == "checkpoint arch"
    assert entry["provenance"]["monitor_value"] == "checkpoint best_acc1"
    fork = listed["imagenet_fork/checkpoint.pth"]
    assert fork["provenance"]["monitor"].startswith("checkpoint best_prec1")
    assert fork["epoch"] == 9 and fork["safety"] == "safe"  # a legacy-format file, read alike


def test_timm_values_and_provenance(listed: dict[str, dict[str, Any]]) -> None:
    entry = listed["timm/checkpoint-1.pth"]
    assert entry["provenance"]["architecture"] == "checkpoint args.model"
    assert entry["provenance"]["monitor"] == "checkpoint args.eval_metric"
    assert entry["provenance"]["monitor_value"] == "checkpoint metric"
    assert entry["provenance"]["epoch"] == "checkpoint epoch (timm CheckpointSaver version 2)"
    old = listed["timm/old_timm.pth"]
    assert old["provenance"]["epoch"].startswith("checkpoint epoch 5 - 1 (timm before version 2")


def test_mmcv_meta_values_and_provenance(listed: dict[str, dict[str, Any]]) -> None:
    entry = listed["mmcv/epoch_12.pth"]
    provenance = entry["provenance"]
    assert provenance["epoch"] == "checkpoint meta.epoch 12 - 1 (mmcv saves the epochs completed)"
    assert provenance["global_step"] == "checkpoint meta.iter"
    assert provenance["monitor_value"] == "checkpoint meta.hook_msgs.best_score"
    assert provenance["monitor_mode"] == (
        "checkpoint meta.hook_msgs.best_ckpt best_bbox_mAP_epoch_11.pth"
        " (mmcv's rule for bbox_mAP: greater is better)"
    )
    assert provenance["architecture"] == "checkpoint meta.config model type= (text, not run)"
    assert provenance["created_at"] == "checkpoint meta.time"
    # An iteration-based save records the running epoch, not the epochs completed: unknown.
    assert listed["mmcv/iter_8000.pth"]["epoch"] is None


def test_safetensors_metadata(listed: dict[str, dict[str, Any]], keys_corpus: Corpus) -> None:
    entry = listed["safetensors/model.safetensors"]
    assert entry["provenance"]["epoch"] == "safetensors __metadata__ epoch"
    assert entry["provenance"]["global_step"] == "safetensors __metadata__ global_step"
    assert entry["backbone"] is None  # an architecture name in metadata says nothing more
    (built,) = [
        e
        for e in build_catalog(keys_corpus.root, use_cache=False).entries
        if e.file_name.endswith("rs")
    ]
    assert built.additional_metrics == {"val_acc": 0.9125}


def test_lightning_weights_only_metric_comes_from_the_name(
    listed: dict[str, dict[str, Any]], keys_corpus: Corpus
) -> None:
    name = "lightning/epoch=0-step=2-val_acc=0.4688.ckpt"
    entry = listed[name]
    assert entry["monitor"] == "val_acc" and entry["monitor_value"] == 0.4688
    assert entry["provenance"]["monitor_value"] == "path epoch=0-step=2-val_acc=0.4688"
    entries = {
        e.checkpoint_path: e for e in build_catalog(keys_corpus.root, use_cache=False).entries
    }
    assert entries[name].additional_metrics == {"val_acc": 0.4688}


def test_a_link_gets_its_targets_values_and_names_it(
    listed: dict[str, dict[str, Any]], keys_corpus: Corpus
) -> None:
    last = listed["lightning/last.ckpt"]
    assert last["epoch"] == 1 and last["monitor_value"] == 0.625
    assert last["provenance"]["monitor_value"] == ("path link target epoch=1-step=4-val_acc=0.6250")
    latest = listed["mmcv/latest.pth"]
    assert latest["epoch"] == listed["mmcv/epoch_12.pth"]["epoch"] == 11
    entries = {
        e.checkpoint_path: e for e in build_catalog(keys_corpus.root, use_cache=False).entries
    }
    assert entries["mmcv/latest.pth"].details["link_to"] == "epoch_12.pth"
    assert entries["lightning/last.ckpt"].details["link_to"] == "epoch=1-step=4-val_acc=0.6250.ckpt"
    assert "link_to" not in entries["mmcv/epoch_12.pth"].details


def test_a_link_to_another_folder_names_the_target_relative_to_it(tmp_path: Path) -> None:
    import torch

    (tmp_path / "run" / "a").mkdir(parents=True)
    (tmp_path / "run" / "b").mkdir()
    torch.save({"epoch": 4, "state_dict": {"w": torch.zeros(1)}}, tmp_path / "run/a/epoch=4.ckpt")
    (tmp_path / "run" / "b" / "last.ckpt").symlink_to("../a/epoch=4.ckpt")
    entries = {e.checkpoint_path: e for e in build_catalog(tmp_path, use_cache=False).entries}
    link = entries["run/b/last.ckpt"]
    assert link.details["link_to"] == "../a/epoch=4.ckpt"
    assert link.epoch == 4 and link.provenance["epoch"] == "checkpoint epoch"


@pytest.mark.parametrize(
    ("path", "epoch", "recorded"),
    [("imagenet/checkpoint.pth.tar", 2, 3), ("timm/last.pth.tar", 1, 1)],
)
def test_show_reads_pth_tar_files(
    keys_corpus: Corpus, path: str, epoch: int, recorded: int
) -> None:
    data = run_cli("show", str(keys_corpus.root / path), "--json", "--no-cache")
    assert data["epoch"] == epoch
    assert data["details"]["common_keys"]["recorded_epoch"] == recorded
    assert data["architecture"] in ("resnet18", "resnet50")


def test_show_names_the_link_target(keys_corpus: Corpus) -> None:
    data = run_cli("show", str(keys_corpus.root / "mmcv" / "latest.pth"), "--json", "--no-cache")
    assert data["details"]["link_to"] == "epoch_12.pth"
    assert data["details"]["common_keys"]["meta"]["best_ckpt"].endswith(
        "best_bbox_mAP_epoch_11.pth"
    )
    assert data["epoch"] == 11 and data["global_step"] == 3000


def test_fields_checked_cover_the_truth(keys_corpus: Corpus) -> None:
    # The measurement compares every field the corpus's truth names (a typo would hide a miss).
    for truth in keys_corpus.expected.values():
        for name in truth:
            assert name in CHECKED_FIELDS or name.startswith("additional_metrics."), name
