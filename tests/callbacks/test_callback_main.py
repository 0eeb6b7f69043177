"""The main run: top-2 by val/hmean plus last, over 5 epochs with a metric that goes up and down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from callback_helpers import (
    HMEANS,
    TRAIN_BATCHES,
    CheckpointTruth,
    assert_one_sidecar_each,
    checkpoints_in,
    fit,
    same_float32,
    val_metrics,
)
from lightning.pytorch.callbacks import ModelCheckpoint

from ckpt_tui.callbacks import MetadataCallback
from ckpt_tui.model.schema import CheckpointMetadataV1
from ckpt_tui.sidecar.files import read_sidecar
from ckpt_tui.sidecar.validate import validate_checkpoint


class MainRun:
    """The run's folder, trainer, module and callback."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "checkpoints"
        # A Hydra-style run folder: the sidecars should point at this config.
        (root / ".hydra").mkdir(parents=True)
        (root / ".hydra" / "config.yaml").write_text("exp_name: tiny-dbnet\n")
        self.callback = MetadataCallback()
        self.checkpoint = ModelCheckpoint(
            dirpath=self.folder, save_top_k=2, monitor="val/hmean", mode="max", save_last=True
        )
        self.trainer, self.module = fit(root, [self.checkpoint, self.callback])

    def metadata(self, ckpt: Path) -> CheckpointMetadataV1:
        read = read_sidecar(ckpt)
        assert read.metadata is not None, read.issues
        assert read.issues == []
        return read.metadata


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> MainRun:
    return MainRun(tmp_path_factory.mktemp("main-run"))


def test_training_ran_all_epochs(run: MainRun) -> None:
    assert run.trainer.current_epoch == len(HMEANS)
    assert run.trainer.global_step == len(HMEANS) * TRAIN_BATCHES


def test_top2_and_last_are_the_files_left(run: MainRun) -> None:
    # hmean 0.5, 0.7, 0.6, 0.8, 0.65: the two best are epochs 1 and 3; epochs 0 and 2 were
    # written and then rotated out, and epoch 4 never made the top 2.
    names = [ckpt.name for ckpt in checkpoints_in(run.folder)]
    assert names == ["epoch=1-step=8.ckpt", "epoch=3-step=16.ckpt", "last.ckpt"]


def test_every_checkpoint_has_exactly_one_sidecar_and_no_orphans(run: MainRun) -> None:
    assert_one_sidecar_each(run.folder)


def test_sidecar_epoch_and_step_are_the_checkpoints_own(
    run: MainRun, truth: CheckpointTruth
) -> None:
    for ckpt in checkpoints_in(run.folder):
        metadata = run.metadata(ckpt)
        assert (metadata.training.epoch, metadata.training.global_step) == truth.position(ckpt)


def test_last_describes_its_own_file(run: MainRun, truth: CheckpointTruth) -> None:
    # Lightning 2.6 refreshes last.ckpt only when it saved another file in that epoch, so here
    # last.ckpt is epoch 3's save, not the final epoch 4's: the sidecar must say the same.
    last = run.folder / "last.ckpt"
    epoch, _ = truth.position(last)
    metadata = run.metadata(last)
    assert metadata.training.epoch == epoch
    assert metadata.metrics.hmean == HMEANS[epoch]


def test_metrics_equal_what_was_logged_in_that_epoch(run: MainRun) -> None:
    for ckpt in checkpoints_in(run.folder):
        metadata = run.metadata(ckpt)
        epoch = metadata.training.epoch
        logged = run.module.history[epoch]
        expected = val_metrics(epoch)
        assert metadata.metrics.hmean == expected["val/hmean"]
        assert metadata.metrics.precision == expected["val/precision"]
        assert metadata.metrics.recall == expected["val/recall"]
        assert metadata.metrics.validation_loss == expected["val/loss"]
        additional = dict(metadata.metrics.additional_metrics)
        # Exact names only: the decoy "val/hmean_batch" stays an additional metric.
        assert additional.pop("val/hmean_batch") == 0.99
        assert additional.pop("val/aux") == expected["val/aux"]
        assert additional.pop("val/hmean") == expected["val/hmean"]  # the monitored value
        assert same_float32(additional.pop("train/loss"), logged["train/loss"])
        assert additional == {}


def test_checkpointing_block_is_the_model_checkpoints(run: MainRun) -> None:
    for ckpt in checkpoints_in(run.folder):
        checkpointing = run.metadata(ckpt).checkpointing
        assert checkpointing.monitor == "val/hmean"
        assert checkpointing.mode == "max"
        assert checkpointing.save_top_k == 2
        assert checkpointing.save_last is True


def test_model_and_run_info(run: MainRun) -> None:
    metadata = run.metadata(run.folder / "epoch=3-step=16.ckpt")
    assert metadata.exp_name == "tiny-dbnet"
    assert metadata.training.max_epochs == len(HMEANS)
    assert "training_phase" not in metadata.training.model_fields_set  # not given: not written
    model = metadata.model
    assert (model.architecture, model.encoder.model_name) == ("dbnet", "resnet18")
    assert (model.encoder.pretrained, model.encoder.frozen) == (False, True)
    assert model.decoder.name == "pan_decoder"
    assert model.decoder.in_channels == [64, 128, 256, 512]
    assert (model.decoder.inner_channels, model.decoder.output_channels) == (256, 128)
    assert (model.head.name, model.head.in_channels) == ("db_head", 128)
    assert model.loss.name == "db_loss"
    assert metadata.hydra_config_path == str(run.root / ".hydra" / "config.yaml")
    assert metadata.wandb_run_id is None
    assert metadata.checkpoint_path == str(run.folder / "epoch=3-step=16.ckpt")


def test_sidecars_pass_the_validator(run: MainRun) -> None:
    for ckpt in checkpoints_in(run.folder):
        result = validate_checkpoint(ckpt)
        assert result.status == "valid", result.issues


def test_created_at_follows_the_epochs(run: MainRun) -> None:
    stamps: list[Any] = [
        run.metadata(run.folder / name).created_at
        for name in ("epoch=1-step=8.ckpt", "epoch=3-step=16.ckpt", "last.ckpt")
    ]
    assert stamps == sorted(stamps)


def test_module_is_left_as_it_was(run: MainRun) -> None:
    # After teardown the ModelCheckpoint has no wrappers left on the instance.
    assert not {"_save_checkpoint", "_link_checkpoint", "_remove_checkpoint"} & set(
        vars(run.checkpoint)
    )
    # One sidecar per file written: top-k at epochs 0-3, each followed by last.ckpt.
    assert len(run.callback.timings) == 8
    assert len(run.callback.writer.write_seconds) == 8  # all written before fit returned
