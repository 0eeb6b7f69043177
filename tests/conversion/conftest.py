"""A small legacy tree written by real torch: Hydra run folders, Lightning-style checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

HYDRA_CONFIG = """\
exp_name: dbnet-resnet18-conv
model:
  _target_: ocr.models.OCRModel
  architecture: dbnet
  encoder:
    model_name: resnet18
  decoder:
    name: pan_decoder
  head:
    name: db_head
  loss:
    name: db_loss
trainer:
  max_epochs: 20
callbacks:
  model_checkpoint:
    monitor: val/hmean
    mode: max
    save_top_k: 3
    save_last: true
"""


def _write_checkpoint(path: Path, epoch: int, step: int) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "epoch": epoch,
            "global_step": step,
            "pytorch-lightning_version": "2.6.6",
            "state_dict": {"model.head.binarize.0.weight": torch.zeros(4, 8, 3, 3)},
        },
        path,
    )


@pytest.fixture(scope="session")
def legacy_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once per session; tests copy it (conversion changes the tree)."""
    root = tmp_path_factory.mktemp("legacy") / "outputs"
    run = root / "2025-10-18" / "14-32-15"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(HYDRA_CONFIG)
    for epoch, step in ((0, 0), (4, 420), (9, 930)):
        _write_checkpoint(run / "checkpoints" / f"epoch={epoch}-step={step}.ckpt", epoch, step)
    _write_checkpoint(run / "checkpoints" / "best-hmean-0.8920.ckpt", 7, 744)
    (run / "checkpoints" / "zero.ckpt").write_bytes(b"")
    return root


@pytest.fixture
def legacy_tree(legacy_tree_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the legacy tree for one test."""
    import shutil

    target = tmp_path / "outputs"
    shutil.copytree(legacy_tree_template, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def lightning_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ``Trainer.fit`` (CPU, 3 epochs) whose ModelCheckpoint kept the best two by
    ``val/hmean``, the last, and the lowest ``val/loss``; the hyper-parameters name no model, so
    the architecture and backbone are known to no source. Tests copy it."""
    import warnings
    from typing import Any

    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch.utils.data import DataLoader, TensorDataset

    root = tmp_path_factory.mktemp("lightning-conv") / "outputs"
    run = root / "lit-run"
    torch.manual_seed(0)

    class Module(L.LightningModule):
        def __init__(self, lr: float = 0.01) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, index: int) -> Any:
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def validation_step(self, batch: Any, index: int) -> None:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("val/loss", loss)
            self.log("val/hmean", 1.0 / (1.0 + loss))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    data = TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
    best = ModelCheckpoint(
        dirpath=run / "checkpoints",
        monitor="val/hmean",
        mode="max",
        save_top_k=2,
        save_last=True,
        filename="{epoch}-{step}",
    )
    lowest = ModelCheckpoint(
        dirpath=run / "checkpoints", monitor="val/loss", mode="min", filename="loss-{epoch}"
    )
    trainer = L.Trainer(
        max_epochs=3,
        accelerator="cpu",
        callbacks=[best, lowest],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=run,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's notices about tiny data sets
        trainer.fit(Module(), DataLoader(data, batch_size=4), DataLoader(data, batch_size=4))
    return root


@pytest.fixture
def lightning_tree(lightning_tree_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the Lightning-written tree for one test."""
    import shutil

    target = tmp_path / "lightning" / "outputs"
    shutil.copytree(lightning_tree_template, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def demo_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo tree (``ckpt-tui demo``), written once per session; tests copy it."""
    from ckpt_tui.demo import write_demo_tree

    root = tmp_path_factory.mktemp("demo-conv") / "demo"
    write_demo_tree(root)
    return root


@pytest.fixture
def demo_tree(demo_tree_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo tree for one test."""
    import shutil

    target = tmp_path / "demo"
    shutil.copytree(demo_tree_template, target, symlinks=True)
    return target
