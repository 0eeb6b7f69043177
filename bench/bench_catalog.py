"""Catalog build benchmark: generated trees of sidecar-backed checkpoints, cold and warm.

    .venv/bin/python bench/bench_catalog.py [--quick] [--sizes 1000 10000] [--repeat 3]

Each tree has runs of 50 tiny checkpoints (``runN/checkpoints/epoch=E-step=S.ckpt``) with a
sidecar each (written by ``save_metadata``) and a Hydra config per run. Every measurement runs in a
fresh process so the in-process cache does not leak between them:

- cold: no cache at all (``use_cache=False``): walk, read and validate every sidecar and config;
- cold+write: empty persistent cache, filled by the build;
- warm: persistent cache filled, fresh process (the TUI's start-up case);
- warm (in-process): a second build in the same process (the TUI's rescan case).

Prints a markdown table with medians, per-entry cost, peak RSS and the ratio to the reference's
own target of 10 ms per sidecar-backed checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
from ckpt_tui.core.catalog import build_catalog
started = time.perf_counter()
catalog = build_catalog(root, use_cache=(mode != "cold"))
first = time.perf_counter() - started
second = None
if mode == "warm2":
    started = time.perf_counter()
    catalog = build_catalog(root, use_cache=True)
    second = time.perf_counter() - started
assert all(e.source == "sidecar" for e in catalog.entries), "not all sidecar-backed"
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"first": first, "second": second, "count": len(catalog.entries), "rss": rss}))
"""


def make_tree(root: Path, count: int) -> None:
    """``count`` tiny checkpoints with sidecars, in runs of 50 with a Hydra config each."""
    from ckpt_tui.core.models import (
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
    from ckpt_tui.core.safe_yaml import dump_yaml

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


def measure(mode: str, root: Path, cache_dir: Path) -> dict[str, float]:
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(cache_dir)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(root)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout)


def bench_size(count: int, repeat: int, workdir: Path) -> list[dict[str, object]]:
    root = workdir / f"tree-{count}"
    started = time.perf_counter()
    make_tree(root, count)
    print(
        f"generated {count:,} checkpoints in {time.perf_counter() - started:.1f} s", file=sys.stderr
    )
    rows = []
    cold = [measure("cold", root, workdir / "unused-cache") for _ in range(repeat)]
    fills = []
    for attempt in range(repeat):
        cache_dir = workdir / f"cache-{count}-{attempt}"
        fills.append(measure("fill", root, cache_dir))
    warm_cache = workdir / f"cache-{count}-0"
    warm = [measure("warm2", root, warm_cache) for _ in range(repeat)]
    for label, runs, key, target in (
        ("cold (no cache)", cold, "first", TARGETS["cold"]),
        ("cold + cache write", fills, "first", None),
        ("warm (new process)", warm, "first", TARGETS["warm"]),
        ("warm (in-process)", warm, "second", TARGETS["warm"]),
    ):
        seconds = statistics.median(float(run[key]) for run in runs)  # type: ignore[arg-type]
        rss = max(float(run["rss"]) for run in runs)  # type: ignore[arg-type]
        rows.append(
            {
                "label": label,
                "count": count,
                "seconds": seconds,
                "rss": rss,
                "target": target * count / 10_000 if target else None,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 only, one repeat")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [1_000] if args.quick else args.sizes
    repeat = 1 if args.quick else args.repeat
    workdir = Path(tempfile.mkdtemp(prefix="ckpt-tui-bench-"))
    try:
        rows = [row for count in sizes for row in bench_size(count, repeat, workdir)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nCatalog build, sidecar-backed checkpoints, median of {repeat} (cpus: {os.cpu_count()})\n"
    )
    print(
        "| checkpoints | build | time (s) | per entry (ms) | vs 10 ms target | target (s) | peak RSS (MiB) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for row in rows:
        count = int(row["count"])  # type: ignore[call-overload]
        seconds = float(row["seconds"])  # type: ignore[arg-type]
        per_ms = 1000 * seconds / count
        ratio = REFERENCE_MS_PER_CHECKPOINT / per_ms
        target = row["target"]
        verdict = "" if target is None else (" ✓" if seconds <= float(target) else " ✗")  # type: ignore[arg-type]
        target_text = "—" if target is None else f"{float(target):.2f}{verdict}"  # type: ignore[arg-type]
        print(
            f"| {count:,} | {row['label']} | {seconds:.3f} | {per_ms:.3f} | {ratio:,.0f}× faster "
            f"| {target_text} | {float(row['rss']) / 2**20:.0f} |"  # type: ignore[arg-type]
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
