"""Only global rank 0 writes: a real two-process DDP run (ddp_spawn, gloo, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
from callback_helpers import assert_one_sidecar_each, checkpoints_in, fit
from lightning.pytorch.callbacks import ModelCheckpoint

from ckpt_tui.callbacks import MetadataCallback
from ckpt_tui.sidecar.files import read_sidecar


@pytest.mark.slow
def test_ddp_only_rank_zero_writes(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    checkpoint = ModelCheckpoint(dirpath=folder, save_top_k=-1, save_last=True)
    # Each rank's module names the experiment after its rank: rank 1 would write "rank1".
    fit(
        tmp_path,
        [checkpoint, MetadataCallback()],
        package="lightning.pytorch/rank-named",
        max_epochs=2,
        strategy="ddp_spawn",
        devices=2,
    )
    assert len(checkpoints_in(folder)) == 3
    assert_one_sidecar_each(folder)
    for ckpt in checkpoints_in(folder):
        metadata = read_sidecar(ckpt).metadata
        assert metadata is not None
        assert metadata.exp_name == "rank0"
