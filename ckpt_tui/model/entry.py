"""The catalog's own models: one entry per checkpoint, and the catalog that holds them.

``CheckpointCatalogEntry`` carries the JSON entry of docs/reference.md (``to_json()`` gives exactly
those fields) plus the detail the TUI and the conversion need (decoder, head, loss, ...).
Unknown is ``None``, never the string "unknown"; epoch 0 is a real epoch.

These are plain slotted dataclasses, not pydantic models: the catalog makes one per checkpoint
(10,000 in a big tree) and the TUI imports them before its first paint, which pydantic's import
and schema building would delay. Values from untrusted tiers (configs, checkpoints) pass
:func:`checked_values` first; the sidecar itself is still validated by pydantic
(:mod:`ckpt_tui.model.schema`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from ckpt_tui.model.issue import SEVERITY_RANK, Issue, Severity
from ckpt_tui.model.values import FORMAT_VALUES, SAFETY_VALUES, Safety, Source

__all__ = [
    "FIELD_NAMES", "FORMAT_VALUES", "JSON_FIELDS", "SAFETY_VALUES", "SEVERITY_RANK",
    "CheckpointCatalog", "CheckpointCatalogEntry", "Issue", "Safety", "Severity", "Source",
    "checked_values",
]  # fmt: skip

#: The fields of one entry in ``list --json`` / ``show --json``, in order (docs/reference.md).
JSON_FIELDS: tuple[str, ...] = (
    "checkpoint_path",
    "file_name",
    "format",
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
    "safety",
    "unsafe_globals",
    "provenance",
    "issues",
)

_NAME_LIMIT = 23
_NAME_KEEP = 20
_SOURCES = frozenset(("sidecar", "config", "checkpoint", "path"))


@dataclass(slots=True)
class CheckpointCatalogEntry:
    """Everything known about one checkpoint, merged from the best source for each field."""

    checkpoint_path: str
    """Path relative to the catalog root, "/"-separated."""
    abs_path: str = ""
    """Absolute path on this machine (not part of the JSON contract)."""
    format: str = "unknown"
    """What wrote it: one of :data:`FORMAT_VALUES` (``unknown`` until the file is read)."""
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
    mtime: float | None = None
    """Modification time (seconds since the epoch; not part of the JSON contract)."""
    source: Source = "path"
    """The best tier that answered."""
    sidecar_path: str | None = None
    """The sidecar that was read, relative to the root."""
    config_path: str | None = None
    """The config that was read, relative to the root."""
    safety: Safety = "unchecked"
    """What ``torch.load`` of the file would do: ``safe``, ``unsafe`` (a global outside the
    allowlist), ``code`` (TorchScript or torch.export), ``unreadable``, or ``unchecked`` (not read
    yet: a sidecar answered). It belongs to the file: only the checkpoint tier sets it."""
    unsafe_globals: list[str] = field(default_factory=list)
    """Every ``module.name`` outside the allowlist, from every pickle of the file."""
    provenance: dict[str, str] = field(default_factory=dict)
    """For each known field, where its value came from."""
    issues: list[Issue] = field(default_factory=list)
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
    additional_metrics: dict[str, float] = field(default_factory=dict)
    """Other scalar metrics."""
    save_top_k: int | None = None
    """ModelCheckpoint save_top_k."""
    save_last: bool | str | None = None
    """ModelCheckpoint save_last."""
    hydra_config_path: str | None = None
    """The run's Hydra config."""
    wandb_run_id: str | None = None
    """The W&B run id."""
    details: dict[str, Any] = field(default_factory=dict)
    """Tier-specific extras for ``show`` and the detail pane (hyper-parameters, state dict;
    not part of the JSON contract)."""

    @property
    def file_name(self) -> str:
        """The checkpoint's own file or folder name (``last.ckpt``, ``checkpoint-500``): the
        part of the path that tells the checkpoints of one run apart."""
        return self.checkpoint_path.rpartition("/")[2]

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
        """The entry as the documented JSON object, fields in contract order."""
        data = self.to_dict()
        data["display_name"] = self.to_display_option()
        data["file_name"] = self.file_name
        return {name: data[name] for name in JSON_FIELDS}

    def to_dict(self, *, exclude_defaults: bool = False) -> dict[str, Any]:
        """Every public field as JSON-ready data (issues as objects); ``abs_path``, ``mtime``
        and ``details`` are left out, as they are not part of what the entry says."""
        data: dict[str, Any] = {}
        for name in _PUBLIC_FIELDS:
            value = getattr(self, name)
            if exclude_defaults and value == _DEFAULTS[name]:
                continue
            if name == "issues":
                value = [issue.to_dict() for issue in value]
            elif name in _DICT_FIELDS:
                value = dict(value)
            elif name in _LIST_FIELDS:
                value = list(value)
            data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckpointCatalogEntry:
        """The entry :meth:`to_dict` gave (plus optional ``abs_path``, ``mtime``, ``details``).

        Raises ``TypeError`` / ``ValueError`` / ``KeyError`` when ``data`` is not such a dict.
        """
        values = dict(data)
        values["issues"] = [Issue.from_dict(issue) for issue in values.get("issues", ())]
        return cls.from_values(values)

    @classmethod
    def from_row(cls, row: list[Any]) -> CheckpointCatalogEntry:
        """An entry from every field's value in :data:`FIELD_NAMES` order (``issues`` already
        :class:`Issue` objects), type-checked; raises ``TypeError`` / ``ValueError``.

        The cache's way in: positional, and a row that fits exactly costs one pass of type checks.
        """
        if len(row) == len(FIELD_NAMES) and _row_fits(row):
            return cls(*row)
        return cls.from_values(dict(zip(FIELD_NAMES, row, strict=True)))

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> CheckpointCatalogEntry:
        """An entry from field values (``issues`` already :class:`Issue` objects), type-checked
        as :func:`checked_values` does; raises ``TypeError`` / ``ValueError`` naming a bad field.
        """
        issues = values.pop("issues", [])
        if type(issues) is not list or not all(type(issue) is Issue for issue in issues):
            raise TypeError("issues: not a list of issues")
        return cls(issues=issues, **checked_values(values))


