"""Real Lightning trees for the prune tests, made once per session by ``Trainer.fit``.

(A uniquely named module rather than conftest.py, so test modules can import it without clashing
with other areas' conftest modules.)

The tree (:func:`train_tree`):

- ``max_run``: monitors ``val/hmean`` (max), ``save_top_k=3``, ``save_last="link"``, with the
  MetadataCallback writing a sidecar next to each checkpoint;
- ``min_run``: monitors ``val/loss`` (min), ``save_top_k=2``, ``save_last=True`` (a copy);
- ``restart_run``: two fits into one folder, every epoch kept: the second's names end in ``-v1``;
- ``plain_run``: no metrics logged, no monitor, every epoch kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from tree_builders import copy_tree as copy_tree

#: val/hmean logged at each epoch (val/loss is 1 - hmean).
HMEANS = (0.50, 0.70, 0.60, 0.80, 0.65, 0.55)


class TinyModule(pl.LightningModule):
    """A linear layer on random data; logs ``HMEANS[epoch]`` unless ``metrics`` is off."""

    def __init__(self, metrics: bool = True) -> None:
        super().__init__()
        self.save_hyperparameters({"exp_name": "tiny"})
        self.metrics = metrics
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        return self.layer(batch[0]).pow(2).mean()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        return None

    def on_validation_epoch_end(self) -> None:
        if self.metrics:
            hmean = HMEANS[self.current_epoch % len(HMEANS)]
            self.log("val/hmean", hmean)
            self.log("val/loss", round(1.0 - hmean, 2))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.layer.parameters(), lr=0.01)

    def train_dataloader(self) -> Any:
        data = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=2)

    def val_dataloader(self) -> Any:
        data = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=2)


def fit(run: Path, callbacks: list[Any], *, epochs: int, metrics: bool = True) -> None:
    """One small real ``Trainer.fit`` writing into ``run``."""
    torch.manual_seed(0)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=epochs,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=str(run),
        callbacks=callbacks,
    )
    trainer.fit(TinyModule(metrics))


def train_tree(root: Path) -> Path:
    """The four runs under ``root`` (see the module docstring); returns ``root``."""
    from ckpt_tui.callbacks import MetadataCallback

    ModelCheckpoint = pl.callbacks.ModelCheckpoint
    name = "{epoch}-{step}"
    fit(
        root / "max_run",
        [
            ModelCheckpoint(
                dirpath=root / "max_run" / "checkpoints", filename=name, monitor="val/hmean",
                mode="max", save_top_k=3, save_last="link",
            ),
            MetadataCallback(),
        ],
        epochs=6,
    )  # fmt: skip
    fit(
        root / "min_run",
        [
            ModelCheckpoint(
                dirpath=root / "min_run" / "checkpoints", filename=name, monitor="val/loss",
                mode="min", save_top_k=2, save_last=True,
            )
        ],
        epochs=6,
    )  # fmt: skip
    for _ in range(2):
        fit(
            root / "restart_run",
            [
                ModelCheckpoint(
                    dirpath=root / "restart_run" / "checkpoints", filename=name,
                    monitor="val/hmean", mode="max", save_top_k=-1,
                )
            ],
            epochs=3,
        )  # fmt: skip
    fit(
        root / "plain_run",
        [ModelCheckpoint(dirpath=root / "plain_run" / "checkpoints", filename=name, save_top_k=-1)],
        epochs=3,
        metrics=False,
    )
    return root


def files_under(root: Path) -> set[str]:
    """Every file, link and folder under ``root``, relative, "/"-separated."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(Path(folder, name).relative_to(root).as_posix())
    return found


def prune_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``ckpt-tui prune ARGS`` in a fresh process (stdout not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "prune", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        timeout=300,
    )


def prune_json(*args: str | Path) -> dict[str, Any]:
    """``ckpt-tui prune ARGS --json``, parsed (exit 0 or 1 expected)."""
    done = prune_cli(*args, "--json")
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data
