"""The sidecar tier: the fields a valid sidecar gives, with ``sidecar <key path>`` provenance.

Finding, choosing and reading the sidecar is :mod:`ckpt_tui.sidecar.files` (the one reader, which
the catalog feeds with the folder listing its walk already made); this module turns what it read
into the tier's values and adds the business rules' issues, as ``validate`` reports them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ckpt_tui.model.placeholders import known
from ckpt_tui.sidecar.files import SidecarFound, read_found
from ckpt_tui.sidecar.validate import business_rule_issues
from ckpt_tui.sources.merge import TierResult

if TYPE_CHECKING:
    from ckpt_tui.model.schema import CheckpointMetadataV1


def read_tier(checkpoint: str, found: SidecarFound) -> tuple[TierResult, str | None]:
    """The sidecar tier of ``checkpoint`` from the sidecars ``found`` for it, and the name of the
    sidecar chosen (valid or not; ``None`` when there is none).

    The tier has values (and ``file``) only when the sidecar is valid. Never raises for a bad or
    hostile file.
    """
    read = read_found(checkpoint, found)
    if read.metadata is None or read.path is None:
        tier = TierResult(kind="sidecar", issues=read.issues)
    else:
        tier = sidecar_tier(read.metadata)
        tier.issues = read.issues + business_rule_issues(read.metadata, source=read.path.name)
        tier.file = os.fspath(read.path)
    return tier, None if read.path is None else read.path.name


#: Entry field → the sidecar key path it is read from (the provenance is "sidecar <key path>").
SIDECAR_FIELDS: dict[str, str] = {
    "exp_name": "exp_name",
    "created_at": "created_at",
    "epoch": "training.epoch",
    "global_step": "training.global_step",
    "max_epochs": "training.max_epochs",
    "architecture": "model.architecture",
    "backbone": "model.encoder.model_name",
    "decoder": "model.decoder.name",
    "head": "model.head.name",
    "loss": "model.loss.name",
    "hmean": "metrics.hmean",
    "precision": "metrics.precision",
    "recall": "metrics.recall",
    "validation_loss": "metrics.validation_loss",
    "additional_metrics": "metrics.additional_metrics",
    "monitor": "checkpointing.monitor",
    "monitor_mode": "checkpointing.mode",
    "save_top_k": "checkpointing.save_top_k",
    "save_last": "checkpointing.save_last",
    "hydra_config_path": "hydra_config_path",
    "wandb_run_id": "wandb_run_id",
}
_PROVENANCE = {name: f"sidecar {path}" for name, path in SIDECAR_FIELDS.items()}


def sidecar_tier(metadata: CheckpointMetadataV1) -> TierResult:
    """The fields a valid sidecar gives, with ``sidecar <key path>`` provenance."""
    data = metadata.to_yaml_dict()
    training: dict[str, Any] = data["training"]
    model: dict[str, Any] = data["model"]
    metrics: dict[str, Any] = data["metrics"]
    checkpointing: dict[str, Any] = data["checkpointing"]
    monitor = known(checkpointing.get("monitor"))
    # The schema defaults mode to "max" and save_top_k to 1: only what the file says is known.
    given = metadata.checkpointing.model_fields_set
    found = {
        "exp_name": known(data["exp_name"]),
        "created_at": data["created_at"],
        "epoch": training["epoch"],
        "global_step": training["global_step"],
        "max_epochs": training.get("max_epochs"),
        "architecture": known(model["architecture"]),
        "backbone": known(model["encoder"]["model_name"]),
        "decoder": known(model["decoder"].get("name")),
        "head": known(model["head"].get("name")),
        "loss": known(model["loss"].get("name")),
        "hmean": metrics.get("hmean"),
        "precision": metrics.get("precision"),
        "recall": metrics.get("recall"),
        "validation_loss": metrics.get("validation_loss"),
        "additional_metrics": dict(metrics["additional_metrics"]) or None,
        "monitor": monitor,
        "monitor_mode": checkpointing["mode"] if "mode" in given or monitor is not None else None,
        "save_top_k": checkpointing["save_top_k"] if "save_top_k" in given else None,
        "save_last": checkpointing.get("save_last"),
        "hydra_config_path": known(data.get("hydra_config_path")),
        "wandb_run_id": known(data.get("wandb_run_id")),
    }
    values = {name: value for name, value in found.items() if value is not None}
    return TierResult(
        kind="sidecar",
        values=values,
        provenance={name: _PROVENANCE[name] for name in values},
    )
