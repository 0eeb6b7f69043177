"""Variants: save_last="link", several ModelCheckpoints at once (with -v1 versions and
every_n_epochs), every_n_train_steps under ``pytorch_lightning``, and asynchronous saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra.utils
import pytest
from callback_helpers import (
    HMEANS,
    CheckpointTruth,
    assert_one_sidecar_each,
    checkpoints_in,
    fit,
    same_float32,
    val_metrics,
)
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import AsyncCheckpointIO
from omegaconf import OmegaConf

from ckpt_tui.callbacks import MetadataCallback
from ckpt_tui.model.schema import CheckpointMetadataV1
from ckpt_tui.sidecar.files import read_sidecar

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "callbacks" / "metadata.yaml"


def metadata(ckpt: Path) -> CheckpointMetadataV1:
    read = read_sidecar(ckpt)
    assert read.metadata is not None, read.issues
    assert read.issues == []
    return read.metadata


def assert_matches_checkpoint(folder: Path, truth: CheckpointTruth) -> None:
    for ckpt in checkpoints_in(folder):
        meta = metadata(ckpt)
        assert (meta.training.epoch, meta.training.global_step) == truth.position(ckpt), ckpt
        assert meta.checkpoint_path == str(ckpt)


# ----------------------------------------------------------------------------- save_last="link"


@pytest.fixture(scope="module")
def link_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("link-run")
    folder = root / "checkpoints"
    checkpoint = ModelCheckpoint(
        dirpath=folder, save_top_k=2, monitor="val/hmean", mode="max", save_last="link"
    )
    fit(root, [checkpoint, MetadataCallback()])
    return folder


def test_link_is_a_symlink_with_its_own_sidecar(link_run: Path) -> None:
    last = link_run / "last.ckpt"
    assert last.is_symlink()
    assert last.resolve() == (link_run / "epoch=3-step=16.ckpt").resolve()
    assert_one_sidecar_each(link_run)


def test_link_sidecar_has_the_linked_checkpoints_values(
    link_run: Path, truth: CheckpointTruth
) -> None:
    # At epoch 4 (not in the top 2) Lightning re-links last.ckpt to epoch 3's file: the link's
    # sidecar must carry epoch 3's values, not the state at the time of linking.
    last = metadata(link_run / "last.ckpt")
    target = metadata(link_run / "epoch=3-step=16.ckpt")
    assert last.checkpoint_path == str(link_run / "last.ckpt")
    assert last.model_dump(exclude={"checkpoint_path"}) == target.model_dump(
        exclude={"checkpoint_path"}
    )
    assert (last.training.epoch, last.training.global_step) == truth.position(
        link_run / "last.ckpt"
    )
    assert last.checkpointing.save_last == "link"


def test_link_run_files_match_their_checkpoints(link_run: Path, truth: CheckpointTruth) -> None:
    assert_matches_checkpoint(link_run, truth)


# ------------------------------------------------------------------ several ModelCheckpoints


class MultiRun:
    def __init__(self, root: Path) -> None:
        self.a = root / "a"
        self.b = root / "b"
        callbacks: list[Any] = [
            # One fixed name: the second file becomes best-v1.ckpt, later saves overwrite.
            ModelCheckpoint(
                dirpath=self.a, filename="best", monitor="val/hmean", mode="max", save_top_k=2
            ),
            ModelCheckpoint(
                dirpath=self.b,
                filename="loss-{epoch}",
                monitor="val/loss",
                mode="min",
                save_top_k=1,
                every_n_epochs=2,
            ),
            # A third one writing into the same folder as the first.
            ModelCheckpoint(dirpath=self.a, filename="all-{epoch}", save_top_k=-1),
            MetadataCallback(),
        ]
        self.trainer, self.module = fit(root, callbacks)


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory: pytest.TempPathFactory) -> MultiRun:
    return MultiRun(tmp_path_factory.mktemp("multi-run"))


def test_multi_files_and_sidecars(multi_run: MultiRun) -> None:
    names_a = [ckpt.name for ckpt in checkpoints_in(multi_run.a)]
    assert names_a == [*(f"all-epoch={e}.ckpt" for e in range(5)), "best-v1.ckpt", "best.ckpt"]
    assert [ckpt.name for ckpt in checkpoints_in(multi_run.b)] == ["loss-epoch=3.ckpt"]
    assert_one_sidecar_each(multi_run.a)
    assert_one_sidecar_each(multi_run.b)


def test_multi_sidecars_match_their_checkpoints(
    multi_run: MultiRun, truth: CheckpointTruth
) -> None:
    assert_matches_checkpoint(multi_run.a, truth)
    assert_matches_checkpoint(multi_run.b, truth)


def test_each_sidecar_names_the_model_checkpoint_that_wrote_it(multi_run: MultiRun) -> None:
    best = metadata(multi_run.a / "best.ckpt")
    assert (best.checkpointing.monitor, best.checkpointing.mode) == ("val/hmean", "max")
    assert best.training.epoch == 3  # overwritten in place at epochs 2 and 3
    assert metadata(multi_run.a / "best-v1.ckpt").training.epoch == 1
    loss = metadata(multi_run.b / "loss-epoch=3.ckpt")
    assert (loss.checkpointing.monitor, loss.checkpointing.mode) == ("val/loss", "min")
    assert loss.metrics.additional_metrics["val/loss"] == val_metrics(3)["val/loss"]
    every = metadata(multi_run.a / "all-epoch=0.ckpt")
    assert every.checkpointing.monitor is None
    assert every.checkpointing.save_top_k == -1
    assert every.metrics.hmean == HMEANS[0]  # epoch 0 is a real epoch with its own values


# -------------------------------------------- every_n_train_steps, pytorch_lightning, Hydra


@pytest.fixture(scope="module")
def steps_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    pl = pytest.importorskip("pytorch_lightning")
    root = tmp_path_factory.mktemp("steps-run")
    folder = root / "checkpoints"
    callback = hydra.utils.instantiate(OmegaConf.load(CONFIG).metadata)
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=folder, every_n_train_steps=3, save_top_k=-1)
    _, module = fit(root, [checkpoint, callback], package="pytorch_lightning", max_epochs=2)
    return folder, module, callback


def test_steps_run_writes_one_sidecar_per_step_checkpoint(steps_run: tuple[Path, Any, Any]) -> None:
    folder, _, callback = steps_run
    names = [ckpt.name for ckpt in checkpoints_in(folder)]
    assert names == ["epoch=0-step=3.ckpt", "epoch=1-step=6.ckpt"]
    assert_one_sidecar_each(folder)
    assert isinstance(callback, __import__("pytorch_lightning").Callback)


def test_steps_run_sidecars_hold_their_steps_values(
    steps_run: tuple[Path, Any, Any], truth: CheckpointTruth
) -> None:
    folder, module, _ = steps_run
    assert_matches_checkpoint(folder, truth)
    for ckpt in checkpoints_in(folder):
        meta = metadata(ckpt)
        logged = module.step_loss[meta.training.global_step]
        assert same_float32(meta.metrics.additional_metrics["train/loss"], logged)
    first = metadata(folder / "epoch=0-step=3.ckpt")
    assert first.training.epoch == 0
    assert first.metrics.hmean is None  # mid-epoch 0: no validation has run yet


# ----------------------------------------------------------------------- asynchronous saving


@pytest.fixture(scope="module")
def async_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("async-run")
    folder = root / "checkpoints"
    checkpoint = ModelCheckpoint(dirpath=folder, save_top_k=-1, save_last=True)
    fit(root, [checkpoint, MetadataCallback()], max_epochs=3, plugins=[AsyncCheckpointIO()])
    return folder


def test_async_saves_get_their_sidecars(async_run: Path, truth: CheckpointTruth) -> None:
    # The file lands after _save_checkpoint returned; its sidecar follows once it is there.
    assert len(checkpoints_in(async_run)) == 4
    assert_one_sidecar_each(async_run)
    assert_matches_checkpoint(async_run, truth)
