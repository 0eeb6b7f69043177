"""The sidecar tier: the fields a valid sidecar gives, with ``sidecar <key path>`` provenance.

Finding, choosing and reading the sidecar is :mod:`ckpt_tui.sidecar.files` (the one reader, which
the catalog feeds with the folder listing its walk already made); this module turns what it read
into the tier's values and adds the business rules' issues, as ``validate`` reports them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ckpt_tui.model.placeholders import known
from ckpt_tui.sidecar.document import via_sidecar
from ckpt_tui.sidecar.files import SidecarFound, read_chosen
from ckpt_tui.sidecar.validate import business_rule_issues
from ckpt_tui.sources.merge import TierResult

if TYPE_CHECKING:
    from ckpt_tui.model.schema import CheckpointMetadataV1, CkptTuiBlock


def read_tier(found: SidecarFound) -> tuple[TierResult, str | None]:
    """The sidecar tier from the sidecars ``found`` for one checkpoint, and the name of the
    sidecar chosen (valid or not; ``None`` when there is none).

    The tier has values (and ``file``) only when the sidecar is valid. Never raises for a bad or
    hostile file.
    """
    name, metadata, issues = read_chosen(found)
    if name is None or metadata is None:
        return TierResult(kind="sidecar", issues=issues), name
    tier = sidecar_tier(metadata)
    tier.issues = issues + business_rule_issues(metadata, source=name)
    tier.file = os.path.join(found.folder, name)
    return tier, name


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


_MAX_PROVENANCE = 200
"""Longest provenance kept from a sidecar's ``ckpt_tui`` block (it is shown on one line)."""


def sidecar_tier(metadata: CheckpointMetadataV1) -> TierResult:
    """The fields a valid sidecar gives, with their provenance.

    A sidecar ckpt-tui wrote carries a ``ckpt_tui`` block that kept each value's origin:
    ``checkpoint epoch (via sidecar, converted 2026-12-07)`` for ``convert``, ``trainer
    current_epoch (via sidecar, written during training 2026-12-07)`` for the training callback.
    Any other sidecar's values are ``sidecar <key path>``.
    """
    training, model, metrics = metadata.training, metadata.model, metadata.metrics
    checkpointing = metadata.checkpointing
    monitor = known(checkpointing.monitor)
    block = metadata.ckpt_tui
    # The schema defaults mode to "max" and save_top_k to 1: only what the file says is known.
    # The reference wrote mode with every monitor; ckpt-tui writes it only when a source knew it.
    given = checkpointing.model_fields_set
    mode_known = "mode" in given or (monitor is not None and block is None)
    found = {
        "exp_name": known(metadata.exp_name),
        "created_at": metadata.created_at,
        "epoch": training.epoch,
        "global_step": training.global_step,
        "max_epochs": training.max_epochs,
        "architecture": known(model.architecture),
        "backbone": known(model.encoder.model_name),
        "decoder": known(model.decoder.name),
        "head": known(model.head.name),
        "loss": known(model.loss.name),
        "hmean": metrics.hmean,
        "precision": metrics.precision,
        "recall": metrics.recall,
        "validation_loss": metrics.validation_loss,
        "additional_metrics": dict(metrics.additional_metrics) or None,
        "monitor": monitor,
        "monitor_mode": checkpointing.mode if mode_known else None,
        "save_top_k": checkpointing.save_top_k if "save_top_k" in given else None,
        "save_last": checkpointing.save_last,
        "hydra_config_path": known(metadata.hydra_config_path),
        "wandb_run_id": known(metadata.wandb_run_id),
    }
    values = {name: value for name, value in found.items() if value is not None}
    if block is None:
        provenance = {name: _PROVENANCE[name] for name in values}
    else:
        provenance = {name: _recorded_provenance(block, name) for name in values}
    return TierResult(kind="sidecar", values=values, provenance=provenance)


def _recorded_provenance(block: CkptTuiBlock, name: str) -> str:
    """Where a value of a sidecar ckpt-tui wrote came from, as its block recorded it."""
    key = SIDECAR_FIELDS[name]
    origin = block.provenance.get(key)
    if not origin:
        return _PROVENANCE[name]
    if len(origin) > _MAX_PROVENANCE:
        origin = origin[: _MAX_PROVENANCE - 1] + "…"
    return via_sidecar(block, origin)
