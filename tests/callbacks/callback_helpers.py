"""Shared pieces for the MetadataCallback tests: a tiny LightningModule, a fit helper, and a
reader for what a checkpoint itself says (its epoch and step).

(A uniquely named module rather than conftest.py, so test modules can import it without
clashing with other areas' conftest modules.)

Every run is a real ``Trainer.fit`` on the CPU with a model of a few parameters; runs are
session-scoped fixtures in the test modules so each happens once.
"""

from __future__ import annotations

import importlib
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import lightning.pytorch
import torch

from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, checkpoint_stem

#: val/hmean logged at each epoch: up and down, so top-k keeps and drops files.
HMEANS = (0.50, 0.70, 0.60, 0.80, 0.65)
#: Model names in the hyper-parameters, Hydra-style.
HPARAMS: dict[str, Any] = {
    "exp_name": "tiny-dbnet",
    "model": {
        "architecture": "dbnet",
        "encoder": {"model_name": "resnet18", "pretrained": False, "frozen": True},
        "decoder": {
            "name": "pan_decoder",
            "in_channels": [64, 128, 256, 512],
            "inner_channels": 256,
            "output_channels": 128,
        },
        "head": {"name": "db_head", "in_channels": 128},
        "loss": {"name": "db_loss"},
    },
}
TRAIN_BATCHES = 4


def val_metrics(epoch: int) -> dict[str, float]:
    """What the tiny module logs at the end of validation in ``epoch``."""
    hmean = HMEANS[epoch % len(HMEANS)]
    return {
        # Logged first, and its name contains "val/hmean": a substring search would pick it.
        "val/hmean_batch": 0.99,
        "val/hmean": hmean,
        "val/precision": round(hmean + 0.05, 2),
        "val/recall": round(hmean - 0.05, 2),
        "val/loss": round(1.0 - hmean, 2),
        "val/aux": epoch + 0.25,
    }


def flavour(name: str) -> Any:
    """The Lightning package ``lightning.pytorch`` or ``pytorch_lightning``."""
    return importlib.import_module(name)


class _TinyLogic:
    """A linear layer on random data that logs ``val_metrics(epoch)`` and records what it logs."""

    def __init__(self, hparams: dict[str, Any] | None = None) -> None:
        super().__init__()
        if hparams is not None:
            self.save_hyperparameters(hparams)  # type: ignore[attr-defined]
        self.layer = torch.nn.Linear(4, 1)
        self.history: dict[int, dict[str, float]] = {}
        """epoch -> logged name -> last value logged in that epoch."""
        self.step_loss: dict[int, float] = {}
        """global step after the optimizer step -> train/loss logged in that step."""

    def _record(self, name: str, value: float) -> None:
        epoch: int = self.current_epoch  # type: ignore[attr-defined]
        self.history.setdefault(epoch, {})[name] = value

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        loss = self.layer(batch[0]).pow(2).mean()
        self.log("train/loss", loss)  # type: ignore[attr-defined]
        value = float(loss.detach())
        self._record("train/loss", value)
        self.step_loss[self.global_step + 1] = value  # type: ignore[attr-defined]
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        return None

    def on_validation_epoch_end(self) -> None:
        for name, value in val_metrics(self.current_epoch).items():  # type: ignore[attr-defined]
            self.log(name, value)  # type: ignore[attr-defined]
            self._record(name, value)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.layer.parameters(), lr=0.01)

    def train_dataloader(self) -> Any:
        data = torch.randn(2 * TRAIN_BATCHES, 4, generator=torch.Generator().manual_seed(0))
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=2)

    def val_dataloader(self) -> Any:
        data = torch.randn(2, 4, generator=torch.Generator().manual_seed(1))
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=2)


# Module-level classes (not built in a function) so ddp_spawn can pickle them.
class TinyModule(_TinyLogic, lightning.pytorch.LightningModule):
    """The tiny module for ``lightning.pytorch``."""


class RankNamedModule(TinyModule):
    """Names its experiment after its process's rank, so a sidecar shows which rank wrote it."""

    def setup(self, stage: str) -> None:
        self.hparams["exp_name"] = f"rank{self.global_rank}"


