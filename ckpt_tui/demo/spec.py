"""What the demo tree holds: fourteen training runs of an OCR text-detection project.

Each :class:`Run` says where the run lives, what model it trained, how its ``ModelCheckpoint`` was
configured (which decides the file names, exactly as Lightning formats them), which epochs ended
in the top-k, and which files got sidecars, were damaged, or were written in the legacy format.
Pure data; :mod:`ckpt_tui.demo.simulate` turns it into files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

TRAIN_ROOT = "/workspace/ocr-text-detection"
"""Where the runs were trained. Paths inside checkpoints (``best_k_models``, ``dirpath``) point
there, not at the demo folder, as they do for any checkpoint copied off its training box."""

LIGHTNING_VERSION = "2.6.6"

ConfigStyle = Literal["hydra", "plain", "lightning_logs", "none"]
ArchKey = Literal["architecture", "architectures", "component_overrides"]
SidecarName = Literal["stem", "name", "both"]


@dataclass(frozen=True)
class Model:
    """The detector a run trained."""

    architecture: str
    encoder: str
    decoder: str
    head: str
    loss: str
    frozen_encoder: bool = False


@dataclass(frozen=True)
class Checkpointing:
    """A ``ModelCheckpoint``'s settings (the arguments that shape names and state)."""

    monitor: str | None = "val/hmean"
    mode: Literal["min", "max"] = "max"
    save_top_k: int = 1
    save_last: bool | Literal["link"] | None = None
    filename: str | None = None
    auto_insert_metric_name: bool = True
    every_n_epochs: int | None = None
    every_n_train_steps: int | None = None
    equals_char: str = "="
    """Lightning's ``CHECKPOINT_EQUALS_CHAR``; one project patched it to ``_``."""
    save_weights_only: bool = False
    """Weights-only files hold no callbacks, optimizer or scheduler state."""


@dataclass(frozen=True)
class Attempt:
    """One launch of the training script (a restart in the same folder is a new attempt)."""

    epochs: int
    """Epochs trained (0 .. epochs-1)."""
    start: datetime
    keep: tuple[int, ...] = ()
    """Epochs that end in the top-k (per-epoch runs): their scores are made the attempt's best."""
    scores: tuple[float, ...] = ()
    """Exact monitor values for ``keep`` (same order), when a file name shows them."""


@dataclass(frozen=True)
class Run:
    """One training run and the files it left."""

    key: str
    folder: str
    """Run folder relative to the demo root."""
    ckpt_dir: str
    """Checkpoint folder relative to the run folder."""
    exp_name: str
    model: Model
    checkpointing: Checkpointing
    attempts: tuple[Attempt, ...]
    steps_per_epoch: int
    epoch_minutes: float
    config: ConfigStyle = "hydra"
    arch_key: ArchKey = "architecture"
    omegaconf: bool = True
    """Whether ``hyper_parameters`` is an OmegaConf DictConfig (when omegaconf is installed)."""
    lightning_version: str = LIGHTNING_VERSION
    sidecars: dict[str, SidecarName] = field(default_factory=dict)
    """Checkpoint name (relative to ``ckpt_dir``) → which sidecar name(s) to write."""
    legacy: tuple[str, ...] = ()
    """Files written with ``_use_new_zipfile_serialization=False``."""
    truncated: tuple[str, ...] = ()
    """Files cut to half their size after being written."""
    zero_byte: tuple[tuple[str, int], ...] = ()
    """(name, epoch) of empty files left by a crash while saving that epoch."""
    cleval: bool = False
    early_stopping: bool = False
    wandb_id: str | None = None
    wandb_folder: bool = False
    optimizer: Literal["Adam", "AdamW", "SGD"] = "SGD"
    """DBNet-style recipes train with SGD (one momentum buffer per parameter)."""
    lr: float = 1e-3
    val_check_interval: int | None = None
    training_phase: Literal["training", "finetuning"] = "training"
    datamodule_hparams: bool = False
    max_epochs: int | None = None
    """``trainer.max_epochs`` when it differs from the epochs trained (a crashed run)."""

    @property
    def planned_epochs(self) -> int:
        """``trainer.max_epochs`` of the run's config."""
        return self.max_epochs or max(attempt.epochs for attempt in self.attempts)


