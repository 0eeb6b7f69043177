"""The callback's parts on their own: metrics, hyper-parameter lookup, run facts, patching."""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from callback_helpers import HPARAMS, fit, make_module
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import Checkpoint, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger
from omegaconf import OmegaConf

from ckpt_tui.callbacks import MetadataCallback, MetadataCallbackWarning, hooks
from ckpt_tui.callbacks.metrics import MetricKeys, build_metrics, scalar_metrics, to_float
from ckpt_tui.callbacks.model_info import (
    STATE_DICT,
    ModelKeys,
    lookup,
    model_values_for,
    names_from_hparams,
    state_dict_shapes,
)
from ckpt_tui.callbacks.run_info import (
    exp_name_of,
    hydra_config_path,
    max_epochs_of,
    run_folder_name,
    wandb_run_id,
)

# ------------------------------------------------------------------------------------ metrics


def test_to_float_reads_numbers_and_one_element_tensors() -> None:
    assert to_float(3) == 3.0
    assert to_float(0.25) == 0.25
    assert to_float(torch.tensor(0.8)) == 0.8  # float32 0.800000011920929, shortest form back
    assert to_float(torch.tensor([0.5])) == 0.5
    assert to_float(torch.tensor(0.1, dtype=torch.float64)) == 0.1
    assert to_float(torch.tensor(7)) == 7.0


@pytest.mark.parametrize(
    "value",
    [
        True,
        None,
        "0.5",
        torch.tensor([0.1, 0.2]),
        torch.tensor(True),
        math.nan,
        math.inf,
        torch.tensor(float("nan")),
    ],
)
def test_to_float_refuses_what_is_not_one_finite_number(value: Any) -> None:
    assert to_float(value) is None


def test_float32_shortening_loses_nothing() -> None:
    values = torch.rand(200, generator=torch.Generator().manual_seed(3))
    for value in values:
        assert torch.tensor(to_float(value), dtype=torch.float32) == value


def test_named_metrics_match_exactly_never_by_substring() -> None:
    scalars = scalar_metrics(
        {
            "val/hmean_step": torch.tensor(0.99),
            "val/hmean": torch.tensor(0.5),
            "train/val/hmean": 0.1,
            "val/precision": 0.6,
            "val/loss": 0.3,
            "epoch": 4,
            "step": 100,
        }
    )
    metrics, provenance, notes = build_metrics(scalars, MetricKeys(), monitor=None)
    assert metrics == {
        "metrics.hmean": 0.5,
        "metrics.precision": 0.6,
        "metrics.recall": None,  # not logged: unknown, never a default
        "metrics.validation_loss": 0.3,
        "metrics.additional_metrics": {"val/hmean_step": 0.99, "train/val/hmean": 0.1},
    }
    assert provenance == {
        "metrics.hmean": "callback_metrics val/hmean",
        "metrics.precision": "callback_metrics val/precision",
        "metrics.validation_loss": "callback_metrics val/loss",
        "metrics.additional_metrics": "callback_metrics",
    }
    assert notes == []


def test_nothing_logged_is_all_unknown_and_no_empty_dict() -> None:
    metrics, provenance, notes = build_metrics({"epoch": 1}, MetricKeys(), monitor="val/hmean")
    assert metrics == dict.fromkeys(
        ("metrics.hmean", "metrics.precision", "metrics.recall", "metrics.validation_loss")
    )
    assert provenance == {} and notes == []


def test_custom_names_and_the_monitored_value() -> None:
    keys = MetricKeys(hmean="val/f1", precision="p", recall="r", validation_loss="loss")
    scalars = {"val/f1": 0.7, "p": 0.8, "r": 0.6, "loss": 1.5, "val/hmean": 0.1, "lr": 0.01}
    metrics, provenance, _ = build_metrics(scalars, keys, monitor="val/f1")
    assert (metrics["metrics.hmean"], metrics["metrics.precision"]) == (0.7, 0.8)
    assert (metrics["metrics.recall"], metrics["metrics.validation_loss"]) == (0.6, 1.5)
    assert provenance["metrics.hmean"] == "callback_metrics val/f1"
    # The monitored value is also under its own name, so readers find it by monitor.
    assert metrics["metrics.additional_metrics"] == {"val/hmean": 0.1, "lr": 0.01, "val/f1": 0.7}


