"""Session fixtures: one tree of real checkpoints in every format beyond Lightning.

Written once per session by the real libraries (``formats_writers``); the Trainer run takes a
few seconds, the rest well under one. Tests copy what they change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from formats_writers import (
    save_dcp,
    save_deepspeed_layout,
    save_exported,
    save_legacy,
    save_sharded,
    save_torchscript,
    train_with_trainer,
)


@pytest.fixture(scope="session")
def formats_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``outputs/`` with a Trainer run, sharded saves, DCP, DeepSpeed, code archives, a legacy
    file, loose training-state files and a ``.bin`` that is no checkpoint."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    root = tmp_path_factory.mktemp("formats") / "outputs"
    train_with_trainer(root / "bert-run")
    save_sharded(root / "hf" / "bert-safetensors", safetensors=True)
    save_sharded(root / "hf" / "bert-bin", safetensors=False)
    save_dcp(root / "dcp-run" / "checkpoints" / "step_7")
    save_deepspeed_layout(root / "ds-run" / "checkpoints" / "epoch=1-step=8.ckpt")
    (root / "archives").mkdir()
    save_torchscript(root / "archives" / "scripted.pt")
    save_exported(root / "archives" / "program.pt2")
    (root / "imagenet").mkdir()
    save_legacy(root / "imagenet" / "model_best.pth.tar")
    loose = root / "loose"
    loose.mkdir()
    trainer_folder = root / "bert-run" / "checkpoint-2"
    (loose / "optimizer.pt").write_bytes((trainer_folder / "optimizer.pt").read_bytes())
    (loose / "data.bin").write_bytes(b"\x00\x01 not a checkpoint, a data shard" * 10)
    return root
