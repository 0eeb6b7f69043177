"""The comparison library on real checkpoints: what differs is reported, and only that."""

from __future__ import annotations

from pathlib import Path

from compare_helpers import ENCODER_TENSORS

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.compare import (
    ABSENT,
    TENSOR_PREFIX,
    CheckpointSnapshot,
    TensorShape,
    best_of_experiment,
    compare,
    comparison_json,
    read_snapshot,
)
from ckpt_tui.model.entry import CheckpointCatalogEntry


def snapshots(root: Path, *paths: Path) -> list[CheckpointSnapshot]:
    """The snapshots of ``paths`` as the catalog of ``root`` describes them."""
    entries = {Path(e.abs_path).resolve(): e for e in build_catalog(root, use_cache=False).entries}
    return [read_snapshot(entries[path.resolve()]) for path in paths]


def differing(comparison: object) -> list[tuple[str, str]]:
    return [(row.section, row.key) for row in comparison.rows if row.differs]  # type: ignore[attr-defined]


def test_different_encoders_report_keys_shapes_and_hparams(lightning_pair: tuple[Path, Path]):
    conv, mlp = lightning_pair
    comparison = compare(snapshots(conv.parents[2], conv, mlp))
    rows = {(row.section, row.key): row for row in comparison.rows}

    assert not comparison.equal
    # The hyper-parameter that chose the encoder, flattened.
    assert rows["config", "encoder"].values == ("conv", "mlp")
    assert rows["config", "lr"].differs is False
    # Keys only in one encoder are added/removed; the shared key changed shape.
    weight = rows["weights", TENSOR_PREFIX + "encoder.0.weight"]
    assert weight.change == "changed"
    assert weight.values == (
        TensorShape("float32", ENCODER_TENSORS["conv"]["encoder.0.weight"]),
        TensorShape("float32", ENCODER_TENSORS["mlp"]["encoder.0.weight"]),
    )
    batchnorm = rows["weights", TENSOR_PREFIX + "encoder.1.running_mean"]
    assert batchnorm.change == "removed" and batchnorm.values[1] is ABSENT
    assert rows["weights", TENSOR_PREFIX + "encoder.1.num_batches_tracked"].values[0] == (
        TensorShape("int64", ())
    )
    # The head is the same shape in both: no row for it.
    assert ("weights", TENSOR_PREFIX + "head.weight") not in rows
    assert rows["weights", "modules.encoder"].differs
    assert rows["weights", "optimizer"].values == ("SGD", "SGD")
    assert rows["weights", "learning_rates"].values == ([0.01], [0.01])
    assert rows["training", "epoch"].values == (0, 0)
    assert rows["metrics", "monitor"].values == ("val_loss", "val_loss")
    assert rows["safety", "safety"].values == ("safe", "safe")


def test_a_checkpoint_against_itself_has_no_differences(lightning_pair: tuple[Path, Path]):
    conv = lightning_pair[0]
    side = snapshots(conv.parents[2], conv)[0]
    comparison = compare([side, read_snapshot(side.entry)])
    assert comparison.equal
    assert differing(comparison) == []
    data = comparison_json(comparison)
    assert data["equal"] is True
    assert set(data["differences"].values()) == {0}
    assert data["sections"]["config"] == []  # only differing keys without all_keys
    every = comparison_json(comparison, all_keys=True)["sections"]["config"]
    assert {row["key"] for row in every} >= {"encoder", "lr", "hidden"}
    assert {row["change"] for row in every} == {"same"}


def test_resaved_copy_reports_exactly_the_reshape_and_the_hparam(
    resaved: tuple[Path, Path, str],
):
    original, copy, key = resaved
    comparison = compare(snapshots(original.parents[2], original, copy))
    assert differing(comparison) == [("config", "lr"), ("weights", TENSOR_PREFIX + key)]
    data = comparison_json(comparison)
    assert data["sections"]["config"] == [{"key": "lr", "change": "changed", "a": 0.01, "b": 0.5}]
    tensor = [row for row in data["sections"]["weights"] if row["change"] != "same"]
    assert tensor == [
        {
            "key": TENSOR_PREFIX + key,
            "change": "changed",
            "a": {"dtype": "float32", "shape": [1, 32]},
            "b": {"dtype": "float32", "shape": [4, 8]},
        }
    ]