def test_out_of_range_values_stay_additional_with_a_note() -> None:
    metrics, _, notes = build_metrics({"val/hmean": 85.0, "val/loss": -0.5}, MetricKeys(), None)
    assert metrics["metrics.hmean"] is None and metrics["metrics.validation_loss"] is None
    assert metrics["metrics.additional_metrics"] == {"val/hmean": 85.0, "val/loss": -0.5}
    assert len(notes) == 2 and "val/hmean=85.0" in notes[0]


# ----------------------------------------------------------------------------- hparams lookup


def test_lookup_through_dicts_omegaconf_and_namespaces() -> None:
    config = OmegaConf.create(HPARAMS)
    namespace = argparse.Namespace(model=argparse.Namespace(architecture="craft"))
    assert lookup(HPARAMS, "model.encoder.model_name") == "resnet18"
    assert lookup(config, "model.encoder.model_name") == "resnet18"
    assert lookup(namespace, "model.architecture") == "craft"
    assert lookup(HPARAMS, "model.encoder.nope") is None
    assert lookup(None, "model") is None
    assert lookup(HPARAMS, "") is None


def test_lookup_finds_a_config_saved_one_level_down() -> None:
    assert lookup({"cfg": HPARAMS, "lr": 0.1}, "model.architecture") == "dbnet"
    assert lookup({"cfg": OmegaConf.create(HPARAMS)}, "exp_name") == "tiny-dbnet"


def test_lookup_survives_a_broken_interpolation() -> None:
    config = OmegaConf.create({"model": {"architecture": "${missing.key}", "ok": "x"}})
    assert lookup(config, "model.architecture") is None
    assert lookup(config, "model.ok") == "x"


def test_names_from_omegaconf_hparams_with_list_config() -> None:
    names = names_from_hparams(OmegaConf.create(HPARAMS), ModelKeys())
    assert (names.architecture, names.encoder, names.decoder) == (
        "dbnet",
        "resnet18",
        "pan_decoder",
    )
    assert names.decoder_extra == {
        "in_channels": [64, 128, 256, 512],
        "inner_channels": 256,
        "output_channels": 128,
    }
    assert names.encoder_extra == {"pretrained": False, "frozen": True}
    assert names.provenance["model.encoder.model_name"] == "hparams model.encoder.model_name"
    assert names.provenance["model.encoder.frozen"] == "hparams model.encoder.frozen"
    assert names.provenance["model.decoder.in_channels"] == "hparams model.decoder.in_channels"


def test_names_missing_from_hparams_have_no_value_and_no_provenance() -> None:
    names = names_from_hparams({"model": {"architecture": "dbnet"}}, ModelKeys())
    assert (names.encoder, names.encoder_extra, names.decoder_extra) == (None, {}, {})
    assert names.provenance == {"model.architecture": "hparams model.architecture"}


def test_model_info_without_hparams_falls_back_to_the_state_dict() -> None:
    module = make_module(hparams=None)
    values, provenance = model_values_for(module, ModelKeys())
    from ckpt_tui.sources.statedict import infer_model_from_shapes

    guess = infer_model_from_shapes(state_dict_shapes(module))
    # Unknown stays None (the sidecar leaves it out), never the string "unknown".
    assert values["model.architecture"] == guess.architecture
    assert values["model.encoder.model_name"] == guess.encoder
    assert values["model.encoder.pretrained"] is None and values["model.encoder.frozen"] is None
    for key in ("model.architecture", "model.encoder.model_name"):
        assert provenance.get(key) == (STATE_DICT if values[key] is not None else None)


def test_model_names_from_configured_paths() -> None:
    module = make_module(hparams={"net": {"family": "craft", "backbone": "vgg16"}})
    keys = ModelKeys(architecture="net.family", encoder="net.backbone")
    values, provenance = model_values_for(module, keys)
    assert (values["model.architecture"], values["model.encoder.model_name"]) == (
        "craft",
        "vgg16",
    )
    assert provenance["model.architecture"] == "hparams net.family"
    assert values["model.decoder.name"] is None


# ---------------------------------------------------------------------------------- run facts


@pytest.mark.parametrize(
    ("options", "expected"),
    [({"max_epochs": 7}, 7), ({"max_epochs": -1}, None), ({"max_steps": 10}, None)],
)
def test_max_epochs(options: dict[str, Any], expected: int | None) -> None:
    trainer = Trainer(logger=False, enable_progress_bar=False, **options)
    assert max_epochs_of(trainer) == expected


