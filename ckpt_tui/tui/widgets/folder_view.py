"""The detail pane's part for a folder checkpoint: its files, the Trainer's best metric, and the
eval-metric history the pane draws as a sparkline. Pure functions over ``details["folder"]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui import formatting as fmt

MAX_FILES = 40
"""Files listed at most (a DeepSpeed folder can hold one per rank)."""


def folder_rows(entry: CheckpointCatalogEntry) -> list[tuple[str, object]]:
    """Label/value rows: each file with its size, then the Trainer's best metric and where."""
    folder = entry.details.get("folder")
    if not isinstance(folder, Mapping):
        return []
    rows: list[tuple[str, object]] = [
        ("format", folder.get("format")),
        ("files", folder.get("file_count")),
    ]
    files = folder.get("files")
    if isinstance(files, list):
        for item in files[:MAX_FILES]:
            if isinstance(item, list | tuple) and len(item) == 2:
                size = item[1]
                rows.append(("", f"{item[0]}  {fmt.human_size(size) if type(size) is int else ''}"))
        if len(files) > MAX_FILES:
            rows.append(("", f"… and {len(files) - MAX_FILES} more"))
    trainer = folder.get("trainer")
    if isinstance(trainer, Mapping):
        best = trainer.get("best_metric")
        rows.append(("best metric", fmt.metric(best) if isinstance(best, float | int) else best))
        holder = trainer.get("best_model_checkpoint")
        if holder:
            mark = " (this checkpoint)" if trainer.get("best_is_this") else ""
            rows.append(("best in", f"{holder}{mark}"))
    return rows


def eval_history(entry: CheckpointCatalogEntry) -> tuple[str, list[float]] | None:
    """``(metric, values)``: the monitored eval metric (else ``eval_loss``) over the Trainer's
    evaluations up to this checkpoint, oldest first; ``None`` without such a history."""
    folder = entry.details.get("folder")
    trainer = folder.get("trainer") if isinstance(folder, Mapping) else None
    points: Any = trainer.get("eval_history") if isinstance(trainer, Mapping) else None
    if not isinstance(points, list) or not points:
        return None
    names = [entry.monitor, "eval_loss"] if entry.monitor else ["eval_loss"]
    for name in names:
        values = [
            float(point[name])
            for point in points
            if isinstance(point, Mapping) and type(point.get(name)) in (int, float)
        ]
        if values:
            return name or "eval_loss", values
    return None
