"""Planning a conversion: what sidecar each checkpoint would get, from what the catalog knows.

:func:`plan_item` works out exactly what would be written for one entry (a valid
``CheckpointMetadataV1`` as plain data, plus the fields no source knew), or why nothing can be.
The documents are validated with pydantic's ``CheckpointMetadataV1``, as every sidecar read is.
Writing is :mod:`ckpt_tui.convert.write`'s job,
and :mod:`ckpt_tui.convert.engine` runs the two for the CLI and the TUI alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ckpt_tui.catalog.verify import ReadVerdict, read_verdict, with_verdict
from ckpt_tui.io.safe_yaml import dump_yaml
from ckpt_tui.io.text import escape_surrogates, iso_local_time
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.model.placeholders import UNKNOWN
from ckpt_tui.sidecar.files import find_sidecar, sidecar_path_for

if TYPE_CHECKING:
    from ckpt_tui.model.schema import CheckpointMetadataV1

Action = Literal["write", "replace", "skip", "impossible"]
Outcome = Literal["written", "skipped", "failed"]


@dataclass(eq=False)
class ConversionItem:
    """What the conversion would do for one checkpoint."""

    entry: CheckpointCatalogEntry
    """The merged catalog entry the metadata is built from."""
    checkpoint: Path
    """The checkpoint file (never modified)."""
    target: Path
    """The sidecar that would be written (``<stem>.metadata.yaml``)."""
    action: Action
    """``write`` (no sidecar yet), ``replace`` (``--force``), ``skip`` or ``impossible``."""
    data: dict[str, Any] | None = None
    """The validated sidecar document (``CheckpointMetadataV1.to_yaml_dict()`` form); ``None``
    when it cannot be built. Plain data: building it needs no pydantic (see ``metadata``)."""
    unknown_fields: list[str] = field(default_factory=list)
    """Fields that no source knew, written as the reference did ("unknown") or as a default."""
    reason: str = ""
    """Why the item is skipped or impossible."""

    @property
    def safety(self) -> str:
        """The checkpoint's safety verdict (read while planning when the entry had none)."""
        return self.entry.safety

    @property
    def unsafe_globals(self) -> list[str]:
        """The globals that make it ``unsafe``."""
        return self.entry.unsafe_globals

    @cached_property
    def metadata(self) -> CheckpointMetadataV1 | None:
        """The metadata to write as a model; ``None`` when it cannot be built (imports pydantic)."""
        if self.data is None:
            return None
        from ckpt_tui.model.schema import CheckpointMetadataV1

        return CheckpointMetadataV1.model_validate(self.data)

    def preview_yaml(self) -> str:
        """The exact YAML that would be written (empty when nothing would be)."""
        return dump_yaml(self.data) if self.data is not None else ""

    def payload(self) -> bytes:
        """The exact bytes that would be written (empty when nothing would be)."""
        return self.preview_yaml().encode("utf-8")


@dataclass
class ConversionPlan:
    """Every item of one conversion."""

    items: list[ConversionItem]
    """One item per candidate checkpoint."""


def sidecar_data_from_entry(entry: CheckpointCatalogEntry) -> tuple[dict[str, Any], list[str]]:
    """Build the sidecar document for ``entry``; returns it with the fields no source knew.

    The document is validated as ``CheckpointMetadataV1`` and returned in ``to_yaml_dict()`` form.
    Raises ``ValueError`` when no valid metadata can be built (epoch or step unknown).
    """
    unknown: list[str] = []

    def name(value: str | None, field_name: str) -> str:
        if value:
            return value
        unknown.append(field_name)
        return UNKNOWN

    if entry.epoch is None or entry.global_step is None:
        missing = "epoch" if entry.epoch is None else "global_step"
        raise ValueError(f"no source knows the {missing}; a sidecar needs it")
    mode = entry.monitor_mode
    if mode is None:
        unknown.append("checkpointing.mode")
        mode = "min" if entry.monitor and "loss" in entry.monitor.lower() else "max"
    if entry.save_top_k is None:
        unknown.append("checkpointing.save_top_k")
    created = entry.mtime if entry.mtime is not None else Path(entry.abs_path).stat().st_mtime
    data = {
        "checkpoint_path": entry.checkpoint_path,
        "exp_name": name(entry.exp_name, "exp_name"),
        "created_at": iso_local_time(created),
        "training": {
            "epoch": entry.epoch,
            "global_step": entry.global_step,
            "max_epochs": entry.max_epochs if entry.max_epochs and entry.max_epochs >= 1 else None,
        },
        "model": {
            "architecture": name(entry.architecture, "model.architecture"),
            "encoder": {"model_name": name(entry.backbone, "model.encoder.model_name")},
            "decoder": {"name": entry.decoder},
            "head": {"name": entry.head},
            "loss": {"name": entry.loss},
        },
        "metrics": {
            "hmean": entry.hmean,
            "precision": entry.precision,
            "recall": entry.recall,
            "validation_loss": entry.validation_loss,
            "additional_metrics": dict(entry.additional_metrics),
        },
        "checkpointing": {
            "monitor": entry.monitor,
            "mode": mode,
            "save_top_k": entry.save_top_k if entry.save_top_k is not None else 1,
            "save_last": entry.save_last,
        },
        "hydra_config_path": entry.hydra_config_path,
        "wandb_run_id": entry.wandb_run_id,
    }
    for metric in ("hmean", "precision", "recall"):
        if getattr(entry, metric) is None:
            unknown.append(f"metrics.{metric}")
    # YAML (UTF-8) cannot hold lone surrogates (odd file names): escape them before validating.
    return _validate_with_pydantic(_utf8_safe(data)), unknown


