"""The writers' corpus: checkpoints saved the way common training scripts save them, by torch.

Each writer's dict is built exactly as its script builds it (the ImageNet example's
``save_checkpoint``, timm's ``CheckpointSaver._save``, mmcv's ``save_checkpoint`` with ``meta``),
with real tensors, real optimizer states and a real ``argparse.Namespace``; timm, torchvision and
mmcv themselves are not imported. The Lightning run is a real ``Trainer.fit`` with
``save_weights_only=True``. :func:`write_corpus` returns, per file, every field the file holds and
its true value, for the tests and for the recovery measurement.
"""

from __future__ import annotations

import argparse
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MMCV_CONFIG = """model = dict(
    type='FasterRCNN',
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        norm_cfg=dict(type='BN', requires_grad=True)),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256))
optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001)
runner = dict(type='EpochBasedRunner', max_epochs=12)
"""
MMCV_TIME = "Mon Dec  7 20:00:00 2026"
"""What mmcv's ``time.asctime()`` writes, fixed so the tests know it."""


def _model() -> Any:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.Linear(8, 10)
    )


def train_one_step(model: Any, optimizer: Any) -> None:
    """One real optimizer step, so the saved optimizer state holds momentum buffers."""
    import torch

    optimizer.zero_grad()
    model(torch.randn(2, 3, 10, 10)).sum().backward()
    optimizer.step()


def _imagenet_run(folder: Path, expected: dict[str, dict[str, Any]]) -> None:
    """PyTorch's examples/imagenet/main.py: three epochs, ``save_checkpoint`` after each."""
    import torch

    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    args = argparse.Namespace(arch="resnet18", start_epoch=0, epochs=3)
    best_acc1: Any = 0
    accuracies = [41.5, 55.25, 53.0]
    folder.mkdir(parents=True)
    for epoch in range(args.start_epoch, args.epochs):
        train_one_step(model, optimizer)
        scheduler.step()
        # validate() returns top1.avg: an AverageMeter of acc1[0] tensors, so a 0-dim tensor.
        acc1 = torch.tensor(accuracies[epoch])
        is_best = acc1 > best_acc1
        best_acc1 = max(acc1, best_acc1)
        state = {
            "epoch": epoch + 1,
            "arch": args.arch,
            "state_dict": model.state_dict(),
            "best_acc1": best_acc1,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
        }
        filename = folder / "checkpoint.pth.tar"
        torch.save(state, filename)
        if is_best:
            shutil.copyfile(filename, folder / "model_best.pth.tar")
    # The list command discovers .pth; the same bytes under the example's own names too.
    shutil.copyfile(folder / "checkpoint.pth.tar", folder / "checkpoint.pth")
    shutil.copyfile(folder / "model_best.pth.tar", folder / "model_best.pth")
    common = {"architecture": "resnet18", "backbone": "resnet18", "monitor": "best_acc1"}
    common["monitor_mode"] = "max"
    common["additional_metrics.best_acc1"] = 55.25
    expected["imagenet/checkpoint.pth"] = {**common, "epoch": 2, "monitor_value": 55.25}
    expected["imagenet/model_best.pth"] = {**common, "epoch": 1, "monitor_value": 55.25}


def _imagenet_old_fork(folder: Path, expected: dict[str, dict[str, Any]]) -> None:
    """An older fork: ``best_prec1`` as a Python float, no scheduler, the legacy format."""
    import torch

    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9)
    state = {
        "epoch": 10,
        "arch": "vgg16_bn",
        "state_dict": model.state_dict(),
        "best_prec1": 71.875,
        "optimizer": optimizer.state_dict(),
    }
    folder.mkdir(parents=True)
    # Forks of that age ran torch < 1.6: the legacy (pre-zip) format.
    torch.save(state, folder / "checkpoint.pth", _use_new_zipfile_serialization=False)
    expected["imagenet_fork/checkpoint.pth"] = {
        "architecture": "vgg16_bn", "backbone": "vgg16_bn", "epoch": 9, "monitor": "best_prec1",
        "monitor_mode": "max", "monitor_value": 71.875, "additional_metrics.best_prec1": 71.875,
    }  # fmt: skip


