"""Helpers for the TUI tests: the test tree, a fixed clock, and running the app under Pilot.

The tree holds sidecar-backed checkpoints, checkpoints known only from a Hydra config or the file
itself, a truncated file and a hostile pickle whose ``__reduce__`` would create ``PWNED`` if it
ever ran. Every file gets a fixed mtime so snapshots are deterministic.
"""

from __future__ import annotations

import os
import random
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from screen_capture import region_lines, scrolled_text
from screen_capture import screen_text as screen_text
from textual import events
from tree_builders import CRAFT_MODEL_YAML, write_hydra_config
from tui_pilot import FIXED_NOW as FIXED_NOW
from tui_pilot import build as build
from tui_pilot import fixed_clock as fixed_clock
from tui_pilot import main_screen as main
from tui_pilot import running as _running
from tui_pilot import wait_for as _wait_for

from ckpt_tui.model.schema import (
    CheckpointingConfig,
    CheckpointMetadataV1,
    DecoderInfo,
    EncoderInfo,
    HeadInfo,
    LossInfo,
    MetricsInfo,
    ModelInfo,
    TrainingInfo,
)
from ckpt_tui.sidecar.files import save_metadata
from ckpt_tui.tui.app import CheckpointBrowserApp
from ckpt_tui.tui.widgets.catalog_table import CatalogTable
from ckpt_tui.tui.widgets.detail_pane import DetailPane
from ckpt_tui.tui.widgets.filter_box import FilterBox
from ckpt_tui.tui.widgets.status_line import StatusLine

FIXED_MTIME = datetime(2025, 10, 30, 9, 30, tzinfo=timezone.utc).timestamp()
MARKER = "PWNED"


def _sidecar(
    ckpt: Path,
    *,
    exp: str,
    arch: str,
    encoder: str,
    epoch: int,
    step: int,
    hmean: float | None,
    precision: float | None,
    recall: float | None,
    created: str,
) -> None:
    metadata = CheckpointMetadataV1(
        checkpoint_path=str(ckpt),
        exp_name=exp,
        created_at=created,
        training=TrainingInfo(epoch=epoch, global_step=step, max_epochs=10),
        model=ModelInfo(
            architecture=arch,
            encoder=EncoderInfo(model_name=encoder),
            decoder=DecoderInfo(name="pan_decoder", inner_channels=64),
            head=HeadInfo(name="db_head"),
            loss=LossInfo(name="db_loss"),
        ),
        metrics=MetricsInfo(hmean=hmean, precision=precision, recall=recall, validation_loss=0.4),
        checkpointing=CheckpointingConfig(monitor="val/hmean", mode="max", save_top_k=3),
    )
    save_metadata(metadata, ckpt)


def _lightning_like(
    torch: Any, epoch: int, step: int, width: int, arch: str = "craft"
) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(epoch * 100 + step)
    return {
        "epoch": epoch,
        "global_step": step,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": {
            "model.encoder.conv.weight": torch.randn(width, 3, 3, 3, generator=generator),
            "model.encoder.bn.num_batches_tracked": torch.tensor(step),
            "model.head.weight": torch.randn(1, width, generator=generator),
        },
        "hyper_parameters": {"lr": 0.001, "batch_size": 8, "model": {"architecture": arch}},
    }


HYDRA_CONFIG = f"""\
exp_name: craft_vgg
{CRAFT_MODEL_YAML}callbacks:
  model_checkpoint:
    monitor: val/hmean
    mode: max
"""


