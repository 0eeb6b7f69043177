"""Catalog build benchmark: generated trees of sidecar-backed checkpoints, cold and warm.

    .venv/bin/python bench/bench_catalog.py [--quick] [--sizes 1000 10000] [--repeat 3]

Each tree has runs of 50 tiny checkpoints (``runN/checkpoints/epoch=E-step=S.ckpt``) with a
sidecar each (written by ``save_metadata``) and a Hydra config per run. Every measurement runs in a
fresh process so the in-process cache does not leak between them:

- cold: no cache at all (``use_cache=False``): walk, read and validate every sidecar and config;
- cold+write: empty persistent cache, filled by the build;
- warm: persistent cache filled, fresh process (the TUI's start-up case);
- warm (in-process): a second build in the same process (the TUI's rescan case).

Prints a markdown table with medians (wall and CPU time: on a shared machine the CPU time is the
steadier figure), per-entry cost, peak RSS and the ratio to the reference's own target of 10 ms
per sidecar-backed checkpoint.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import child_env, run_json_child, scratch_folder

REFERENCE_MS_PER_CHECKPOINT = 10.0
TARGETS = {"cold": 3.0, "warm": 1.0}  # seconds for 10,000 checkpoints on 2 cores
RUN_SIZE = 50

HYDRA = """\
exp_name: bench-{run}
model:
  architecture: dbnet
  encoder:
    model_name: resnet50
trainer:
  max_epochs: 100
callbacks:
  model_checkpoint:
    monitor: val/hmean
    mode: max
    save_top_k: 3
"""

_CHILD = r"""
import json, resource, sys, time
mode, root = sys.argv[1], sys.argv[2]
from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.cache import code_version
code_version()  # once per process, not part of a build


def timed(use_cache):
    wall, cpu = time.perf_counter(), time.process_time()
    catalog = build_catalog(root, use_cache=use_cache)
    assert all(e.source == "sidecar" for e in catalog.entries), "not all sidecar-backed"
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "count": len(catalog.entries)}


runs = [timed(mode != "cold")]
if mode == "warm":
    runs.append(timed(True))  # the same process again: the in-process layer
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"runs": runs, "rss": rss}))
"""


@dataclass
class Row:
    """One line of the result table."""

    count: int
    label: str
    wall: float
    cpu: float
    rss: float
    target: float | None


def make_tree(root: Path, count: int) -> None:
    """``count`` tiny checkpoints with sidecars, in runs of 50 with a Hydra config each."""
    from ckpt_tui.io.safe_yaml import dump_yaml
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

    for index in range(count):
        run, epoch = divmod(index, RUN_SIZE)
        folder = root / f"run{run:04d}" / "checkpoints"
        if epoch == 0:
            folder.mkdir(parents=True)
            hydra = root / f"run{run:04d}" / ".hydra"
            hydra.mkdir()
            (hydra / "config.yaml").write_text(HYDRA.format(run=run))
        name = f"epoch={epoch}-step={epoch * 100}"
        (folder / f"{name}.ckpt").write_bytes(b"PK\x03\x04tiny")
        metadata = CheckpointMetadataV1(
            checkpoint_path=f"run{run:04d}/checkpoints/{name}.ckpt",
            exp_name=f"bench-{run}",
            created_at="2025-10-18T14:32:15",
            training=TrainingInfo(epoch=epoch, global_step=epoch * 100, max_epochs=100),
            model=ModelInfo(
                architecture="dbnet",
                encoder=EncoderInfo(model_name="resnet50"),
                decoder=DecoderInfo(
                    name="pan_decoder", in_channels=[256, 512, 1024, 2048], inner_channels=256
                ),
                head=HeadInfo(name="db_head", in_channels=128),
                loss=LossInfo(name="db_loss"),
            ),
            metrics=MetricsInfo(
                precision=0.8 + epoch / 1000, recall=0.7, hmean=0.75, validation_loss=0.02
            ),
            checkpointing=CheckpointingConfig(monitor="val/hmean", mode="max", save_top_k=3),
        )
        # Written directly (not via save_metadata's atomic fsync) so generating 10k is quick.
        (folder / f"{name}.metadata.yaml").write_text(dump_yaml(metadata.to_yaml_dict()))


def measure(mode: str, root: Path, cache_dir: Path) -> dict[str, Any]:
    """One build in a fresh process: ``cold`` (no cache), ``fill`` (empty cache), ``warm``."""
    return run_json_child(_CHILD, mode, str(root), env=child_env(cache_dir))


def bench_size(count: int, repeat: int, workdir: Path) -> list[Row]:
    """Generate a tree of ``count`` checkpoints and time every kind of build on it."""
    root = workdir / f"tree-{count}"
    started = time.perf_counter()
    make_tree(root, count)
    took = time.perf_counter() - started
    print(f"generated {count:,} checkpoints in {took:.1f} s", file=sys.stderr)
    cold = [measure("cold", root, workdir / "unused-cache") for _ in range(repeat)]
    fills = [measure("fill", root, workdir / f"cache-{count}-{n}") for n in range(repeat)]
    warm = [measure("warm", root, workdir / f"cache-{count}-0") for _ in range(repeat)]
    # The targets are for 10,000 checkpoints; other sizes are shown for the trend.
    cold_target = TARGETS["cold"] if count == 10_000 else None
    warm_target = TARGETS["warm"] if count == 10_000 else None
    plan: list[tuple[str, list[dict[str, Any]], int, float | None]] = [
        ("cold (no cache)", cold, 0, cold_target),
        ("cold + cache write", fills, 0, None),
        ("warm (new process)", warm, 0, warm_target),
        ("warm (in-process)", warm, 1, warm_target),
    ]
    rows = []
    for label, results, index, target in plan:
        runs = [result["runs"][index] for result in results]
        rows.append(
            Row(
                count=count,
                label=label,
                wall=statistics.median(run["wall"] for run in runs),
                cpu=statistics.median(run["cpu"] for run in runs),
                rss=max(float(result["rss"]) for result in results),
                target=target,
            )
        )
    return rows


def print_table(rows: list[Row], repeat: int) -> None:
    """The markdown table."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nCatalog build over sidecar-backed checkpoints: median of {repeat}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end\n"
    )
    print(
        "| checkpoints | build | wall (s) | CPU (s) | per entry (ms) | vs reference 10 ms "
        "| target (s) | peak RSS (MiB) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        per_ms = 1000 * row.wall / row.count
        ratio = REFERENCE_MS_PER_CHECKPOINT / per_ms
        if row.target is None:
            target = "—"
        else:
            target = f"{row.target:.2f} {'✓' if row.wall <= row.target else '✗'}"
        print(
            f"| {row.count:,} | {row.label} | {row.wall:.3f} | {row.cpu:.3f} | {per_ms:.3f} "
            f"| {ratio:,.0f}× faster | {target} | {row.rss / 2**20:.0f} |"
        )


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description="Catalog build benchmark.")
    parser.add_argument("--quick", action="store_true", help="1,000 only, one repeat")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [1_000] if args.quick else args.sizes
    repeat = 1 if args.quick else args.repeat
    with scratch_folder("ckpt-tui-bench-") as workdir:
        rows = [row for count in sizes for row in bench_size(count, repeat, workdir)]
    print_table(rows, repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
