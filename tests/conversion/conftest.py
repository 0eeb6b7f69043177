"""A small legacy tree written by real torch: Hydra run folders, Lightning-style checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_builders import (
    copy_tree,
    dbnet_hydra_config,
    save_lightning_checkpoint,
    write_hydra_config,
)

HYDRA_CONFIG = dbnet_hydra_config("dbnet-resnet18-conv", target="ocr.models.OCRModel")


def _write_checkpoint(path: Path, epoch: int, step: int) -> None:
    # This tree's checkpoints claim a newer Lightning and a wider head than the TUI tree's.
    save_lightning_checkpoint(
        path, epoch, step, lightning_version="2.6.6", weight_shape=(4, 8, 3, 3)
    )


@pytest.fixture(scope="session")
def legacy_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once per session; tests copy it (conversion changes the tree)."""
    root = tmp_path_factory.mktemp("legacy") / "outputs"
    run = write_hydra_config(root / "2025-10-18" / "14-32-15", HYDRA_CONFIG)
    for epoch, step in ((0, 0), (4, 420), (9, 930)):
        _write_checkpoint(run / "checkpoints" / f"epoch={epoch}-step={step}.ckpt", epoch, step)
    _write_checkpoint(run / "checkpoints" / "best-hmean-0.8920.ckpt", 7, 744)
    (run / "checkpoints" / "zero.ckpt").write_bytes(b"")
    return root


@pytest.fixture
def legacy_tree(legacy_tree_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the legacy tree for one test."""
    return copy_tree(legacy_tree_template, tmp_path / "outputs")


@pytest.fixture(scope="session")
def lightning_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ``Trainer.fit`` (CPU, 3 epochs) whose ModelCheckpoint kept the best two by
    ``val/hmean``, the last, and the lowest ``val/loss``; the hyper-parameters name no model, so
    the architecture and backbone are known to no source. Tests copy it."""
    import torch
    from lightning_runs import RegressionModule, fit_with_two_monitors
    from torch.utils.data import DataLoader, TensorDataset

    root = tmp_path_factory.mktemp("lightning-conv") / "outputs"
    run = root / "lit-run"
    torch.manual_seed(0)

    class Module(RegressionModule):
        def __init__(self, lr: float = 0.01) -> None:
            super().__init__()
            self.save_hyperparameters()

    data = TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
    fit_with_two_monitors(
        Module(),
        DataLoader(data, batch_size=4),
        DataLoader(data, batch_size=4),
        dirpath=run / "checkpoints",
        root_dir=run,
        max_epochs=3,
    )
    return root


@pytest.fixture
def lightning_tree(lightning_tree_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the Lightning-written tree for one test."""
    return copy_tree(lightning_tree_template, tmp_path / "lightning" / "outputs")


@pytest.fixture
def demo_tree(demo_tree_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo tree (session template: ``tests/conftest.py``) for one test."""
    return copy_tree(demo_tree_template, tmp_path / "demo")
