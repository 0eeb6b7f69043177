"""ckpt-tui: browse a folder of PyTorch / Lightning checkpoints in seconds.

The public API keeps the reference design's names. Importing this package is cheap: it pulls in
neither torch nor textual (a test checks it in a fresh interpreter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
from ckpt_tui.core.sidecars import load_metadata, load_metadata_batch, read_sidecar, save_metadata
from ckpt_tui.core.validation import ValidationReport, validate_checkpoint

if TYPE_CHECKING:
    from ckpt_tui.core.catalog import build_catalog, iter_catalog

__version__ = "0.1.0"

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
]


def __getattr__(name: str) -> Any:
    # The catalog builder is imported on first use: it is the heaviest part of the core.
    if name in {"build_catalog", "iter_catalog"}:
        from ckpt_tui.core import catalog

        return getattr(catalog, name)
    raise AttributeError(f"module 'ckpt_tui' has no attribute {name!r}")
