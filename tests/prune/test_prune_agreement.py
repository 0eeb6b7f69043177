"""One run folder and one best-of-experiment rule: ``is:best``, the compare screen's choice and
prune's "the experiment's best" agree on real trees (a Lightning tree and the demo tree)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.filter import parse_filter
from ckpt_tui.compare import best_of_experiment
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.prune.build import plan_prune
from ckpt_tui.prune.plan import PruneOptions
from ckpt_tui.sources.layout import folder_kind, is_folder_checkpoint_file, is_nested_run_folder
from ckpt_tui.sources.path import CHECKPOINT_FOLDERS, run_folder

Entry = CheckpointCatalogEntry


def _picks(root: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str], list[Entry]]:
    """Each run folder's best by ``is:best``, by the compare choice and by prune's plan."""
    entries = build_catalog(str(root), use_cache=False).entries
    runs: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        runs[run_folder(entry.checkpoint_path)].append(entry)
    by_filter = {
        run_folder(e.checkpoint_path): e.checkpoint_path
        for e in parse_filter("is:best").select(entries)
    }
    by_compare: dict[str, str] = {}
    for run, members in runs.items():
        for member in members:
            if member.checkpoint_path == by_filter.get(run):
                continue
            choice = best_of_experiment(member, entries)
            if choice.entry is not None:
                by_compare[run] = choice.entry.checkpoint_path
            break
    plan = plan_prune(str(root), PruneOptions(keep_best=0, keep_last=0), entries=entries)
    by_prune = {
        experiment.run: item.checkpoint_path
        for experiment in plan.experiments
        for item in experiment.items
        if any(reason.startswith("the experiment's best by") for reason in item.reasons)
    }
    return by_filter, by_compare, by_prune, entries


def _agree(root: Path) -> Sequence[str]:
    by_filter, by_compare, by_prune, entries = _picks(root)
    assert by_filter == by_prune
    # Compare needs another checkpoint: a run of one has nothing to be compared with.
    sizes = Counter(run_folder(e.checkpoint_path) for e in entries)
    assert by_compare == {run: path for run, path in by_filter.items() if sizes[run] > 1}
    return sorted(by_filter)


def test_three_users_agree_on_a_lightning_tree(trained: Path) -> None:
    by_filter, _, _, entries = _picks(trained)
    assert _agree(trained) == ["max_run", "min_run", "restart_run"]  # plain_run ranks nothing
    values = {e.checkpoint_path: e.monitor_value for e in entries}
    # min_run monitors val/loss in min mode: its smallest loss, not its largest value.
    min_run = [p for p in values if p.startswith("min_run/") and values[p] is not None]
    assert values[by_filter["min_run"]] == min(values[p] for p in min_run)  # type: ignore[type-var]


def test_three_users_agree_on_the_demo_tree(demo_tree_template: Path) -> None:
    runs = _agree(demo_tree_template)
    assert len(runs) >= 3
    assert "" not in runs


def test_a_checkpoint_in_the_root_has_no_run_folder_in_any_user(tmp_path: Path) -> None:
    import torch

    root = tmp_path / "outputs"
    (root / "run" / "checkpoints").mkdir(parents=True)
    for name in ("epoch=1-step=10-hmean=0.5.ckpt", "epoch=2-step=20-hmean=0.7.ckpt"):
        torch.save({"epoch": 1}, root / name)
    torch.save({"epoch": 1}, root / "run" / "checkpoints" / "epoch=1-step=10-hmean=0.9.ckpt")
    entries = build_catalog(str(root), use_cache=False).entries
    top = [e for e in entries if "/" not in e.checkpoint_path]
    assert len(top) == 2 and all(not e.exp_name for e in top)  # no experiment name
    assert {run_folder(e.checkpoint_path) for e in top} == {""}
    best = parse_filter("is:best").select(entries)
    assert [e.checkpoint_path for e in best] == [
        "epoch=2-step=20-hmean=0.7.ckpt",
        "run/checkpoints/epoch=1-step=10-hmean=0.9.ckpt",
    ]
    choice = best_of_experiment(top[0], entries)
    assert choice.entry is top[1] and choice.reason == "best of its experiment by hmean"
    plan = plan_prune(str(root), PruneOptions(keep_best=0, keep_last=0), entries=entries)
    assert [(x.run, sorted(i.checkpoint_path for i in x.items)) for x in plan.experiments] == [
        ("", sorted(e.checkpoint_path for e in top)),
        ("run", ["run/checkpoints/epoch=1-step=10-hmean=0.9.ckpt"]),
    ]
    kept = [i.checkpoint_path for i in plan.experiments[0].items if i.action == "keep"]
    assert kept == ["epoch=2-step=20-hmean=0.7.ckpt"]


def test_run_folder_is_the_path_tiers_experiment(tmp_path: Path) -> None:
    import torch

    paths = [
        "a/checkpoints/x.ckpt",
        "b/weights/best/x.pt",
        "c/x.ckpt",
        "d/models/epoch=3-step=100-val/hmean=0.81.ckpt",
        "checkpoints/x.ckpt",
        "x.ckpt",
    ]
    for rel in paths:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"epoch": 1}, tmp_path / rel)
    entries = build_catalog(str(tmp_path), use_cache=False).entries
    named = {e.checkpoint_path: (run_folder(e.checkpoint_path), e.exp_name or "") for e in entries}
    assert named == {
        "a/checkpoints/x.ckpt": ("a", "a"),
        "b/weights/best/x.pt": ("b", "b"),
        "c/x.ckpt": ("c", "c"),
        "d/models/epoch=3-step=100-val/hmean=0.81.ckpt": ("d", "d"),
        "checkpoints/x.ckpt": ("", ""),
        "x.ckpt": ("", ""),
    }


def test_run_folders() -> None:
    assert run_folder("a/b/checkpoints/x.ckpt") == "a/b"
    assert run_folder("a/weights/x.pt") == "a"
    assert run_folder("a/checkpoints/best/x.ckpt") == "a"  # one folder down
    assert run_folder("a/ckpts/epoch=3-step=100-val/hmean=0.81.ckpt") == "a"  # "/" in a metric
    assert run_folder("checkpoints/x.ckpt") == ""
    assert run_folder("x.ckpt") == ""


def test_folder_checkpoint_files_are_the_ones_layout_recognises() -> None:
    made_of = {
        "hf-trainer": [
            "trainer_state.json",
            "model.safetensors",
            "optimizer.pt",
            "rng_state_3.pth",
        ],
        "dcp": [".metadata", "__0_0.distcp"],
        "hf-model": ["config.json", "pytorch_model-00001-of-00002.bin"],
    }
    for kind, files in made_of.items():
        found = folder_kind(files, [], lambda: None)
        assert found is not None and found[0] == kind
        assert all(is_folder_checkpoint_file(name) for name in files)
    assert not is_folder_checkpoint_file("notes.exe")
    assert all(is_nested_run_folder(name.upper()) for name in CHECKPOINT_FOLDERS)
    assert is_nested_run_folder("checkpoint-500") and not is_nested_run_folder("global_step8")
