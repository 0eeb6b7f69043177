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
