"""How a demo run is described: :class:`Run` and its parts, and the constants they share.

Each :class:`Run` says where the run lives, what model it trained, how its ``ModelCheckpoint`` was
configured (which decides the file names, exactly as Lightning formats them), which epochs ended
in the top-k, and which files got sidecars, were damaged, or were written in the legacy format.
The runs themselves are in :mod:`ckpt_tui.demo.runs`. Pure data, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