def timm_args(**overrides: Any) -> argparse.Namespace:
    """The Namespace timm's train.py parses (a representative subset of its ~150 options)."""
    values: dict[str, Any] = dict(
        data_dir="/data/imagenet", dataset="", model="resnet50", pretrained=False,
        num_classes=1000, img_size=None, batch_size=128, opt="sgd", opt_eps=None, momentum=0.9,
        weight_decay=2e-5, sched="cosine", lr=0.5, epochs=300, warmup_epochs=5,
        eval_metric="top1", output="output/train", experiment="", amp=True, seed=42,
        mixup=0.2, smoothing=0.1, drop_path=0.05, model_ema=True, model_ema_decay=0.9998,
    )  # fmt: skip
    values.update(overrides)
    return argparse.Namespace(**values)


def _timm_save(
    path: Path, epoch: int, args: Any, metric: float | None, version: int | None
) -> None:
    """timm.utils.CheckpointSaver._save, line for line (model_ema and amp scaler included)."""
    import torch

    model = _model()
    lr = args.lr if args is not None else 0.1
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    save_state: dict[str, Any] = {
        "epoch": epoch,
        "arch": type(model).__name__.lower(),
        "state_dict": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }
    if version is not None:
        save_state["version"] = version  # version < 2 increments epoch before save
    if args is not None:
        save_state["arch"] = args.model
        save_state["args"] = args
    save_state["amp_scaler"] = {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                                "growth_interval": 2000, "_growth_tracker": 0}  # fmt: skip
    save_state["state_dict_ema"] = model.state_dict()
    if metric is not None:
        save_state["metric"] = metric
    torch.save(save_state, path)


def _timm_run(folder: Path, expected: dict[str, dict[str, Any]]) -> None:
    folder.mkdir(parents=True)
    args = timm_args()
    for epoch, metric in ((0, 12.5), (1, 20.25)):
        _timm_save(folder / f"checkpoint-{epoch}.pth", epoch, args, metric, 2)
    shutil.copyfile(folder / "checkpoint-1.pth", folder / "model_best.pth")
    shutil.copyfile(folder / "checkpoint-1.pth", folder / "last.pth.tar")
    common = {"architecture": "resnet50", "backbone": "resnet50", "monitor": "top1"}
    common.update(monitor_mode="max", max_epochs=300)
    expected["timm/checkpoint-0.pth"] = {**common, "epoch": 0, "monitor_value": 12.5}
    expected["timm/checkpoint-1.pth"] = {**common, "epoch": 1, "monitor_value": 20.25}
    expected["timm/model_best.pth"] = {**common, "epoch": 1, "monitor_value": 20.25}
    loss_args = timm_args(model="efficientnet_b0", eval_metric="loss", epochs=10)
    _timm_save(folder / "loss_metric.pth", 4, loss_args, 1.75, 2)
    expected["timm/loss_metric.pth"] = {
        "architecture": "efficientnet_b0", "backbone": "efficientnet_b0", "monitor": "loss",
        "monitor_mode": "min", "monitor_value": 1.75, "epoch": 4, "max_epochs": 10,
    }  # fmt: skip
    # Without args (a CheckpointSaver given none): arch is the model's class name.
    _timm_save(folder / "no_args.pth", 7, None, None, 2)
    expected["timm/no_args.pth"] = {"architecture": "sequential", "backbone": "sequential",
                                    "epoch": 7}  # fmt: skip
    # Before version 2, timm saved epoch + 1.
    _timm_save(folder / "old_timm.pth", 5, timm_args(model="resnet34"), 33.5, None)
    expected["timm/old_timm.pth"] = {
        "architecture": "resnet34", "backbone": "resnet34", "monitor": "top1",
        "monitor_mode": "max", "monitor_value": 33.5, "epoch": 4, "max_epochs": 300,
    }  # fmt: skip


