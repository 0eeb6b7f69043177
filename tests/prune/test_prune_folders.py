"""Folder checkpoints go whole — only their own files — or not at all.

The folders are written by the real libraries: ``save_pretrained`` of a tiny transformers
model with the Trainer's companion files (``torch.save`` of the optimizer state, the JSON
trainer state), and ``torch.distributed.checkpoint.save``. Their entries are given to the
planner directly (as a catalog that lists folder checkpoints gives them).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from prune_helpers import files_under

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.prune.build import plan_prune
from ckpt_tui.prune.execute import execute_plan
from ckpt_tui.prune.plan import PruneOptions, PrunePlan


@pytest.fixture(scope="session")
def hf_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Hugging Face Trainer-style ``checkpoint-N`` folder, written once."""
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("hf") / "checkpoint"
    config = BertConfig(
        vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=8, max_position_embeddings=8,
    )  # fmt: skip
    BertModel(config).save_pretrained(folder)
    torch.save({"state": {}, "param_groups": [{"lr": 0.1}]}, folder / "optimizer.pt")
    torch.save({"python": 1}, folder / "rng_state.pth")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": 4, "epoch": 1.0}))
    return folder


@pytest.fixture(scope="session")
def dcp_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``torch.distributed.checkpoint`` folder, written once."""
    import torch
    import torch.distributed.checkpoint as dcp

    folder = tmp_path_factory.mktemp("dcp") / "step"
    dcp.save({"weight": torch.zeros(4, 4)}, checkpoint_id=str(folder))
    return folder


def folder_entry(root: Path, rel: str, step: int, hmean: float) -> CheckpointCatalogEntry:
    path = root / rel
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return CheckpointCatalogEntry(
        checkpoint_path=rel, abs_path=str(path), exp_name="hf", global_step=step,
        hmean=hmean, size_bytes=size, mtime=path.stat().st_mtime,
    )  # fmt: skip


def hf_tree(
    root: Path, source: Path, steps: tuple[int, ...] = (4, 8)
) -> list[CheckpointCatalogEntry]:
    entries = []
    for index, step in enumerate(steps):
        rel = f"hf_run/checkpoint-{step}"
        shutil.copytree(source, root / rel)
        entries.append(folder_entry(root, rel, step, 0.5 + index / 10))
    return entries


def plan_for(root: Path, entries: list[CheckpointCatalogEntry]) -> PrunePlan:
    return plan_prune(str(root), PruneOptions(keep_best=1, keep_last=1), entries=entries)


def test_an_old_folder_checkpoint_goes_whole(tmp_path: Path, hf_source: Path) -> None:
    entries = hf_tree(tmp_path, hf_source, (4, 8, 12))
    (tmp_path / "hf_run/README.md").write_text("the run's own file")
    # Make the middle one the best: the oldest goes.
    entries[1].hmean = 0.9
    plan = plan_for(tmp_path, entries)
    assert [i.checkpoint_path for i in plan.deleted] == ["hf_run/checkpoint-4"]
    item = plan.deleted[0]
    assert item.kind == "folder"
    assert {rel for rel, _ in item.members} == set(os.listdir(hf_source))
    assert item.reclaimed_bytes == entries[0].size_bytes
    report = execute_plan(plan)
    assert report.ok, report.results
    assert not os.path.lexists(tmp_path / "hf_run/checkpoint-4")
    assert (tmp_path / "hf_run/checkpoint-8/model.safetensors").exists()
    assert (tmp_path / "hf_run/README.md").read_text() == "the run's own file"


def test_a_dcp_folder_with_a_sub_folder_goes_whole(tmp_path: Path, dcp_source: Path) -> None:
    entries = []
    for index, step in enumerate((1, 2)):
        rel = f"dcp_run/step-{step}"
        shutil.copytree(dcp_source, tmp_path / rel)
        (tmp_path / rel / "shards").mkdir()
        shutil.copy(next(dcp_source.glob("*.distcp")), tmp_path / rel / "shards" / "extra.distcp")
        entries.append(folder_entry(tmp_path, rel, step, 0.9 - index / 10))
    plan = plan_for(tmp_path, entries)
    assert [i.checkpoint_path for i in plan.deleted] == []  # best and last: both stay
    plan = plan_prune(
        str(tmp_path), PruneOptions(keep_best=0, keep_last=1, by="step"), entries=entries
    )
    assert [i.checkpoint_path for i in plan.deleted] == []  # the first is the experiment's best
    entries[0].hmean = 0.1
    plan = plan_for(tmp_path, entries)
    assert [i.checkpoint_path for i in plan.deleted] == ["dcp_run/step-1"]
    assert execute_plan(plan).ok
    assert os.listdir(tmp_path / "dcp_run") == ["step-2"]
    assert (tmp_path / "dcp_run/step-2/shards/extra.distcp").exists()


@pytest.mark.parametrize(
    ("intruder", "why"),
    [
        ("nested", "holds another checkpoint or run (checkpoint-99)"),
        ("link", "holds a link (escape.json)"),
        ("unexpected", "holds an unexpected file (photo.jpg)"),
        ("deep", "holds nested folders (a/b)"),
        ("run", "holds another checkpoint or run (.hydra)"),
    ],
)
def test_a_folder_holding_anything_unexpected_is_kept(
    tmp_path: Path, hf_source: Path, intruder: str, why: str
) -> None:
    entries = hf_tree(tmp_path, hf_source)
    old = tmp_path / "hf_run/checkpoint-4"
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    if intruder == "nested":
        shutil.copytree(hf_source, old / "checkpoint-99")
    elif intruder == "link":
        (old / "escape.json").symlink_to(outside)
    elif intruder == "unexpected":
        (old / "photo.jpg").write_bytes(b"\xff\xd8")
    elif intruder == "deep":
        (old / "a" / "b").mkdir(parents=True)
    else:
        (old / ".hydra").mkdir()
    before = files_under(old)
    plan = plan_for(tmp_path, entries)
    item = next(i for i in plan.items if i.checkpoint_path == "hf_run/checkpoint-4")
    assert item.action == "keep" and why in item.reasons[0]
    assert execute_plan(plan).ok
    assert files_under(old) == before and outside.read_text() == "{}"


def test_a_folder_that_holds_another_entry_is_kept(tmp_path: Path, hf_source: Path) -> None:
    entries = hf_tree(tmp_path, hf_source)
    inner = tmp_path / "hf_run/checkpoint-4/model.safetensors"
    entries.append(
        CheckpointCatalogEntry(
            checkpoint_path="hf_run/checkpoint-4/model.safetensors",
            abs_path=str(inner),
            exp_name="hf",
            size_bytes=inner.stat().st_size,
        )
    )
    plan = plan_for(tmp_path, entries)
    item = next(i for i in plan.items if i.checkpoint_path == "hf_run/checkpoint-4")
    assert item.action == "keep" and "holds another checkpoint" in item.reasons[0]


def test_a_file_added_after_planning_keeps_the_folder_whole(
    tmp_path: Path, hf_source: Path
) -> None:
    entries = hf_tree(tmp_path, hf_source)
    plan = plan_for(tmp_path, entries)
    assert [i.checkpoint_path for i in plan.deleted] == ["hf_run/checkpoint-4"]
    old = tmp_path / "hf_run/checkpoint-4"
    (old / "late.json").write_text("{}")
    before = files_under(old)
    report = execute_plan(plan)
    assert report.results[0].outcome == "skipped"
    assert files_under(old) == before


def test_a_plan_file_cannot_pass_a_run_folder_off_as_a_checkpoint(
    tmp_path: Path, hf_source: Path
) -> None:
    entries = hf_tree(tmp_path, hf_source)
    plan = plan_for(tmp_path, entries)
    item = plan.deleted[0]
    # An edited plan: the item's files claimed to include the run's notes and a nested run.
    (tmp_path / "hf_run/checkpoint-4/notes.docx").write_bytes(b"keep")
    (tmp_path / "hf_run/checkpoint-4/.hydra").mkdir()
    members = dict(item.members)
    folder = tmp_path / "hf_run/checkpoint-4"
    from ckpt_tui.prune.facts import lstat_state

    for name in ("notes.docx", ".hydra"):
        state = lstat_state(str(folder / name))
        assert state is not None
        members[name] = state
    item.members = sorted(members.items(), key=lambda m: (-m[0].count("/"), m[0]))
    before = files_under(folder)
    report = execute_plan(plan)
    assert report.results[0].outcome == "failed"
    assert "is not part of a checkpoint folder" in report.results[0].message
    assert files_under(folder) == before
