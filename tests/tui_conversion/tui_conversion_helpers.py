"""Helpers for the conversion screen's tests: a small legacy tree, hashing, running the app.

The tree is written by real ``torch.save``: one Hydra run (dbnet / resnet18) whose checkpoints
have no sidecar, one checkpoint that already has a sidecar, a truncated file (it cannot be
converted) and a checkpoint whose name holds an escape sequence. Every file gets a fixed mtime.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from screen_capture import screen_text as screen_text
from screen_capture import toast_texts as toast_texts
from screen_capture import widget_text
from tree_builders import dbnet_hydra_config, save_lightning_checkpoint, write_hydra_config
from tui_pilot import build as build
from tui_pilot import loaded as loaded
from tui_pilot import main_screen as main
from tui_pilot import open_screen
from tui_pilot import running as _running
from tui_pilot import wait_for as wait_for

from ckpt_tui.model.schema import (
    CheckpointingConfig,
    CheckpointMetadataV1,
    EncoderInfo,
    MetricsInfo,
    ModelInfo,
    TrainingInfo,
)
from ckpt_tui.sidecar.files import save_metadata
from ckpt_tui.tui.app import CheckpointBrowserApp
from ckpt_tui.tui.screens.conversion import ConversionScreen

__all__ = ["main"]

FIXED_MTIME = datetime(2025, 10, 18, 14, 32, tzinfo=timezone.utc).timestamp()
RUN = "2025-10-18/14-32-15"
#: A name holding Textual markup and a terminal escape (clear screen): shown escaped, as text.
HOSTILE_NAME = "epoch=6-step=600[b]\x1b[2J.ckpt"

HYDRA_CONFIG = dbnet_hydra_config("dbnet_r18")


def write_tree(base: Path, *, run_checkpoints: int = 3, extras: bool = True) -> Path:
    """Write ``base/outputs`` and return it.

    The Hydra run holds ``epoch=0-step=100``, ``epoch=4-step=500``, ... (``run_checkpoints`` of
    them, epoch ``4 * i``). ``extras`` adds the sidecar-backed, truncated and hostile files.
    """
    out = base / "outputs"
    run = write_hydra_config(out / RUN, HYDRA_CONFIG)
    for i in range(run_checkpoints):
        epoch, step = 4 * i, 100 * (4 * i + 1)
        save_lightning_checkpoint(
            run / "checkpoints" / f"epoch={epoch}-step={step}.ckpt", epoch, step
        )
    if extras:
        save_lightning_checkpoint(run / "checkpoints" / HOSTILE_NAME, 6, 600)
        done = out / "with_sidecar" / "checkpoints" / "epoch=2-step=20.ckpt"
        save_lightning_checkpoint(done, 2, 20)
        save_metadata(
            CheckpointMetadataV1(
                checkpoint_path="with_sidecar/checkpoints/epoch=2-step=20.ckpt",
                exp_name="with_sidecar",
                created_at="2025-10-01T10:00:00+00:00",
                training=TrainingInfo(epoch=2, global_step=20),
                model=ModelInfo(architecture="old_arch", encoder=EncoderInfo(model_name="old")),
                metrics=MetricsInfo(hmean=0.5),
                checkpointing=CheckpointingConfig(monitor="val/hmean", mode="max", save_top_k=1),
            ),
            done,
        )
        broken = out / "broken" / "truncated.ckpt"
        broken.parent.mkdir(parents=True)
        broken.write_bytes(b"PK\x03\x04" + bytes(200))
    for path in out.rglob("*"):
        os.utime(path, (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
    return out


def sha256_tree(root: Path, suffixes: tuple[str, ...] = (".ckpt", ".pt", ".pth")) -> dict[str, str]:
    """sha256 of every checkpoint under ``root`` (symlinks are not followed), by relative path."""
    digests = {}
    for path in sorted(root.rglob("*")):
        if path.suffix in suffixes and path.is_file() and not path.is_symlink():
            digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


async def open_conversion(pilot: Any) -> ConversionScreen:
    """Press ``c`` on the table and wait until the screen's plan is shown."""
    return await open_screen(pilot, "c", ConversionScreen, what="screen")


def conversion_status(screen: ConversionScreen) -> str:
    """The conversion screen's status line as shown."""
    return widget_text(screen.app, screen.query_one("#conversion-status"))


def running(
    root: Path, size: tuple[int, int] = (120, 36)
) -> AbstractAsyncContextManager[tuple[CheckpointBrowserApp, Any]]:
    """Run the app headless until its first scan and its verification are complete.

    Notifications stay up for a minute, so a slow machine reads them before they expire."""
    return _running(root, size, verified=True, notification_timeout=60)
