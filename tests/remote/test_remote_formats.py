"""Every format and folder checkpoint lists the same from a bucket as from its local copy:
Trainer ``checkpoint-N/`` folders, sharded saves, DCP, DeepSpeed, code archives, legacy files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from remote_helpers import upload_tree

from ckpt_tui.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "formats"))
BUCKET = "ckpt-formats"


@pytest.fixture(scope="module")
def formats_copy(tmp_path_factory: pytest.TempPathFactory, s3: Any) -> Path:
    """The formats tests' tree (written by the real libraries), uploaded under ``outputs/``."""
    from formats_writers import (
        save_dcp,
        save_deepspeed_layout,
        save_exported,
        save_legacy,
        save_sharded,
        save_torchscript,
        train_with_trainer,
    )

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
    (root / "loose").mkdir()
    (root / "loose" / "data.bin").write_bytes(b"\x00\x01 not a checkpoint, a data shard" * 10)
    s3.create_bucket(Bucket=BUCKET)
    upload_tree(s3, root, BUCKET, "outputs")
    return root


def test_formats_list_like_local(
    s3_env: str, formats_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", f"s3://{BUCKET}/outputs", "--json"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert main(["list", str(formats_copy), "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    keep = (
        "checkpoint_path", "format", "epoch", "global_step", "architecture", "hmean", "safety",
        "unsafe_globals", "source", "size_bytes", "sidecar_path", "config_path",
    )  # fmt: skip
    assert len(remote) == len(local) >= 8
    assert [{k: e.get(k) for k in keep} for e in remote] == [
        {k: e.get(k) for k in keep} for e in local
    ]
    formats = {e["format"] for e in remote}
    assert len(formats) >= 4, formats  # folders, archives and files alike
