"""One side of a comparison: a catalog entry plus what its file says, read safely now.

A :class:`CheckpointSnapshot` is built from the entry the catalog made (sidecar, config, path and
checkpoint tiers merged) and from a fresh read of the file by the safe reader: the safety
verdict (always the file's own), the hyper-parameters and the weights' structure (key names,
shapes and dtypes, from the pickle's records; no tensor data is read). Nothing in the file runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ckpt_tui.catalog.verify import with_verdict
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.reader import CheckpointInspection, TensorInfo, inspect_checkpoint
from ckpt_tui.sources.checkpoint import checkpoint_tier_or_issue, tier_from_inspection
from ckpt_tui.sources.merge import TierResult

Entry = CheckpointCatalogEntry

HPARAMS_SOURCE = "checkpoint hyper_parameters"
"""``config_source`` when the configuration came from the file's own hyper-parameters."""


@dataclass(slots=True)
class CheckpointSnapshot:
    """Everything compared about one checkpoint (plain data; no tensors)."""

    entry: Entry
    """The catalog entry, with the verdict of its file as read now."""
    format: str | None = None
    """The container the reader found (``zip``, ``legacy``, ``safetensors``); ``None`` unread."""
    lightning_version: str | None = None
    """``pytorch-lightning_version`` saved in the file."""
    config: dict[str, Any] | None = None
    """The training configuration as plain nested data: the file's ``hyper_parameters`` (with
    ``datamodule_hyper_parameters`` under ``datamodule``), else the run's config file."""
    config_source: str | None = None
    """Where ``config`` came from: ``checkpoint hyper_parameters`` or the config file's path
    relative to the catalog root."""
    weights_key: str | None = None
    """Where the weights are in the file (``state_dict``, ``model``, ``""`` for a bare state
    dict); ``None`` when no weights were found."""
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    """Every tensor of the weights: dtype and shape (from the pickle's records)."""
    optimizer: str | None = None
    """The optimizer's class name, when the file tells it."""
    learning_rates: list[float | None] = field(default_factory=list)
    """Each parameter group's learning rate at save time."""
    read_issues: list[Issue] = field(default_factory=list)
    """Errors from reading the file (it could not be compared fully)."""

    @property
    def label(self) -> str:
        """The checkpoint's path as the catalog shows it."""
        return self.entry.checkpoint_path

    @property
    def readable(self) -> bool:
        """Whether the safe reader could read the file at all."""
        return self.format not in (None, "unknown") and self.entry.safety != "unreadable"


def catalog_root(entry: Entry) -> str | None:
    """The catalog root ``entry`` was described under (its ``abs_path`` minus its path)."""
    tail = os.sep + entry.checkpoint_path.replace("/", os.sep)
    if entry.abs_path.endswith(tail):
        return entry.abs_path[: -len(tail)] or os.sep
    return None


def _config_file(entry: Entry) -> tuple[dict[str, Any] | None, str | None]:
    """The run's config file (the one the config tier read), as plain data."""
    from ckpt_tui.io.safe_yaml import MAX_CONFIG_BYTES, UnsafeDocumentError, load_document

    root = catalog_root(entry)
    if entry.config_path is None or root is None:
        return None, None
    try:
        data = load_document(Path(root, entry.config_path), MAX_CONFIG_BYTES)
    except (UnsafeDocumentError, OSError):
        # The catalog already reported the config's problem as an issue of the entry.
        return None, None
    return (dict(data), entry.config_path) if isinstance(data, dict) else (None, None)


def snapshot_from(entry: Entry, inspection: CheckpointInspection | None) -> CheckpointSnapshot:
    """The snapshot of ``entry`` given its file's inspection (``None``: the file was not read)."""
    snapshot = CheckpointSnapshot(entry=entry)
    if inspection is not None:
        snapshot.format = inspection.format
        snapshot.lightning_version = inspection.lightning_version
        snapshot.weights_key = inspection.weights_key
        snapshot.tensors = inspection.tensors
        snapshot.optimizer = inspection.optimizer
        snapshot.learning_rates = list(inspection.learning_rates)
        snapshot.read_issues = [i for i in inspection.issues if i.severity == "error"]
        if inspection.hyper_parameters is not None:
            config = dict(inspection.hyper_parameters)
            if inspection.datamodule_hyper_parameters:
                config["datamodule"] = inspection.datamodule_hyper_parameters
            snapshot.config, snapshot.config_source = config, HPARAMS_SOURCE
    if snapshot.config is None:
        snapshot.config, snapshot.config_source = _config_file(entry)
    return snapshot


def read_snapshot(entry: Entry) -> CheckpointSnapshot:
    """Read ``entry``'s file with the safe reader and return its snapshot; never raises for a
    bad file (an unreadable file is a snapshot with verdict ``unreadable`` and its errors)."""
    found: list[CheckpointInspection] = []

    def tier(path: str) -> TierResult:
        inspection = inspect_checkpoint(Path(path))
        found.append(inspection)
        return tier_from_inspection(inspection, details=False)

    result = checkpoint_tier_or_issue(entry.abs_path, tier)
    snapshot = snapshot_from(with_verdict(entry, result), found[0] if found else None)
    if not found:
        snapshot.read_issues = [i for i in result.issues if i.severity == "error"]
    return snapshot
