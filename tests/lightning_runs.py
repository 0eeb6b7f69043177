"""Tiny real Lightning runs for session fixtures (reader, conversion): a one-layer regression and
a ``Trainer.fit`` on the CPU whose two ModelCheckpoint callbacks keep the best two by
``val/hmean`` (plus ``last.ckpt``) and the lowest ``val/loss``.

Import it inside a fixture: it imports Lightning and torch, which a test that never asks for a
Lightning run must not pay for.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint


class RegressionModule(L.LightningModule):
    """``Linear(4, 1)`` trained on mean squared error; validation logs ``val/loss`` and
    ``val/hmean`` (``1 / (1 + loss)``, so the two monitors agree).

    A subclass defines ``__init__`` with the hyper-parameters its tests read back and calls
    ``save_hyperparameters()`` there (Lightning records the arguments of the ``__init__`` that
    calls it); ``optimizer_class`` is the optimizer, built with ``lr=self.hparams.lr``.
    """

    optimizer_class: type[torch.optim.Optimizer] = torch.optim.SGD

    def __init__(self) -> None:
        super().__init__()
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
        return self.optimizer_class(self.parameters(), lr=self.hparams.lr)


def fit_with_two_monitors(
    module: L.LightningModule, *data: Any, dirpath: Path, root_dir: Path, max_epochs: int
) -> None:
    """``Trainer.fit(module, *data)`` on the CPU, quietly, checkpointing into ``dirpath``:
    ``{epoch}-{step}.ckpt`` for the best two by ``val/hmean``, ``last.ckpt``, and
    ``loss-{epoch}.ckpt`` for the lowest ``val/loss``."""
    best = ModelCheckpoint(
        dirpath=dirpath,
        monitor="val/hmean",
        mode="max",
        save_top_k=2,
        save_last=True,
        filename="{epoch}-{step}",
    )
    lowest = ModelCheckpoint(
        dirpath=dirpath, monitor="val/loss", mode="min", save_top_k=1, filename="loss-{epoch}"
    )
    trainer = L.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        callbacks=[best, lowest],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=root_dir,
    )
    with warnings.catch_warnings():
        # Lightning's notices about tiny data sets and its own deprecations of torch APIs.
        warnings.simplefilter("ignore")
        trainer.fit(module, *data)