class Evil:
    """Pickles as a call to ``open(marker, "w")``: it must never be called."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def write_tree(root: Path, marker: Path) -> Path:
    """The TUI tests' tree under ``root/outputs``; returns that folder."""
    import torch

    out = root / "outputs"
    sidecar_runs: list[tuple[str, str, str, list[tuple[int, int, float, float, float | None]]]] = [
        (
            "dbnet_r18",
            "dbnet",
            "resnet18",
            [(0, 10, 0.612, 0.7, 0.544), (4, 50, 0.835, 0.86, 0.812)],
        ),
        (
            "dbnetpp_r50",
            "dbnetpp",
            "resnet50",
            [(2, 30, 0.781, 0.8, 0.763), (9, 100, 0.871, 0.88, None)],
        ),
    ]
    for exp, arch, encoder, points in sidecar_runs:
        folder = out / exp / "checkpoints"
        folder.mkdir(parents=True)
        for epoch, step, hmean, precision, recall in points:
            ckpt = folder / f"epoch={epoch}-step={step}.ckpt"
            torch.save(_lightning_like(torch, epoch, step, 4, arch), ckpt)
            _sidecar(
                ckpt,
                exp=exp,
                arch=arch,
                encoder=encoder,
                epoch=epoch,
                step=step,
                hmean=hmean,
                precision=precision,
                recall=recall,
                created=f"2025-10-{10 + epoch:02d}T14:32:00+00:00",
            )
    # An invalid sidecar (hmean out of range): the file is still listed, with an error.
    bad = out / "dbnet_r18" / "checkpoints" / "epoch=7-step=80.ckpt"
    torch.save(_lightning_like(torch, 7, 80, 4, "dbnet"), bad)
    (bad.parent / "epoch=7-step=80.metadata.yaml").write_text(
        "schema_version: '1.0'\ncheckpoint_path: x\nexp_name: dbnet_r18\n"
        "created_at: '2025-10-20T10:00:00+00:00'\n"
        "training: {epoch: 7, global_step: 80}\n"
        "model: {architecture: dbnet, encoder: {model_name: resnet18}}\n"
        "metrics: {hmean: 2.5}\n"
    )
    # Known from a Hydra config and the checkpoint only.
    craft = out / "craft_vgg"
    write_hydra_config(craft, HYDRA_CONFIG)
    (craft / "checkpoints").mkdir()
    torch.save(_lightning_like(torch, 1, 20, 8), craft / "checkpoints" / "epoch=1-step=20.ckpt")
    torch.save(_lightning_like(torch, 3, 40, 8), craft / "checkpoints" / "last.ckpt")
    # Known from nothing but its bytes.
    legacy = out / "legacy"
    legacy.mkdir()
    torch.save({"weight": torch.zeros(2, 2)}, legacy / "model.pt")
    # Broken: truncated bytes.
    broken = out / "broken"
    broken.mkdir()
    (broken / "truncated.ckpt").write_bytes(random.Random(5).randbytes(300))
    # Hostile: a real torch zip whose pickle would open(marker, "w").
    evil = out / "evil"
    evil.mkdir()
    torch.save({"epoch": 1, "state_dict": {}, "payload": Evil(marker)}, evil / "evil.ckpt")
    for path in out.rglob("*"):
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    return out


#: :func:`tui_pilot.wait_for` at the 50 ms poll this folder's tests were written for.
wait_for = partial(_wait_for, interval=0.05)
#: :func:`tui_pilot.running` (the first scan awaited, not the verification) at that poll.
running = partial(_running, wait={"interval": 0.05})


def table(app: CheckpointBrowserApp) -> CatalogTable:
    return main(app).query_one(CatalogTable)


def detail(app: CheckpointBrowserApp) -> DetailPane:
    return main(app).query_one(DetailPane)


def filter_box(app: CheckpointBrowserApp) -> FilterBox:
    return main(app).query_one(FilterBox)


def status(app: CheckpointBrowserApp) -> str:
    """The status line as shown."""
    return "\n".join(region_lines(app, main(app).query_one(StatusLine).region))


async def detail_text(pilot: Any) -> str:
    """Everything the detail pane shows, scrolled through from top to bottom."""
    return await scrolled_text(pilot, detail(pilot.app))


def shown_paths(app: CheckpointBrowserApp) -> list[str]:
    """The checkpoint paths of the table's rows, in display order."""
    return [entry.checkpoint_path for entry in table(app).rows]


def table_lines(app: CheckpointBrowserApp) -> list[str]:
    """The table's lines as displayed (header first)."""
    return region_lines(app, table(app).region)


async def type_text(pilot: Any, text: str) -> None:
    """Type ``text`` key by key, as a user would.

    On a slow machine the filter's debounce can fire between two keys, so a test must not
    depend on a prefix of ``text`` never being applied; use :func:`paste_text` for that.
    """
    await pilot.press(*text)


async def paste_text(pilot: Any, text: str) -> None:
    """Insert ``text`` into the focused widget in one step (a bracketed paste)."""
    focused = pilot.app.focused
    assert focused is not None, "nothing has the focus to paste into"
    focused.post_message(events.Paste(text))
    await pilot.pause()