def optimizer_kwargs(optimizer: str) -> dict[str, float]:
    """The optimizer arguments besides the learning rate (configs and real optimizers)."""
    if optimizer == "SGD":
        return {"momentum": 0.9, "weight_decay": 0.0001}
    return {"weight_decay": 0.01 if optimizer == "AdamW" else 0.0001}


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


DB = ("db_head", "db_loss")

RUNS: tuple[Run, ...] = (
    Run(
        "K", "outputs/archive/run_1001", "checkpoints", "dbnet_baseline_v0",
        Model("dbnet", "resnet18", "unet", *DB),
        Checkpointing(save_top_k=2),
        (Attempt(15, _t("2025-10-01T06:12:40"), keep=(11, 14)),),
        steps_per_epoch=103, epoch_minutes=11, config="none", omegaconf=False,
        lightning_version="2.1.3", legacy=("epoch=14-step=1545.ckpt",),
    ),
    Run(
        "A", "outputs/2025-10-02/09-14-07", "checkpoints", "dbnet_r18_baseline",
        Model("dbnet", "resnet18", "unet", *DB),
        Checkpointing(save_top_k=5, save_last=True),
        (Attempt(10, _t("2025-10-02T09:14:07"), keep=(4, 6, 7, 8, 9)),),
        steps_per_epoch=52, epoch_minutes=9, cleval=True, early_stopping=True, lr=0.007,
        wandb_id="1x7fq2ke",
        sidecars={
            "epoch=4-step=260.ckpt": "stem", "epoch=6-step=364.ckpt": "stem",
            "epoch=7-step=416.ckpt": "stem", "epoch=8-step=468.ckpt": "stem",
            "epoch=9-step=520.ckpt": "stem", "last.ckpt": "stem",
        },
    ),
    Run(
        "B", "outputs/2025-10-03/14-22-51", "checkpoints", "dbnetpp_r50_long",
        Model("dbnetpp", "resnet50", "fpn_decoder", *DB),
        Checkpointing(save_top_k=3, save_last="link"),
        (Attempt(68, _t("2025-10-03T14:22:51"), keep=(54, 61, 67)),),
        steps_per_epoch=273, epoch_minutes=6, arch_key="architectures", lr=0.007,
        wandb_id="3kq8z1ab", wandb_folder=True,
    ),
    Run(
        "C", "outputs/2025-10-05/08-03-44", "checkpoints", "craft_mbv3_small",
        Model("craft", "mobilenetv3_small_050", "craft_decoder", "craft_head", "craft_loss"),
        Checkpointing(
            save_top_k=2, save_last=True, filename="epoch-{epoch}-step-{step}",
            auto_insert_metric_name=False,
        ),
        (Attempt(10, _t("2025-10-05T08:03:44"), keep=(7, 9)),),
        steps_per_epoch=103, epoch_minutes=4, arch_key="component_overrides", optimizer="Adam",
        sidecars={"epoch-7-step-824.ckpt": "name", "epoch-9-step-1030.ckpt": "name"},
    ),
    Run(
        "D", "outputs/2025-10-06/19-47-30", "checkpoints", "pan_r34_steps",
        Model("pan", "resnet34", "pan_decoder", "pan_head", "pan_loss"),
        Checkpointing(
            save_top_k=-1, filename="epoch-{epoch:02d}_step-{step:06d}",
            auto_insert_metric_name=False, every_n_train_steps=103,
        ),
        (Attempt(18, _t("2025-10-06T19:47:30")),),
        steps_per_epoch=30, epoch_minutes=2, val_check_interval=103,
        sidecars={"epoch-03_step-000103.ckpt": "stem", "epoch-13_step-000412.ckpt": "stem"},
    ),
    Run(
        "E", "outputs/ocr_training_dbnetpp_resnet50_20251009", "checkpoints",
        "ocr_training_dbnetpp_resnet50",
        Model("dbnetpp", "resnet50", "fpn_decoder", *DB),
        Checkpointing(
            save_top_k=4, save_last=True,
            filename="epoch_{epoch:02d}_step_{step:06d}_20251009_015037", equals_char="_",
        ),
        (Attempt(28, _t("2025-10-09T01:50:37"), keep=(18, 22, 25, 27)),),
        steps_per_epoch=84, epoch_minutes=5, cleval=True, datamodule_hparams=True, lr=0.007,
        wandb_id="p0c9xw2r",
        sidecars={
            "epoch_epoch_18_step_step_001596_20251009_015037.ckpt": "stem",
            "epoch_epoch_22_step_step_001932_20251009_015037.ckpt": "stem",
            "epoch_epoch_25_step_step_002184_20251009_015037.ckpt": "stem",
            "epoch_epoch_27_step_step_002352_20251009_015037.ckpt": "stem",
            "last.ckpt": "stem",
        },
    ),
    Run(
        "F", "outputs/2025-10-12/11-40-09",
        "checkpoints/psenet_mobilenetv3_large_100_icdar15/checkpoints",
        "psenet_mobilenetv3_large_100_icdar15",
        Model("psenet", "mobilenetv3_large_100", "fpn_decoder", "pse_head", "pse_loss"),
        Checkpointing(save_top_k=3, save_last=True),
        (Attempt(12, _t("2025-10-12T11:40:09"), keep=(8, 10, 11)),),
        steps_per_epoch=125, epoch_minutes=7,
        sidecars={"epoch=10-step=1375.ckpt": "stem", "epoch=11-step=1500.ckpt": "stem"},
    ),
    Run(
        "G", "lightning_logs/version_0", "checkpoints", "version_0",
        Model("psenet", "efficientnet_b0", "fpn_decoder", "pse_head", "pse_loss"),
        Checkpointing(monitor=None, mode="min"),
        (Attempt(1, _t("2025-10-13T15:02:11")),),
        steps_per_epoch=40, epoch_minutes=3, config="lightning_logs", omegaconf=False,
        cleval=True,
    ),
    Run(
        "H", "outputs/pan_resnet34_canonical", "checkpoints", "pan_resnet34_canonical",
        Model("pan", "resnet34", "pan_decoder", "pan_head", "pan_loss"),
        Checkpointing(
            save_top_k=2, save_last=True, filename="best-hmean-{val/hmean:.4f}",
            auto_insert_metric_name=False,
        ),
        (Attempt(20, _t("2025-10-14T02:10:00"), keep=(15, 18), scores=(0.8811, 0.8920)),),
        steps_per_epoch=96, epoch_minutes=5, config="none", optimizer="Adam",
        sidecars={"best-hmean-0.8920.ckpt": "name"},
    ),
    Run(
        "I", "outputs/2025-10-14/16-05-33", "checkpoints", "dbnet_mbv3_large_metricnames",
        Model("dbnet", "mobilenetv3_large_100", "unet", *DB),
        Checkpointing(save_top_k=2, save_last=True, filename="{val/hmean:.4f}"),
        (Attempt(12, _t("2025-10-14T16:05:33"), keep=(6, 10), scores=(0.8123, 0.8347)),),
        steps_per_epoch=64, epoch_minutes=4,
        sidecars={"val/hmean=0.8123.ckpt": "stem", "val/hmean=0.8347.ckpt": "stem"},
    ),
    Run(
        "J", "outputs/2025-10-15/22-10-58", "checkpoints", "craft_r34_crashed",
        Model("craft", "resnet34", "craft_decoder", "craft_head", "craft_loss"),
        Checkpointing(save_top_k=-1, save_last=True, every_n_epochs=2),
        (Attempt(7, _t("2025-10-15T22:10:58")),),
        steps_per_epoch=103, epoch_minutes=8, optimizer="Adam",
        sidecars={"epoch=3-step=412.ckpt": "stem"},
        truncated=("epoch=5-step=618.ckpt",), zero_byte=(("epoch=7-step=824.ckpt", 7),),
        max_epochs=20,
    ),
    Run(
        "L", "outputs/dbnetpp_efficientnet_b0_finetune", "checkpoints",
        "dbnetpp_efficientnet_b0_finetune",
        Model("dbnetpp", "efficientnet_b0", "fpn_decoder", *DB, frozen_encoder=True),
        Checkpointing(save_top_k=1, save_last=True, filename="best"),
        (
            Attempt(5, _t("2025-10-17T10:00:00"), keep=(3,)),
            Attempt(8, _t("2025-10-18T09:30:00"), keep=(6,)),
            Attempt(12, _t("2025-10-19T20:15:00"), keep=(10,)),
        ),
        steps_per_epoch=60, epoch_minutes=6, config="plain", training_phase="finetuning",
        lr=2e-4, optimizer="AdamW",
        sidecars={"best.ckpt": "both", "best-v1.ckpt": "stem", "best-v2.ckpt": "name"},
    ),
    Run(
        "M", "outputs/2025-10-20/07-31-12", "checkpoints", "dbnet_mbv3_small_long",
        Model("dbnet", "mobilenetv3_small_050", "unet", *DB),
        Checkpointing(
            save_top_k=-1, save_last=True, every_n_epochs=5,
            filename="epoch_{epoch:02d}_step_{step:06d}", auto_insert_metric_name=False,
        ),
        (Attempt(25, _t("2025-10-20T07:31:12")),),
        steps_per_epoch=273, epoch_minutes=3, cleval=True, early_stopping=True,
        wandb_id="m3b5v7q1",
        sidecars={
            "epoch_04_step_001365.ckpt": "stem", "epoch_09_step_002730.ckpt": "stem",
            "epoch_14_step_004095.ckpt": "stem", "epoch_19_step_005460.ckpt": "stem",
            "epoch_24_step_006825.ckpt": "stem", "last.ckpt": "stem",
        },
    ),
    Run(
        "N", "outputs/2025-10-27/13-55-40", "checkpoints", "pan_effb0_aug",
        Model("pan", "efficientnet_b0", "pan_decoder", "pan_head", "pan_loss"),
        Checkpointing(save_top_k=4, save_last=True, save_weights_only=True),
        (Attempt(16, _t("2025-10-27T13:55:40"), keep=(9, 12, 14, 15)),),
        steps_per_epoch=75, epoch_minutes=5, lr=0.005,
    ),
)