def _mmcv_run(folder: Path, expected: dict[str, dict[str, Any]]) -> None:
    """mmcv's runner.save_checkpoint: ``meta`` with epoch (completed), iter, hook_msgs, config;
    then the ``latest.pth`` link mmcv makes."""
    import torch

    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    folder.mkdir(parents=True)
    for epoch, iteration in ((11, 2750), (12, 3000)):
        meta = {
            "env_info": "sys.platform: linux\nPython: 3.8.10\nCUDA available: True\n",
            "config": MMCV_CONFIG,
            "seed": 0,
            "exp_name": "faster_rcnn_r50_fpn_1x_coco.py",
            "mmcv_version": "1.7.2",
            "time": MMCV_TIME,
            "CLASSES": ("person", "bicycle", "car"),
            "epoch": epoch,
            "iter": iteration,
            "hook_msgs": {
                "last_ckpt": str(folder / f"epoch_{epoch}.pth"),
                "best_score": 0.3741,
                "best_ckpt": str(folder / "best_bbox_mAP_epoch_11.pth"),
            },
        }
        checkpoint = {"meta": meta, "state_dict": model.state_dict(),
                      "optimizer": optimizer.state_dict()}  # fmt: skip
        torch.save(checkpoint, folder / f"epoch_{epoch}.pth")
    os.symlink("epoch_12.pth", folder / "latest.pth")
    common = {"architecture": "FasterRCNN", "backbone": "resnet50", "monitor": "best_score"}
    common["monitor_mode"] = "max"
    common.update(monitor_value=0.3741, created_at="2026-12-07T20:00:00")
    expected["mmcv/epoch_11.pth"] = {**common, "epoch": 10, "global_step": 2750}
    expected["mmcv/epoch_12.pth"] = {**common, "epoch": 11, "global_step": 3000}
    expected["mmcv/latest.pth"] = {**common, "epoch": 11, "global_step": 3000}
    # An iteration-based save: its meta.epoch is not epochs completed; only the step is known.
    meta = {"mmcv_version": "1.7.2", "time": MMCV_TIME, "epoch": 0, "iter": 8000,
            "config": MMCV_CONFIG}  # fmt: skip
    torch.save({"meta": meta, "state_dict": model.state_dict()}, folder / "iter_8000.pth")
    expected["mmcv/iter_8000.pth"] = {
        "architecture": "FasterRCNN", "backbone": "resnet50", "global_step": 8000,
        "created_at": "2026-12-07T20:00:00",
    }  # fmt: skip


def _mmengine_run(folder: Path, expected: dict[str, dict[str, Any]]) -> None:
    """mmengine's Runner.save_checkpoint: ``meta`` (``cfg`` text, ``time`` as YYYYmmdd_HHMMSS),
    the best score in ``message_hub``'s runtime info."""
    import torch

    model = _model()
    folder.mkdir(parents=True)
    meta = {
        "cfg": MMCV_CONFIG.replace("FasterRCNN", "RetinaNet"),
        "seed": 42,
        "experiment_name": "retinanet_r50_fpn_1x_coco_20261207_200000",
        "time": "20261207_200000",
        "mmengine_version": "0.10.4",
        "epoch": 3,
        "iter": 750,
        "dataset_meta": {"classes": ("person", "car")},
    }
    hub = {
        "log_scalars": {"train/loss": {"_log_history": [0.5] * 5000, "_count_history": [1] * 5000}},
        "runtime_info": {"epoch": 3, "iter": 750, "best_score": 0.25,
                         "best_ckpt": str(folder / "best_coco_bbox_mAP_epoch_2.pth")},
        "resumed_keys": {"epoch": False, "iter": False},
    }  # fmt: skip
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    checkpoint = {"meta": meta, "state_dict": model.state_dict(), "message_hub": hub,
                  "optimizer": optimizer.state_dict()}  # fmt: skip
    torch.save(checkpoint, folder / "epoch_3.pth")
    expected["mmengine/epoch_3.pth"] = {
        "architecture": "RetinaNet", "backbone": "resnet50", "epoch": 2, "global_step": 750,
        "monitor": "best_score", "monitor_mode": "max", "monitor_value": 0.25,
        "created_at": "2026-12-07T20:00:00",
    }  # fmt: skip


