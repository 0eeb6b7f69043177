"""Benchmark: what the MetadataCallback adds to each checkpoint save.

Runs real ``Trainer.fit`` runs on the CPU that save a checkpoint after every step
(``ModelCheckpoint(every_n_train_steps=1, save_top_k=-1)``) with the callback attached, and reads
the callback's own per-save timings:

- save: the checkpoint save (timed around ModelCheckpoint's ``_save_checkpoint``);
- sidecar on the training loop: what training waits for (build the metadata, queue the write);
- sidecar write: the atomic write with its two fsyncs, done by the background writer;
- inline: the same run with ``background_writes=False``, where training waits for everything.

Prints a markdown table; the target is a median sidecar cost under 5 ms per checkpoint.

    python bench/bench_callback.py [--quick] [--dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGET_MS = 5.0


@dataclass
class Case:
    name: str
    width: int
    depth: int
    steps: int


@dataclass
class Result:
    case: Case
    params: int
    ckpt_bytes: int
    sidecar_bytes: int
    save_ms: list[float]
    loop_ms: list[float]
    write_ms: list[float]
    inline_ms: list[float]


def _module(width: int, depth: int) -> Any:
    import lightning.pytorch as L
    import torch

    class Bench(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.save_hyperparameters(
                {
                    "exp_name": "bench",
                    "model": {
                        "architecture": "dbnet",
                        "encoder": {"model_name": "resnet50", "pretrained": True},
                        "decoder": {"name": "pan_decoder", "in_channels": [256, 512, 1024, 2048]},
                        "head": {"name": "db_head", "in_channels": 256},
                        "loss": {"name": "db_loss"},
                    },
                }
            )
            layers: list[torch.nn.Module] = []
            for _ in range(depth):
                layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
            self.net = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            loss = self.net(batch[0]).pow(2).mean()
            # A realistic metrics block: the named metrics plus a few dozen other scalars.
            self.log("train/loss", loss)
            self.log_dict({"val/hmean": 0.81, "val/precision": 0.84, "val/recall": 0.78})
            self.log_dict({f"val/extra_{i}": float(i) / 100 for i in range(24)})
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.parameters(), lr=1e-4)

    return Bench()


def _fit(case: Case, folder: Path, *, background: bool) -> tuple[Any, Any]:
    """One fit that saves after every step; returns (module, callback)."""
    import lightning.pytorch as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    from ckpt_tui.callbacks import MetadataCallback

    torch.manual_seed(0)
    module = _module(case.width, case.depth)
    data = torch.utils.data.TensorDataset(torch.randn(case.steps * 2, case.width))
    callback = MetadataCallback(background_writes=background)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=case.steps,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[ModelCheckpoint(dirpath=folder, every_n_train_steps=1, save_top_k=-1), callback],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=2))
    return module, callback


def run_case(case: Case, root: Path) -> Result:
    """The case with background writes (the default) and inline; per-save timings in ms."""
    folder = root / case.name
    module, callback = _fit(case, folder, background=True)
    _, inline = _fit(case, root / f"{case.name}-inline", background=False)
    # The first save pays one-off costs (imports, caches): leave it out.
    timings = list(callback.timings)[1:]
    ckpts = sorted(folder.glob("*.ckpt"))
    sidecars = sorted(folder.glob("*.metadata.yaml"))
    assert len(sidecars) == len(ckpts), "a checkpoint has no sidecar"
    return Result(
        case=case,
        params=sum(p.numel() for p in module.parameters()),
        ckpt_bytes=ckpts[-1].stat().st_size,
        sidecar_bytes=sidecars[-1].stat().st_size,
        save_ms=[t.save * 1000 for t in timings],
        loop_ms=[t.sidecar * 1000 for t in timings],
        write_ms=[s * 1000 for s in list(callback.writer.write_seconds)[1:]],
        inline_ms=[t.sidecar * 1000 for t in list(inline.timings)[1:]],
    )


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def table(results: list[Result]) -> str:
    lines = [
        "| model | params | checkpoint | sidecar | saves | median save "
        "| sidecar on training loop (p95) | sidecar write, background (p95) "
        "| inline: training waits (p95) | loop / save |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        save, loop = statistics.median(r.save_ms), statistics.median(r.loop_ms)
        lines.append(
            f"| {r.case.name} | {r.params:,} | {r.ckpt_bytes / 1e6:.2f} MB "
            f"| {r.sidecar_bytes / 1e3:.1f} KB | {len(r.save_ms)} | {save:.2f} ms "
            f"| {loop:.2f} ms ({_p95(r.loop_ms):.2f}) "
            f"| {statistics.median(r.write_ms):.2f} ms ({_p95(r.write_ms):.2f}) "
            f"| {statistics.median(r.inline_ms):.2f} ms ({_p95(r.inline_ms):.2f}) "
            f"| {100 * loop / save:.1f} % |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer saves, smaller mid model")
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp folder)")
    args = parser.parse_args(argv)
    cases = (
        [Case("tiny", 8, 1, 12), Case("mid", 512, 4, 6)]
        if args.quick
        else [Case("tiny", 8, 1, 40), Case("mid", 1024, 6, 15)]
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        results = [run_case(case, Path(tmp)) for case in cases]
    print("### MetadataCallback: sidecar write vs checkpoint save (per checkpoint)\n")
    print(table(results))
    worst = max(statistics.median(r.loop_ms) for r in results)
    verdict = "PASS" if worst < TARGET_MS else "FAIL"
    print(
        f"\nTarget: median sidecar cost to training < {TARGET_MS:.0f} ms per checkpoint -> "
        f"{verdict} (worst median {worst:.2f} ms). The write itself (temp file, fsync, rename, "
        f"fsync of the folder) runs in the callback's background thread; its time depends on "
        f"the disk. Total bench time {time.perf_counter() - started:.1f} s."
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
