"""Real checkpoints for the comparison tests: two tiny Lightning runs with different encoders,
written by ``Trainer.fit`` with ``ModelCheckpoint``, and files saved by ``torch.save``.

(A uniquely named module rather than conftest.py, so test modules can import it without
clashing with other areas' conftest modules.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

ENCODER_TENSORS = {
    "conv": {"encoder.0.weight": (4, 1, 3), "encoder.0.bias": (4,)},
    "mlp": {"encoder.0.weight": (32, 8), "encoder.0.bias": (32,)},
}
"""The encoders' own tensors (key → shape) in the two runs."""


class Payload:
    """Pickles as a call to ``os.system`` that would create a marker file if ever loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


class _Flatten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


class TinyModule(pl.LightningModule):
    """A regressor whose encoder is a 1-d convolution or a linear layer."""

    def __init__(self, encoder: str = "conv", lr: float = 0.01, hidden: int = 4) -> None:
        super().__init__()
        self.save_hyperparameters()
        if encoder == "conv":
            self.encoder: nn.Module = nn.Sequential(
                nn.Conv1d(1, hidden, 3, padding=1), nn.BatchNorm1d(hidden), _Flatten()
            )
        else:
            self.encoder = nn.Sequential(nn.Linear(8, hidden * 8), nn.ReLU())
        self.head = nn.Linear(hidden * 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.hparams["encoder"] == "conv":
            x = x.unsqueeze(1)
        return self.head(self.encoder(x))

    def training_step(self, batch: Any, _index: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.mse_loss(self(x), y)

    def validation_step(self, batch: Any, _index: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams["lr"], momentum=0.9)


def fit_run(run: Path, encoder: str) -> Path:
    """Train one epoch of :class:`TinyModule` under ``run``; the checkpoint saved."""
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(16, 8), torch.randn(16, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=run / "checkpoints", monitor="val_loss", mode="min", save_top_k=1
    )
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[checkpoint],
        default_root_dir=run,
    )
    trainer.fit(TinyModule(encoder), loader, loader)
    return Path(checkpoint.best_model_path)


def save_plain(path: Path, hyper_parameters: Any, **extra: Any) -> Path:
    """A Lightning-shaped dict written by ``torch.save`` (fixed weights, given hparams)."""
    generator = torch.Generator().manual_seed(1)
    state = {
        "model.encoder.weight": torch.randn(6, 4, generator=generator),
        "model.head.weight": torch.randn(2, 6, generator=generator),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"epoch": 3, "global_step": 40, "state_dict": state, "hyper_parameters": hyper_parameters}
        | extra,
        path,
    )
    return path


def ckpt_tui(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m ckpt_tui *args`` in a fresh process (this checkout on its path): its exit
    code and output, as text."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