def _compact_timestamp(created_at: str | None) -> str | None:
    if not created_at:
        return None
    try:
        return datetime.fromisoformat(created_at.replace("Z", "+00:00")).strftime("%Y%m%d_%H%M")
    except ValueError:
        return None


_INTERNAL_FIELDS = frozenset(("abs_path", "mtime", "details"))
_DICT_FIELDS = frozenset(("provenance", "additional_metrics"))
_LIST_FIELDS = frozenset(("unsafe_globals",))
_DEFAULTS: dict[str, Any] = {
    f.name: (f.default_factory() if callable(f.default_factory) else f.default)
    for f in fields(CheckpointCatalogEntry)
}
_PUBLIC_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(CheckpointCatalogEntry) if f.name not in _INTERNAL_FIELDS
)
_STR_FIELDS = frozenset(
    (
        "checkpoint_path", "abs_path", "exp_name", "architecture", "backbone", "monitor",
        "created_at", "sidecar_path", "config_path", "decoder", "head", "loss",
        "hydra_config_path", "wandb_run_id",
    )
)  # fmt: skip
_INT_FIELDS = frozenset(("epoch", "global_step", "size_bytes", "max_epochs", "save_top_k"))
_FLOAT_FIELDS = frozenset(
    ("hmean", "precision", "recall", "monitor_value", "validation_loss", "mtime")
)
_NOT_NULL = frozenset(
    ("checkpoint_path", "abs_path", "exp_name", "size_bytes", "source", "safety", "format")
)
_NONE = type(None)
#: The exact type(s) each field holds once checked (what the cache gives back through JSON).
_EXACT_TYPES: dict[str, tuple[type, ...]] = {
    **{name: (str,) if name in _NOT_NULL else (str, _NONE) for name in _STR_FIELDS},
    **{name: (int,) if name in _NOT_NULL else (int, _NONE) for name in _INT_FIELDS},
    **{name: (float, _NONE) for name in _FLOAT_FIELDS},
    "save_last": (bool, str, _NONE),
    "source": (str,),
    "monitor_mode": (str, _NONE),
    "safety": (str,),
    "format": (str,),
    "unsafe_globals": (list,),
    "issues": (list,),
    "provenance": (dict,),
    "additional_metrics": (dict,),
    "details": (dict,),
}