def test_exp_name_order(tmp_path: Path) -> None:
    named = make_module(hparams={"exp_name": "from-hparams"})
    plain = make_module(hparams=None)
    with_logger = Trainer(logger=CSVLogger(tmp_path, name="from-logger"), default_root_dir=tmp_path)
    without = Trainer(logger=False, default_root_dir=tmp_path)
    folder = tmp_path / "run-7" / "checkpoints"
    kwargs: dict[str, Any] = {"hparams_key": "exp_name"}
    assert exp_name_of(with_logger, named, folder, explicit="given", **kwargs) == "given"
    assert exp_name_of(with_logger, named, folder, explicit=None, **kwargs) == "from-hparams"
    assert exp_name_of(with_logger, plain, folder, explicit=None, **kwargs) == "from-logger"
    assert exp_name_of(without, plain, folder, explicit=None, **kwargs) == "run-7"
    assert run_folder_name(tmp_path / "run-8") == "run-8"


def test_hydra_config_upward_lookup(tmp_path: Path) -> None:
    run = tmp_path / "outputs" / "exp" / "2025-10-18"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("a: 1\n")
    deep = run / "lightning_logs" / "version_0" / "checkpoints"
    deep.mkdir(parents=True)
    assert hydra_config_path(deep) == str(run / ".hydra" / "config.yaml")
    assert hydra_config_path(run) == str(run / ".hydra" / "config.yaml")
    assert hydra_config_path(tmp_path / "elsewhere") is None


class WandbLogger(Logger):
    """Stands in for lightning's WandbLogger (wandb is not installed here): same class name and
    the same ``_experiment`` attribute, which the real one sets only once its run started."""

    def __init__(self, run_id: str | None) -> None:
        super().__init__()
        self._experiment = argparse.Namespace(id=run_id) if run_id else None

    @property
    def name(self) -> str:
        return "project"

    @property
    def version(self) -> str:
        return "0"

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        return None

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        return None


def test_wandb_run_id_only_from_a_started_run(tmp_path: Path) -> None:
    started = Trainer(logger=[CSVLogger(tmp_path), WandbLogger("abc123")])
    not_started = Trainer(logger=WandbLogger(None))
    assert wandb_run_id(started) == "abc123"
    assert wandb_run_id(not_started) is None
    assert wandb_run_id(Trainer(logger=False)) is None


# ------------------------------------------------------------------------------------ patching


def test_patch_and_unpatch_leave_no_trace() -> None:
    checkpoint = ModelCheckpoint()
    first, second = MetadataCallback(), MetadataCallback()
    hooks.patch(checkpoint, first)
    hooks.patch(checkpoint, second)  # replaces, never stacks
    assert hooks.patched_by(checkpoint) is second
    # The second patch wraps the class's method again, not the first wrapper.
    wrapped = vars(checkpoint)["_save_checkpoint"]
    inner = [cell.cell_contents for cell in wrapped.__closure__ or ()]
    bound = [item for item in inner if hasattr(item, "__func__")]
    assert [item.__func__ for item in bound] == [ModelCheckpoint._save_checkpoint]
    hooks.unpatch(checkpoint)
    assert hooks.patched_by(checkpoint) is None
    assert not set(hooks.WRAPPED) & set(vars(checkpoint))
    assert checkpoint._save_checkpoint.__func__ is ModelCheckpoint._save_checkpoint


class SaveEveryEpoch(Checkpoint):
    """A custom checkpoint callback without ModelCheckpoint's methods."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        trainer.save_checkpoint(self.folder / f"custom-{trainer.current_epoch}.ckpt")


def test_an_unfollowable_checkpoint_callback_is_one_warning(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer, _ = fit(tmp_path, [SaveEveryEpoch(tmp_path), MetadataCallback()], max_epochs=2)
    ours = [str(w.message) for w in caught if issubclass(w.category, MetadataCallbackWarning)]
    assert trainer.state.finished
    assert len(ours) == 1 and "SaveEveryEpoch" in ours[0]
    assert sorted(p.name for p in tmp_path.glob("custom-*")) == ["custom-0.ckpt", "custom-1.ckpt"]
