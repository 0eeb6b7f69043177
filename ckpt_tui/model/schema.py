"""The sidecar schema: ``CheckpointMetadataV1`` and its parts (Pydantic V2).

The field set is exactly the reference design's, so sidecars written by it load here. Names that
no source knew were written by the reference as the string ``"unknown"``; :func:`known` maps such
values back to ``None`` wherever the catalog reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ckpt_tui.model.placeholders import SCHEMA_VERSION, UNKNOWN, known

__all__ = ["SCHEMA_VERSION", "UNKNOWN", "known"]  # re-exported; the models add theirs below

Fraction = Field(default=None, ge=0.0, le=1.0)
MAX_INT = 2**63 - 1
"""Largest integer a count may be: what the cache (SQLite) and JSON readers can hold."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


class EncoderInfo(_Model):
    """The backbone that turns images into features."""

    model_name: str | None = None
    """Backbone name, e.g. ``resnet50`` or ``mobilenetv3_small_050``. Required, unless the
    ``ckpt_tui`` block records it as unknown (see :class:`CheckpointMetadataV1`)."""
    pretrained: bool = True
    """Whether the backbone started from pretrained weights."""
    frozen: bool = False
    """Whether the backbone's weights were frozen during training."""


class DecoderInfo(_Model):
    """The neck/decoder between encoder and head."""

    name: str | None = None
    """Decoder name, e.g. ``pan_decoder``."""
    in_channels: list[int] = Field(default_factory=list)
    """Channels of each encoder stage fed to the decoder."""
    inner_channels: int | None = None
    """Working width inside the decoder."""
    output_channels: int | None = None
    """Channels the decoder hands to the head."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Any other decoder parameters."""


class HeadInfo(_Model):
    """The prediction head."""

    name: str | None = None
    """Head name, e.g. ``db_head``."""
    in_channels: int | None = None
    """Channels the head receives."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Any other head parameters."""


class LossInfo(_Model):
    """The training loss."""

    name: str | None = None
    """Loss name, e.g. ``db_loss``."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Loss parameters (weights, ratios)."""


class ModelInfo(_Model):
    """What the checkpoint's network is made of."""

    architecture: str | None = None
    """Detector family, e.g. ``dbnet``, ``dbnetpp``, ``craft``. Required, unless the
    ``ckpt_tui`` block records it as unknown (see :class:`CheckpointMetadataV1`)."""
    encoder: EncoderInfo = Field(default_factory=EncoderInfo)
    """The backbone (required, with its ``model_name``, unless that is recorded as unknown)."""
    decoder: DecoderInfo = Field(default_factory=DecoderInfo)
    """The decoder (neck)."""
    head: HeadInfo = Field(default_factory=HeadInfo)
    """The head."""
    loss: LossInfo = Field(default_factory=LossInfo)
    """The loss."""


class TrainingInfo(_Model):
    """Where in training the checkpoint was written."""

    epoch: int = Field(ge=0, le=MAX_INT)
    """0-indexed epoch; epoch 0 is a real epoch."""
    global_step: int = Field(ge=0, le=MAX_INT)
    """Optimizer steps taken so far."""
    training_phase: Literal["training", "validation", "finetuning"] = "training"
    """Phase the checkpoint was written in."""
    max_epochs: int | None = Field(default=None, ge=1, le=MAX_INT)
    """Planned epochs; ``None`` when unlimited or unknown."""


class MetricsInfo(_Model):
    """Validation metrics of this checkpoint (its own, not the best run's)."""

    precision: float | None = Fraction
    """Detection precision in [0, 1]."""
    recall: float | None = Fraction
    """Detection recall in [0, 1]."""
    hmean: float | None = Fraction
    """Harmonic mean of precision and recall in [0, 1]; required by the validator."""
    validation_loss: float | None = Field(default=None, ge=0.0)
    """Validation loss, >= 0."""
    additional_metrics: dict[str, float] = Field(default_factory=dict)
    """Every other logged scalar, by its logged name."""


class CheckpointingConfig(_Model):
    """The ModelCheckpoint settings that produced the file."""

    monitor: str | None = None
    """Monitored metric, e.g. ``val/hmean``."""
    mode: Literal["min", "max"] = "max"
    """Whether lower or higher monitor values are better."""
    save_top_k: int = Field(default=1, ge=-1, le=MAX_INT)
    """How many best files are kept (-1: all)."""
    save_last: bool | Literal["link"] | None = None
    """Whether a ``last`` checkpoint is kept (``"link"``: as a link)."""


class CkptTuiBlock(_Model):
    """ckpt-tui's extension block (``ckpt_tui:``): who wrote the sidecar, when, what no source
    knew and where each value came from. Readers of the V1 schema ignore it (an extra key)."""

    written_by: str
    """The writer and its version, e.g. ``ckpt-tui 0.1.0 convert``."""
    written_at: str
    """When the sidecar was written, ISO 8601."""
    unknown: list[str] = Field(default_factory=list)
    """Key paths (``metrics.hmean``) that no source knew when the sidecar was written: they are
    left out of the document rather than guessed."""
    provenance: dict[str, str] = Field(default_factory=dict)
    """Key path → where its value came from before the conversion, e.g.
    ``training.epoch: checkpoint epoch``."""


UNKNOWABLE_REQUIRED: tuple[str, ...] = ("model.architecture", "model.encoder.model_name")
"""Fields the reference requires that a writer may honestly not know: a sidecar may leave them
out only when its ``ckpt_tui`` block lists them in ``unknown``."""


class CheckpointMetadataV1(_Model):
    """Everything a sidecar says about one checkpoint (schema version 1.0)."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    """Schema version; only "1.0" exists."""
    checkpoint_path: str
    """Path of the checkpoint the sidecar describes."""
    exp_name: str
    """Experiment name."""
    created_at: str
    """When the checkpoint was written, ISO 8601."""
    training: TrainingInfo
    """Epoch, step and phase."""
    model: ModelInfo
    """Architecture and components."""
    metrics: MetricsInfo
    """Validation metrics."""
    checkpointing: CheckpointingConfig = Field(default_factory=CheckpointingConfig)
    """ModelCheckpoint settings."""
    hydra_config_path: str | None = None
    """The run's Hydra config, when known."""
    wandb_run_id: str | None = None
    """The W&B run id, when known."""
    ckpt_tui: CkptTuiBlock | None = None
    """ckpt-tui's extension block, when ckpt-tui wrote the sidecar (ignored by V1 readers)."""

    @model_validator(mode="after")
    def _required_names(self) -> CheckpointMetadataV1:
        # The reference requires these names; a writer that does not know one records that in
        # its ckpt_tui block instead of writing a guess ("unknown"), and only then may omit it.
        recorded = set(self.ckpt_tui.unknown) if self.ckpt_tui is not None else set()
        model = self.model
        for path, value in zip(
            UNKNOWABLE_REQUIRED, (model.architecture, model.encoder.model_name), strict=True
        ):
            if value is None and path not in recorded:
                raise PydanticCustomError("missing", "{path}: Field required", {"path": path})
        return self

    @field_validator("created_at", mode="before")
    @classmethod
    def _iso8601(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 string")
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from exc
        return value

    def to_yaml_dict(self) -> dict[str, Any]:
        """The plain data written to a sidecar (JSON-compatible, ``None`` values dropped)."""
        return self.model_dump(mode="json", exclude_none=True)