#: Every field of an entry, in order: the positional order of ``CheckpointCatalogEntry.from_row``.
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(CheckpointCatalogEntry))
_ROW_TYPES: tuple[tuple[type, ...], ...] = tuple(_EXACT_TYPES[name] for name in FIELD_NAMES)
_AT = {name: index for index, name in enumerate(FIELD_NAMES)}
_SOURCE_AT, _MODE_AT, _ISSUES_AT = _AT["source"], _AT["monitor_mode"], _AT["issues"]
_PROVENANCE_AT, _METRICS_AT = _AT["provenance"], _AT["additional_metrics"]
_SAFETY_AT, _UNSAFE_AT, _FORMAT_AT = _AT["safety"], _AT["unsafe_globals"], _AT["format"]
_MODES = frozenset((None, "min", "max"))


def _row_fits(row: list[Any]) -> bool:
    for allowed, value in zip(_ROW_TYPES, row, strict=True):
        if type(value) not in allowed:
            return False
    return (
        row[_SOURCE_AT] in _SOURCES
        and row[_MODE_AT] in _MODES
        and all(type(issue) is Issue for issue in row[_ISSUES_AT])
        and all(type(v) is str for v in row[_PROVENANCE_AT].values())
        and all(type(v) is float for v in row[_METRICS_AT].values())
        and row[_SAFETY_AT] in SAFETY_VALUES
        and row[_FORMAT_AT] in FORMAT_VALUES
        and all(type(name) is str for name in row[_UNSAFE_AT])
    )


def checked_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` checked against the entry's field types, ints widened to float where a float
    is due; raises ``TypeError`` / ``ValueError`` naming the first field that does not fit.

    The catalog runs values from configs and checkpoints (untrusted data) through this before
    building an entry, so a wrong type becomes one entry with an error, never a broken row.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None and name not in _NOT_NULL and name in _DEFAULTS:
            out[name] = None
            continue
        if name in _STR_FIELDS:
            ok = type(value) is str
        elif name in _INT_FIELDS:
            ok = type(value) is int
        elif name in _FLOAT_FIELDS:
            ok = type(value) is float or type(value) is int
            if ok:
                value = float(value)
                if not math.isfinite(value):  # NaN or inf says nothing: unknown
                    value = None
        elif name == "source":
            ok = value in _SOURCES
        elif name == "monitor_mode":
            ok = value in ("min", "max")
        elif name == "safety":
            ok = value in SAFETY_VALUES
        elif name == "format":
            ok = value in FORMAT_VALUES
        elif name == "unsafe_globals":
            ok = isinstance(value, list) and all(type(item) is str for item in value)
        elif name == "save_last":
            ok = type(value) is bool or type(value) is str
        elif name == "additional_metrics":
            ok = isinstance(value, dict) and all(
                type(k) is str and type(v) in (int, float) and not isinstance(v, bool)
                for k, v in value.items()
            )
            if ok:
                value = {k: float(v) for k, v in value.items()}
        elif name == "provenance":
            ok = isinstance(value, dict) and all(
                type(k) is str and type(v) is str for k, v in value.items()
            )
        elif name == "details":
            ok = isinstance(value, dict)
        else:
            raise TypeError(f"{name}: not a field of a catalog entry")
        if not ok:
            raise TypeError(f"{name}: {type(value).__name__} {value!r:.80} does not fit the field")
        out[name] = value
    return out


@dataclass(slots=True)
class CheckpointCatalog:
    """All entries under one root, with the build's statistics."""

    root: str
    """The folder that was scanned."""
    entries: list[CheckpointCatalogEntry] = field(default_factory=list)
    """One entry per checkpoint."""
    catalog_build_time_seconds: float = 0.0
    """Wall time of the build."""
    scan_issues: list[Issue] = field(default_factory=list)
    """Problems met while walking the tree (unreadable folders, ...)."""

    @property
    def total_count(self) -> int:
        """Number of checkpoints."""
        return len(self.entries)

    @property
    def metadata_available_count(self) -> int:
        """Checkpoints answered by a valid sidecar."""
        return sum(1 for entry in self.entries if entry.source == "sidecar")

    @property
    def metadata_coverage_percent(self) -> float:
        """Share of checkpoints with a valid sidecar, in percent."""
        return 100.0 * self.metadata_available_count / self.total_count if self.entries else 0.0
