"""Helpers shared by the catalog tests (plain functions and data, no fixtures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ckpt_tui.model.schema import (
    CheckpointingConfig,
    CheckpointMetadataV1,
    EncoderInfo,
    MetricsInfo,
    ModelInfo,
    TrainingInfo,
)


def metadata(**changes: Any) -> CheckpointMetadataV1:
    """A valid sidecar's metadata; keyword arguments replace top-level parts."""
    data: dict[str, Any] = {
        "checkpoint_path": "x.ckpt",
        "exp_name": "sidecar-exp",
        "created_at": "2025-10-18T14:32:15",
        "training": TrainingInfo(epoch=10, global_step=5420, max_epochs=50),
        "model": ModelInfo(architecture="dbnet", encoder=EncoderInfo(model_name="resnet50")),
        "metrics": MetricsInfo(precision=0.85, recall=0.83, hmean=0.84),
        "checkpointing": CheckpointingConfig(monitor="val/hmean", mode="max", save_top_k=3),
    }
    data.update(changes)
    return CheckpointMetadataV1(**data)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` at ``path``, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


HYDRA_CONFIG = """\
exp_name: hydra-exp
model:
  _target_: ocr.models.OCRModel
  architecture: dbnetpp
  encoder:
    model_name: mobilenetv3_small_050
  decoder:
    name: unet_decoder
  head:
    name: db_head
  loss:
    name: db_loss
trainer:
  max_epochs: 30
callbacks:
  model_checkpoint:
    monitor: val/hmean
    mode: max
    save_top_k: 2
    save_last: true
logger:
  wandb:
    id: abc123
"""
