"""The catalog's own models: one entry per checkpoint, and the catalog that holds them.

``CheckpointCatalogEntry`` carries the JSON entry of DESIGN.md (``to_json()`` gives exactly
those fields) plus the detail the TUI and the conversion need (decoder, head, loss, ...).
Unknown is ``None``, never the string "unknown"; epoch 0 is a real epoch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

Severity = Literal["error", "warning", "info"]
Source = Literal["sidecar", "config", "checkpoint", "path"]

#: The fields of one entry in ``list --json`` / ``show --json``, in order (DESIGN.md).
JSON_FIELDS: tuple[str, ...] = (
    "checkpoint_path",
    "exp_name",
    "display_name",
    "architecture",
    "backbone",
    "epoch",
    "global_step",
    "hmean",
    "precision",
    "recall",
    "monitor",
    "monitor_mode",
    "monitor_value",
    "created_at",
    "size_bytes",
    "source",
    "sidecar_path",
    "config_path",
    "provenance",
    "issues",
)

_NAME_LIMIT = 23
_NAME_KEEP = 20


class Issue(BaseModel):
    """One problem found with a checkpoint or its metadata."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    """``error`` (the entry is broken), ``warning`` (something is off) or ``info``."""
    code: str
    """Stable machine-readable code, e.g. ``sidecar.invalid`` or ``security.unsafe-global``."""
    message: str
    """One human-readable line."""

    def __str__(self) -> str:
        return f"{self.severity}: {self.message} [{self.code}]"


class CheckpointCatalogEntry(BaseModel):
    """Everything known about one checkpoint, merged from the best source for each field."""

    model_config = ConfigDict(validate_assignment=False)

    checkpoint_path: str
    """Path relative to the catalog root, "/"-separated."""
    abs_path: str = Field(default="", exclude=True)
    """Absolute path on this machine (not part of the JSON contract)."""
    exp_name: str = ""
    """Experiment name."""
    architecture: str | None = None
    """Detector family, e.g. ``dbnet``."""
    backbone: str | None = None
    """Encoder name, e.g. ``resnet50``."""
    epoch: int | None = None
    """0-indexed epoch; ``None`` when no source knows it."""
    global_step: int | None = None
    """Optimizer step."""
    hmean: float | None = None
    """Harmonic mean metric."""
    precision: float | None = None
    """Precision metric."""
    recall: float | None = None
    """Recall metric."""
    monitor: str | None = None
    """Metric ModelCheckpoint monitored."""
    monitor_mode: Literal["min", "max"] | None = None
    """Whether the monitor is minimised or maximised."""
    monitor_value: float | None = None
    """This file's own value of the monitored metric."""
    created_at: str | None = None
    """ISO 8601 creation time."""
    size_bytes: int = 0
    """File size."""
    mtime: float | None = Field(default=None, exclude=True)
    """Modification time (seconds since the epoch)."""
    source: Source = "path"
    """The best tier that answered."""
    sidecar_path: str | None = None
    """The sidecar that was read, relative to the root."""
    config_path: str | None = None
    """The config that was read, relative to the root."""
    provenance: dict[str, str] = Field(default_factory=dict)
    """For each known field, where its value came from."""
    issues: list[Issue] = Field(default_factory=list)
    """Problems found, worst first."""

    # Detail beyond the JSON contract: used by the detail pane and the conversion.
    decoder: str | None = None
    """Decoder name."""
    head: str | None = None
    """Head name."""
    loss: str | None = None
    """Loss name."""
    max_epochs: int | None = None
    """Planned epochs."""
    validation_loss: float | None = None
    """Validation loss."""
    additional_metrics: dict[str, float] = Field(default_factory=dict)
    """Other scalar metrics."""
    save_top_k: int | None = None
    """ModelCheckpoint save_top_k."""
    save_last: bool | str | None = None
    """ModelCheckpoint save_last."""
    hydra_config_path: str | None = None
    """The run's Hydra config."""
    wandb_run_id: str | None = None
    """The W&B run id."""
    details: dict[str, Any] = Field(default_factory=dict, exclude=True)
    """Tier-specific extras for ``show`` and the detail pane (hyper-parameters, state dict)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display_name(self) -> str:
        """The reference's ``to_display_option()`` string."""
        return self.to_display_option()

    @property
    def has_errors(self) -> bool:
        """Whether any issue is an error."""
        return any(issue.severity == "error" for issue in self.issues)

    def to_display_option(self) -> str:
        """The one-line label of the reference, e.g. ``dbnet · resnet50 · exp_name (ep10 •
        hmean 0.843 • prec 0.854 • rec 0.832 • 20251018_1432)``.

        Unknown parts are left out; so is the experiment name when it only repeats the
        architecture or encoder. Names over 23 characters become their first 20 + "...".
        """
        parts = [p for p in (self.architecture, self.backbone) if p]
        name = self.exp_name or ""
        repeats = {p.lower() for p in parts}
        if name and name.lower() not in repeats:
            parts.append(name if len(name) <= _NAME_LIMIT else name[:_NAME_KEEP] + "...")
        notes: list[str] = []
        if self.epoch is not None:
            notes.append(f"ep{self.epoch}")
        for label, value in (("hmean", self.hmean), ("prec", self.precision), ("rec", self.recall)):
            if value is not None:
                notes.append(f"{label} {value:.3f}")
        stamp = _compact_timestamp(self.created_at)
        if stamp:
            notes.append(stamp)
        text = " · ".join(parts) or self.checkpoint_path
        return f"{text} ({' • '.join(notes)})" if notes else text

    def to_json(self) -> dict[str, Any]:
        """The entry as DESIGN.md's JSON object, fields in contract order."""
        data = self.model_dump(mode="json")
        return {name: data[name] for name in JSON_FIELDS}


def _compact_timestamp(created_at: str | None) -> str | None:
    if not created_at:
        return None
    try:
        return datetime.fromisoformat(created_at.replace("Z", "+00:00")).strftime("%Y%m%d_%H%M")
    except ValueError:
        return None


class CheckpointCatalog(BaseModel):
    """All entries under one root, with the build's statistics."""

    root: str
    """The folder that was scanned."""
    entries: list[CheckpointCatalogEntry] = Field(default_factory=list)
    """One entry per checkpoint."""
    catalog_build_time_seconds: float = 0.0
    """Wall time of the build."""
    scan_issues: list[Issue] = Field(default_factory=list)
    """Problems met while walking the tree (unreadable folders, ...)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_count(self) -> int:
        """Number of checkpoints."""
        return len(self.entries)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def metadata_available_count(self) -> int:
        """Checkpoints answered by a valid sidecar."""
        return sum(1 for entry in self.entries if entry.source == "sidecar")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def metadata_coverage_percent(self) -> float:
        """Share of checkpoints with a valid sidecar, in percent."""
        return 100.0 * self.metadata_available_count / self.total_count if self.entries else 0.0