def test_omegaconf_and_dict_hparams_compare_equal(omegaconf_pair: tuple[Path, Path]):
    omega, plain = omegaconf_pair
    sides = snapshots(omega.parents[2], omega, plain)
    assert sides[0].config == sides[1].config
    comparison = compare(sides)
    assert comparison.section("config", only_differences=True) == []
    keys = [row.key for row in comparison.section("config")]
    assert keys == ["model.encoder.model_name", "model.encoder.channels", "lr"]
    assert all(side.entry.safety == "safe" for side in sides)


def test_hostile_file_is_compared_and_its_safety_shown(hostile: tuple[Path, Path, Path]):
    bad, twin, marker = hostile
    comparison = compare(snapshots(bad.parents[2], bad, twin))
    rows = {(row.section, row.key): row for row in comparison.rows}
    assert rows["safety", "safety"].values == ("unsafe", "safe")
    assert rows["safety", "unsafe_globals"].values == (["os.system"], [])
    # Everything else was still read from the hostile file, and is equal to its twin.
    assert [key for key in differing(comparison)] == [
        ("safety", "safety"),
        ("safety", "unsafe_globals"),
    ]
    assert comparison_json(comparison)["a"]["safety"] == "unsafe"
    assert not marker.exists()


def test_config_falls_back_to_the_run_config_file(tmp_path: Path):
    from compare_helpers import save_plain

    run = tmp_path / "outputs" / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("model:\n  encoder:\n    model_name: resnet34\n")
    path = save_plain(run / "checkpoints" / "last.ckpt", None)
    side = snapshots(tmp_path / "outputs", path)[0]
    assert side.config == {"model": {"encoder": {"model_name": "resnet34"}}}
    assert side.config_source == "run/.hydra/config.yaml"


def entry(path: str, exp: str = "exp", **values: object) -> CheckpointCatalogEntry:
    return CheckpointCatalogEntry(checkpoint_path=path, exp_name=exp, **values)  # type: ignore[arg-type]


def test_best_of_experiment_uses_the_monitor_in_its_mode_then_hmean():
    # The experiment is the run folder: "run/checkpoints/" is run "run"; "other/" is another.
    low = entry("run/checkpoints/a", monitor="val_loss", monitor_mode="min", monitor_value=0.2)
    high = entry("run/b", monitor="val_loss", monitor_mode="min", monitor_value=0.9, hmean=0.9)
    here = entry("run/c", monitor="val_loss", monitor_mode="min", monitor_value=0.5)
    other = entry("other/d", exp="exp", monitor="val_loss", monitor_mode="min", monitor_value=0.0)
    choice = best_of_experiment(here, [low, high, here, other])
    assert choice.entry is low and "val_loss (min)" in choice.reason
    by_hmean = best_of_experiment(entry("c"), [entry("a", hmean=0.3), entry("b", hmean=0.7)])
    assert by_hmean.entry is not None and by_hmean.entry.checkpoint_path == "b"
    alone = best_of_experiment(here, [here, other])
    assert alone.entry is None and alone.reason == "no other checkpoint in exp"
    unranked = best_of_experiment(here, [here, entry("run/e", hmean=0.9)])
    assert (
        unranked.entry is None
        and unranked.reason == "no other checkpoint in exp has a val_loss value"
    )


def test_every_parameter_group_learning_rate_is_compared(tmp_path: Path):
    import torch
    from compare_helpers import save_plain

    encoder, head = torch.nn.Linear(4, 6), torch.nn.Linear(6, 2)
    paths = []
    for name, head_lr in (("a", 0.01), ("b", 0.02)):
        optimizer = torch.optim.AdamW(
            [{"params": encoder.parameters(), "lr": 0.001}, {"params": head.parameters()}],
            lr=head_lr,
        )
        state = {"optimizer_states": [optimizer.state_dict()]}
        paths.append(save_plain(tmp_path / "outputs" / "run" / f"{name}.ckpt", {}, **state))
    comparison = compare(snapshots(tmp_path / "outputs", *paths))
    rows = {(row.section, row.key): row for row in comparison.rows}
    assert rows["weights", "learning_rates"].values == ([0.001, 0.01], [0.001, 0.02])
    assert rows["weights", "optimizer"].values == ("AdamW", "AdamW")
    assert [key for key in differing(comparison)] == [("weights", "learning_rates")]