DECODER_IN_CHANNELS: dict[str, list[int]] = {
    "resnet18": [64, 128, 256, 512],
    "resnet34": [64, 128, 256, 512],
    "resnet50": [256, 512, 1024, 2048],
    "mobilenetv3_small_050": [8, 16, 24, 48],
    "mobilenetv3_large_100": [24, 40, 112, 160],
    "efficientnet_b0": [24, 40, 112, 320],
}
"""The real encoders' feature widths, as the configs and sidecars state them."""

TARGETS: dict[str, str] = {
    "unet": "ocr.models.decoder.unet.UNet",
    "fpn_decoder": "ocr.models.decoder.fpn.FPNDecoder",
    "pan_decoder": "ocr.models.decoder.pan.PANDecoder",
    "craft_decoder": "ocr.models.decoder.craft.CRAFTDecoder",
    "db_head": "ocr.models.head.db_head.DBHead",
    "craft_head": "ocr.models.head.craft_head.CRAFTHead",
    "pan_head": "ocr.models.head.pan_head.PANHead",
    "pse_head": "ocr.models.head.pse_head.PSEHead",
    "db_loss": "ocr.models.loss.db_loss.DBLoss",
    "craft_loss": "ocr.models.loss.craft_loss.CRAFTLoss",
    "pan_loss": "ocr.models.loss.pan_loss.PANLoss",
    "pse_loss": "ocr.models.loss.pse_loss.PSELoss",
}
"""Hydra ``_target_`` of each component (class names must never be read as names)."""
