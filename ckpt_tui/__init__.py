"""ckpt-tui: browse a folder of PyTorch / Lightning checkpoints in seconds.

The public API keeps the reference design's names. Every name is imported on first use, so
``import ckpt_tui`` costs almost nothing: it pulls in neither torch nor textual (a test checks
this in a fresh interpreter), nor even pydantic until a model is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ckpt_tui.catalog.api import build_catalog, iter_catalog
    from ckpt_tui.catalog.validate import validate_tree
    from ckpt_tui.model.entry import CheckpointCatalog, CheckpointCatalogEntry, Issue
    from ckpt_tui.model.schema import (
        CheckpointingConfig,
        CheckpointMetadataV1,
        DecoderInfo,
        EncoderInfo,
        HeadInfo,
        LossInfo,
        MetricsInfo,
        ModelInfo,
        TrainingInfo,
    )
    from ckpt_tui.sidecar.files import (
        load_metadata,
        load_metadata_batch,
        read_sidecar,
        save_metadata,
    )
    from ckpt_tui.sidecar.validate import ValidationReport, validate_checkpoint

__version__ = "0.1.0"

_WHERE: dict[str, str] = {
    "build_catalog": "ckpt_tui.catalog.api",
    "iter_catalog": "ckpt_tui.catalog.api",
    "CheckpointCatalog": "ckpt_tui.model.entry",
    "CheckpointCatalogEntry": "ckpt_tui.model.entry",
    "Issue": "ckpt_tui.model.entry",
    "CheckpointMetadataV1": "ckpt_tui.model.schema",
    "CheckpointingConfig": "ckpt_tui.model.schema",
    "DecoderInfo": "ckpt_tui.model.schema",
    "EncoderInfo": "ckpt_tui.model.schema",
    "HeadInfo": "ckpt_tui.model.schema",
    "LossInfo": "ckpt_tui.model.schema",
    "MetricsInfo": "ckpt_tui.model.schema",
    "ModelInfo": "ckpt_tui.model.schema",
    "TrainingInfo": "ckpt_tui.model.schema",
    "load_metadata": "ckpt_tui.sidecar.files",
    "load_metadata_batch": "ckpt_tui.sidecar.files",
    "read_sidecar": "ckpt_tui.sidecar.files",
    "save_metadata": "ckpt_tui.sidecar.files",
    "ValidationReport": "ckpt_tui.sidecar.validate",
    "validate_checkpoint": "ckpt_tui.sidecar.validate",
    "validate_tree": "ckpt_tui.catalog.validate",
}

__all__ = [
    "CheckpointCatalog",
    "CheckpointCatalogEntry",
    "CheckpointMetadataV1",
    "CheckpointingConfig",
    "DecoderInfo",
    "EncoderInfo",
    "HeadInfo",
    "Issue",
    "LossInfo",
    "MetricsInfo",
    "ModelInfo",
    "TrainingInfo",
    "ValidationReport",
    "__version__",
    "build_catalog",
    "iter_catalog",
    "load_metadata",
    "load_metadata_batch",
    "read_sidecar",
    "save_metadata",
    "validate_checkpoint",
    "validate_tree",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ckpt_tui' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
