"""Fixtures for the foundation tests: the reference's YAML example and real checkpoint files."""

from __future__ import annotations

from pathlib import Path

import pytest
from reference_sidecar import REFERENCE_YAML


@pytest.fixture
def reference_yaml() -> str:
    """The reference design's YAML example."""
    return REFERENCE_YAML


@pytest.fixture(scope="session")
def tiny_checkpoint_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real, tiny Lightning-style checkpoint written by torch.save."""
    import torch

    path = tmp_path_factory.mktemp("ckpt") / "model.ckpt"
    torch.save(
        {
            "epoch": 10,
            "global_step": 5420,
            "state_dict": {"model.head.weight": torch.zeros(2, 3)},
        },
        path,
    )
    return path.read_bytes()


@pytest.fixture
def make_checkpoint(tmp_path: Path, tiny_checkpoint_bytes: bytes):  # type: ignore[no-untyped-def]
    """Write a copy of the real tiny checkpoint at ``tmp_path / relative``."""

    def write(relative: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(tiny_checkpoint_bytes)
        return path

    return write