try:
    import pytorch_lightning

    class TinyPLModule(_TinyLogic, pytorch_lightning.LightningModule):
        """The tiny module for ``pytorch_lightning``."""

    MODULES: dict[str, type[Any]] = {
        "lightning.pytorch": TinyModule,
        "lightning.pytorch/rank-named": RankNamedModule,
        "pytorch_lightning": TinyPLModule,
    }
except ImportError:  # only the unified package installed
    MODULES = {"lightning.pytorch": TinyModule, "lightning.pytorch/rank-named": RankNamedModule}


def make_module(package: str = "lightning.pytorch", hparams: dict[str, Any] | None = None) -> Any:
    """A tiny LightningModule of ``package`` that records what it logs."""
    return MODULES[package](hparams)


def package_of(module_kind: str) -> str:
    """The Lightning package a ``MODULES`` key belongs to."""
    return module_kind.split("/")[0]


def fit(
    root: Path,
    callbacks: list[Any],
    *,
    package: str = "lightning.pytorch",
    hparams: dict[str, Any] | None = HPARAMS,
    max_epochs: int = len(HMEANS),
    **trainer_kwargs: Any,
) -> tuple[Any, Any]:
    """Run a small real ``Trainer.fit`` in ``root``; returns (trainer, module)."""
    torch.manual_seed(0)
    module = make_module(package, hparams)
    options: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "max_epochs": max_epochs,
        "logger": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "default_root_dir": str(root),
    }
    options.update(trainer_kwargs)
    trainer = flavour(package_of(package)).Trainer(callbacks=callbacks, **options)
    trainer.fit(module)
    return trainer, module


def same_float32(a: float, b: float) -> bool:
    """Whether ``a`` and ``b`` are the same float32 (Lightning logs floats as float32)."""
    pack = struct.Struct("f")
    return bool(pack.unpack(pack.pack(a)) == pack.unpack(pack.pack(b)))


def checkpoints_in(folder: Path) -> list[Path]:
    """The ``.ckpt`` files (and links) in ``folder``, sorted."""
    return sorted(folder.glob("*.ckpt"))


def sidecars_in(folder: Path) -> list[Path]:
    """The sidecar files in ``folder``, sorted."""
    return sorted(folder.glob(f"*{SIDECAR_SUFFIX}"))


def assert_one_sidecar_each(folder: Path) -> None:
    """Every checkpoint has exactly one sidecar, every sidecar a checkpoint, no temp files."""
    ckpts = checkpoints_in(folder)
    assert ckpts, f"no checkpoints in {folder}"
    expected = sorted(folder / (checkpoint_stem(ckpt) + SIDECAR_SUFFIX) for ckpt in ckpts)
    assert sidecars_in(folder) == expected
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


_READER = r"""
import json, sys
import torch
for line in sys.stdin:
    path = line.rstrip("\n")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        out = {"epoch": ckpt["epoch"], "global_step": ckpt["global_step"]}
    except Exception as exc:
        out = {"error": repr(exc)}
    print(json.dumps(out), flush=True)
"""


class CheckpointTruth:
    """What checkpoints say about themselves: epoch and step as stored in the file.

    Read with the project's safe reader (``ckpt_tui.reader.inspect_checkpoint``) when it is
    there; otherwise by torch in a separate, trusted process (the package itself never unpickles
    a checkpoint; this check may, on files the test just wrote), one process per session.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        try:
            from ckpt_tui.reader import inspect_checkpoint
        except ImportError:
            self._inspect: Any = None
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _READER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        else:
            self._inspect = inspect_checkpoint

    def position(self, ckpt: Path) -> tuple[int, int]:
        """``(epoch, global_step)`` stored in ``ckpt``."""
        if self._inspect is not None:
            inspection = self._inspect(ckpt)
            assert inspection.epoch is not None and inspection.global_step is not None, (
                inspection.issues
            )
            return int(inspection.epoch), int(inspection.global_step)
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(f"{ckpt}\n")
        self._proc.stdin.flush()
        answer = json.loads(self._proc.stdout.readline())
        assert "error" not in answer, answer
        return int(answer["epoch"]), int(answer["global_step"])

    def close(self) -> None:
        """Stop the reader process."""
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
