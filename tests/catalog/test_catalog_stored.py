"""The entry's stored forms: the cache file's row and the in-process cache's packed tuple lose
nothing, and what the in-process cache hands out is never the caller's to change."""

from __future__ import annotations

import gc
from pathlib import Path

from ckpt_tui.catalog import cache
from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.discover import walk
from ckpt_tui.catalog.fingerprint import TreeFingerprint, tree_fingerprint
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.model.stored import dump_entry, load_entry, pack_entry, unpack_entry


def full_entry() -> CheckpointCatalogEntry:
    """An entry with every field away from its default, containers included."""
    return CheckpointCatalogEntry(
        checkpoint_path="run/checkpoints/epoch=3-step=30.ckpt",
        abs_path="/data/run/checkpoints/epoch=3-step=30.ckpt",
        format="lightning",
        exp_name="run",
        architecture="dbnet",
        backbone="resnet50",
        epoch=3,
        global_step=30,
        hmean=0.5,
        precision=-0.0,
        recall=0.25,
        monitor="val/hmean",
        monitor_mode="max",
        monitor_value=0.5,
        created_at="2025-10-17T12:00:00+00:00",
        size_bytes=2048,
        mtime=1.5,
        source="checkpoint",
        sidecar_path="run/checkpoints/epoch=3-step=30.metadata.yaml",
        config_path="run/.hydra/config.yaml",
        safety="unsafe",
        unsafe_globals=["os.system", "builtins.eval"],
        provenance={"epoch": "checkpoint epoch", "hmean": "sidecar metrics.hmean"},
        issues=[
            Issue(severity="error", code="a.b", message="one"),
            Issue(severity="warning", code="c.d", message="two"),
        ],
        decoder="fpn",
        head="db",
        loss="dice",
        max_epochs=100,
        validation_loss=1.25,
        additional_metrics={"f1": 0.75, "iou": 0.5},
        save_top_k=3,
        save_last="link",
        hydra_config_path="run/.hydra/config.yaml",
        wandb_run_id="abc123",
        details={"hparams": {"lr": 0.001, "layers": [1, 2, 3]}, "state_dict": {"tensors": 4}},
    )


def without_place(entry: CheckpointCatalogEntry) -> CheckpointCatalogEntry:
    """``entry`` as the stored forms keep it: the walk restores the path and mtime."""
    entry.abs_path = ""
    entry.mtime = None
    return entry


def test_packed_entries_unpack_equal_to_the_originals() -> None:
    for original in (full_entry(), CheckpointCatalogEntry(checkpoint_path="a.ckpt")):
        expected = without_place(load_entry(dump_entry(original)))
        assert unpack_entry(pack_entry(original, dump_entry(original))) == expected
        loaded = load_entry(dump_entry(original))
        again = unpack_entry(pack_entry(loaded, dump_entry(loaded)))
        assert again == without_place(load_entry(dump_entry(original)))
        assert unpack_entry(pack_entry(original, dump_entry(original))) == without_place(original)


def test_a_loaded_row_equals_the_entry_dumped() -> None:
    original = full_entry()
    assert load_entry(dump_entry(original)) == without_place(full_entry())
    assert str(load_entry(dump_entry(original)).precision) == "-0.0"  # shared floats keep signs


def test_unpacked_entries_are_copies_of_their_own() -> None:
    original = full_entry()
    packed = pack_entry(original, dump_entry(original))
    first = unpack_entry(packed)
    first.issues.append(Issue(severity="error", code="x.y", message="tampered"))
    first.unsafe_globals.append("tampered")
    first.additional_metrics["tampered"] = 1.0
    first.details["hparams"]["lr"] = 1.0
    original.provenance["epoch"] = "tampered"  # the caller's own dict: not what was packed
    second = unpack_entry(packed)
    assert second == without_place(full_entry())
    assert second.issues is not first.issues and second.details is not first.details


def test_a_packed_entry_without_issues_is_left_alone_by_the_garbage_collector() -> None:
    loaded = load_entry(dump_entry(CheckpointCatalogEntry(checkpoint_path="a.ckpt", hmean=0.5)))
    packed = pack_entry(loaded, dump_entry(loaded))
    gc.collect()  # a full pass untracks tuples that hold nothing it needs to follow
    assert not gc.is_tracked(packed)


def test_entries_from_the_in_process_layer_equal_those_from_the_file(
    tmp_path: Path, write_checkpoint, write_sidecar
) -> None:
    root = tmp_path / "outputs"
    for run in ("a", "b"):
        for step in range(3):
            path = write_checkpoint(root / run / "checkpoints" / f"epoch={step}-step={step}.ckpt")
            if step:
                write_sidecar(path, exp_name=run)
    cold = [e.to_json() for e in build_catalog(root).entries]
    memory = [e.to_json() for e in build_catalog(root).entries]  # the in-process layer
    cache.clear_memory()
    disk = [e.to_json() for e in build_catalog(root).entries]  # the file, read by rowid runs
    assert cold == memory == disk
    assert [e.to_json() for e in build_catalog(root, use_cache=False).entries] == cold


def test_a_fingerprint_fed_folder_by_folder_equals_a_fresh_walks(
    tmp_path: Path, write_checkpoint
) -> None:
    root = tmp_path / "outputs"
    write_checkpoint(root / "a" / "epoch=1.ckpt")
    fed = TreeFingerprint()
    for folder, files in walk(str(root), []):
        fed.add(folder, files)
    assert fed.value() == tree_fingerprint(root)
    write_checkpoint(root / "a" / "epoch=2.ckpt")
    assert fed.value() != tree_fingerprint(root)