def _validate_with_pydantic(data: dict[str, Any]) -> dict[str, Any]:
    from pydantic import ValidationError

    from ckpt_tui.model.schema import CheckpointMetadataV1

    try:
        return CheckpointMetadataV1.model_validate(data).to_yaml_dict()
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where}: {first['msg']}") from exc


def _utf8_safe(value: Any) -> Any:
    """``value`` with lone surrogates in its strings written as backslash escapes.

    A file name that is not UTF-8 reaches Python as lone surrogates (``os.fsdecode``), and so may
    a string in a hostile checkpoint; YAML (UTF-8) cannot hold them, so the sidecar records
    ``inv\\xffalid`` for the byte 0xff, as the rest of ckpt-tui shows it.
    """
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, dict):
        return {_utf8_safe(key): _utf8_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_utf8_safe(item) for item in value]
    return value


UNSAFE_REASONS = {
    "unsafe": "unsafe: would run code when loaded",
    "code": "code: a TorchScript or torch.export archive runs its code when loaded",
}
"""Why a checkpoint with this verdict is skipped unless forced."""


def plan_item(
    entry: CheckpointCatalogEntry, *, force: bool = False, read: ReadVerdict = read_verdict
) -> ConversionItem:
    """Work out what converting one entry would write.

    The item records the checkpoint's verdict: an ``unchecked`` entry's file is read (``read``)
    first. An ``unsafe`` or ``code`` checkpoint is skipped unless ``force``: its sidecar would
    describe it, and a sidecar-described row starts ``unchecked``, until its file is read again.
    """
    checkpoint = Path(entry.abs_path)
    item = ConversionItem(entry, checkpoint, sidecar_path_for(checkpoint), "write")
    existing, _ = find_sidecar(checkpoint)
    if existing is not None and not force:
        item.action, item.reason = "skip", f"sidecar exists: {existing.name}"
        return item
    if entry.safety == "unchecked" and entry.abs_path:
        entry = item.entry = with_verdict(entry, read(entry.abs_path))
    if entry.safety in UNSAFE_REASONS and not force:
        item.action, item.reason = "skip", UNSAFE_REASONS[entry.safety]
        return item
    # A SECURITY error is the verdict, handled above; any other error means nothing to describe.
    broken = [
        issue
        for issue in entry.issues
        if issue.severity == "error" and not issue.code.startswith("security.")
    ]
    if broken and entry.source != "sidecar":
        item.action, item.reason = "impossible", broken[0].message
        return item
    try:
        item.data, item.unknown_fields = sidecar_data_from_entry(entry)
    except (ValueError, OSError) as exc:
        item.action, item.reason = "impossible", str(exc)
        return item
    if existing is not None:
        item.action = "replace"
    return item


def plan_conversion(
    entries: Iterable[CheckpointCatalogEntry],
    *,
    force: bool = False,
    read: ReadVerdict = read_verdict,
) -> ConversionPlan:
    """Plan converting ``entries``; checkpoints with a sidecar, and unsafe ones, are skipped
    unless ``force`` (see :func:`plan_item`)."""
    return ConversionPlan([plan_item(entry, force=force, read=read) for entry in entries])
