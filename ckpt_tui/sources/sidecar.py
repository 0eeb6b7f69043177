"""The sidecar tier, read on the catalog's hot path.

Same rules as :func:`ckpt_tui.sidecar.files.read_sidecar` (both names, the newer wins with a
warning, 1 MiB limit, safe YAML only, schema problems as issues naming the field), but faster for
whole trees: the folder listing the walk already made says which sidecars exist, so no stat is
spent on absent ones, and the plain YAML sidecars are written in is read by
:mod:`ckpt_tui.io.yaml_subset` (anything unusual falls back to the safe loader).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from ckpt_tui.catalog.discover import Folder
from ckpt_tui.io.safe_yaml import (
    MAX_SIDECAR_BYTES,
    UnsafeDocumentError,
    parse_yaml,
    read_bounded_text,
)
from ckpt_tui.io.yaml_subset import FALLBACK, parse_simple_yaml
from ckpt_tui.model.entry import Issue
from ckpt_tui.model.placeholders import known
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, parse_sidecar, stem_of
from ckpt_tui.sidecar.schema_fast import ValidSidecar
from ckpt_tui.sidecar.validate import metric_rule_issues
from ckpt_tui.sources.merge import TierResult


@dataclass
class SidecarFound:
    """Which sidecar files exist for one checkpoint, from the folder listing."""

    present: list[tuple[str, os.stat_result]] = field(default_factory=list)
    """``(name, stat)`` of each existing sidecar, in candidate order."""
    issues: list[Issue] = field(default_factory=list)
    """Problems met while looking (a sidecar that is not a regular file)."""

    @property
    def signature(self) -> str:
        """Changes whenever a sidecar appears, disappears or changes."""
        return "|".join(f"{n}:{s.st_size}:{s.st_mtime_ns}" for n, s in self.present)

    def chosen(self) -> tuple[str | None, list[Issue]]:
        """The sidecar to read (the newer when both names exist) and a warning when both do."""
        if not self.present:
            return None, []
        if len(self.present) == 1:
            return self.present[0][0], []
        newest = max(self.present, key=lambda item: item[1].st_mtime_ns)[0]
        other = next(name for name, _ in self.present if name != newest)
        warning = Issue(
            severity="warning",
            code="sidecar.duplicate",
            message=f"two sidecars: using the newer {newest}, ignoring {other}",
        )
        return newest, [warning]


def find_sidecars(folder: Folder, ckpt_name: str) -> SidecarFound:
    """The sidecars of ``ckpt_name`` in ``folder`` (``<stem>`` and ``<name>`` + .metadata.yaml)."""
    found = SidecarFound()
    by_stem = stem_of(ckpt_name) + SIDECAR_SUFFIX
    by_name = ckpt_name + SIDECAR_SUFFIX
    for name in (by_stem, by_name) if by_stem != by_name else (by_stem,):
        entry = folder.aux.get(name)
        if entry is None:
            continue
        try:
            info = entry.stat()
        except OSError:
            continue  # a dangling link: no sidecar
        if not stat.S_ISREG(info.st_mode):
            found.issues.append(
                Issue(
                    severity="error",
                    code="sidecar.unreadable",
                    message=f"{name}: not a regular file",
                )
            )
            continue
        found.present.append((name, info))
    return found


def read_sidecar_file(path: str, name: str) -> tuple[ValidSidecar | None, list[Issue]]:
    """Read and validate one sidecar; never raises for a bad or hostile file.

    Plain sidecars (nearly all) are validated without pydantic (``sidecar.schema_fast``).
    """
    try:
        text = read_bounded_text(path, MAX_SIDECAR_BYTES)
        data = parse_simple_yaml(text)
        if data is FALLBACK:
            data = parse_yaml(text)
    except (UnsafeDocumentError, OSError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        return None, [
            Issue(severity="error", code="sidecar.unreadable", message=f"{name}: {reason}")
        ]
    valid, issues = parse_sidecar(data, source=name)
    if valid is not None:
        issues.extend(metric_rule_issues(valid.data["metrics"], source=name))
    return valid, issues


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


def sidecar_tier(sidecar: ValidSidecar) -> TierResult:
    """The fields a valid sidecar gives, with ``sidecar <key path>`` provenance."""
    data = sidecar.data
    training: dict[str, Any] = data["training"]
    model: dict[str, Any] = data["model"]
    metrics: dict[str, Any] = data["metrics"]
    checkpointing: dict[str, Any] = data["checkpointing"]
    monitor = known(checkpointing.get("monitor"))
    # The schema defaults mode to "max" and save_top_k to 1: only what the file says is known.
    given = sidecar.checkpointing_given
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