def _safetensors_file(folder: Path, expected: dict[str, dict[str, Any]]) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    weights = {k: v.contiguous() for k, v in _model().state_dict().items()}
    metadata = {"format": "pt", "epoch": "4", "global_step": "1200", "architecture": "resnet18",
                "val_acc": "0.9125"}  # fmt: skip
    save_file(weights, str(folder / "model.safetensors"), metadata=metadata)
    expected["safetensors/model.safetensors"] = {
        "epoch": 4, "global_step": 1200, "architecture": "resnet18",
        "additional_metrics.val_acc": 0.9125,
    }  # fmt: skip


def _lightning_weights_only(folder: Path, expected: dict[str, dict[str, Any]]) -> None:
    """A real Trainer.fit with ModelCheckpoint(save_weights_only=True, save_last="link"): the
    files hold no callback state; the monitored value is only in the file name."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    accuracies = iter([0.46875, 0.625])

    class Classifier(L.LightningModule):
        def __init__(self, cfg: dict[str, Any]) -> None:
            super().__init__()
            self.save_hyperparameters(cfg)
            self.net = torch.nn.Linear(4, 2)

        def training_step(self, batch: Any, index: int) -> Any:
            x, y = batch
            return torch.nn.functional.cross_entropy(self.net(x), y)

        def on_validation_epoch_end(self) -> None:
            self.log("val_acc", next(accuracies))

        def validation_step(self, batch: Any, index: int) -> None:
            return None

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = TensorDataset(torch.randn(8, 4), torch.randint(0, 2, (8,)))
    checkpoint = ModelCheckpoint(
        dirpath=folder,
        monitor="val_acc",
        mode="max",
        save_top_k=2,
        save_last="link",
        save_weights_only=True,
        filename="{epoch}-{step}-{val_acc:.4f}",
    )
    trainer = L.Trainer(
        max_epochs=2,
        accelerator="cpu",
        callbacks=[checkpoint],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    cfg = {"callbacks": {"model_checkpoint": {"monitor": "val_acc", "mode": "max"}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(
            Classifier(cfg),
            DataLoader(data, batch_size=4),
            DataLoader(data, batch_size=8),
        )
    first, second = "epoch=0-step=2-val_acc=0.4688.ckpt", "epoch=1-step=4-val_acc=0.6250.ckpt"
    common = {"monitor": "val_acc", "monitor_mode": "max"}
    for name, epoch, step, value in ((first, 0, 2, 0.4688), (second, 1, 4, 0.625),
                                     ("last.ckpt", 1, 4, 0.625)):  # fmt: skip
        expected[f"lightning/{name}"] = {
            **common, "epoch": epoch, "global_step": step, "monitor_value": value,
            "additional_metrics.val_acc": value,
        }  # fmt: skip


@dataclass(frozen=True)
class Corpus:
    """The ``outputs/`` tree and the truth about its files."""

    root: Path
    expected: dict[str, dict[str, Any]]
    """Relative path → every field the file holds → its true value."""


def write_corpus(root: Path) -> dict[str, dict[str, Any]]:
    """Write ``root/<writer>/...`` (see the module docstring); return, per relative path, every
    field the file holds with its true value."""
    expected: dict[str, dict[str, Any]] = {}
    _imagenet_run(root / "imagenet", expected)
    _imagenet_old_fork(root / "imagenet_fork", expected)
    _timm_run(root / "timm", expected)
    _mmcv_run(root / "mmcv", expected)
    _mmengine_run(root / "mmengine", expected)
    _safetensors_file(root / "safetensors", expected)
    _lightning_weights_only(root / "lightning", expected)
    return expected
