"""ckpt-tui: browse a folder of PyTorch / Lightning checkpoints in seconds.

The public API keeps the reference design's names. Every name is imported on first use, so
``import ckpt_tui`` costs almost nothing: it pulls in neither torch nor textual (a test checks
this in a fresh interpreter), nor even pydantic until a model is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ckpt_tui.core.catalog import build_catalog, iter_catalog
    from ckpt_tui.core.entry import CheckpointCatalog, CheckpointCatalogEntry, Issue
    from ckpt_tui.core.models import (
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
    from ckpt_tui.core.sidecars import (
        load_metadata,
        load_metadata_batch,
        read_sidecar,
        save_metadata,
    )
    from ckpt_tui.core.validation import ValidationReport, validate_checkpoint, validate_tree

__version__ = "0.1.0"

_WHERE: dict[str, str] = {
    "build_catalog": "ckpt_tui.core.catalog",
    "iter_catalog": "ckpt_tui.core.catalog",
    "CheckpointCatalog": "ckpt_tui.core.entry",
    "CheckpointCatalogEntry": "ckpt_tui.core.entry",
    "Issue": "ckpt_tui.core.entry",
    "CheckpointMetadataV1": "ckpt_tui.core.models",
    "CheckpointingConfig": "ckpt_tui.core.models",
    "DecoderInfo": "ckpt_tui.core.models",
    "EncoderInfo": "ckpt_tui.core.models",
    "HeadInfo": "ckpt_tui.core.models",
    "LossInfo": "ckpt_tui.core.models",
    "MetricsInfo": "ckpt_tui.core.models",
    "ModelInfo": "ckpt_tui.core.models",
    "TrainingInfo": "ckpt_tui.core.models",
    "load_metadata": "ckpt_tui.core.sidecars",
    "load_metadata_batch": "ckpt_tui.core.sidecars",
    "read_sidecar": "ckpt_tui.core.sidecars",
    "save_metadata": "ckpt_tui.core.sidecars",
    "ValidationReport": "ckpt_tui.core.validation",
    "validate_checkpoint": "ckpt_tui.core.validation",
    "validate_tree": "ckpt_tui.core.validation",
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
