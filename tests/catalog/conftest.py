"""Fixtures for the catalog tests: real torch checkpoints, real sidecars, real folder trees.

Every test gets its own cache folder (``CKPT_TUI_CACHE_DIR``) and an empty in-process cache.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from catalog_helpers import metadata

from ckpt_tui.sidecar.files import save_metadata

WriteCheckpoint = Callable[..., Path]


@pytest.fixture(scope="session")
def checkpoint_bytes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real checkpoints written by ``torch.save``: a Lightning-style one and a bare state dict."""
    import torch

    folder = tmp_path_factory.mktemp("torch")
    lightning = folder / "lightning.ckpt"
    torch.save(
        {
            "epoch": 4,
            "global_step": 120,
            "pytorch-lightning_version": "2.6.0",
            "state_dict": {
                "model.encoder.conv1.weight": torch.zeros(4, 3, 3, 3),
                "model.head.weight": torch.zeros(2, 4),
            },
            "hyper_parameters": {"lr": 0.001},
        },
        lightning,
    )
    bare = folder / "bare.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, bare)
    return {"lightning": lightning.read_bytes(), "bare": bare.read_bytes()}


@pytest.fixture
def write_checkpoint(checkpoint_bytes: dict[str, bytes]) -> WriteCheckpoint:
    """``write_checkpoint(path, kind="lightning")`` writes a copy of a real checkpoint."""

    def write(path: Path, kind: str = "lightning") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(checkpoint_bytes[kind])
        return path

    return write


@pytest.fixture
def write_sidecar() -> Callable[..., Path]:
    """``write_sidecar(ckpt_path, **changes)`` writes a real sidecar with ``save_metadata``."""

    def write(ckpt: Path, **changes: Any) -> Path:
        return save_metadata(metadata(**changes), ckpt)

    return write
