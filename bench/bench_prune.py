"""Prune benchmark: the time to make a prune plan for a tree of 10,000 checkpoints.

    .venv/bin/python bench/bench_prune.py [--quick] [--count 10000] [--repeat 3]

The tree: one real Lightning-style ``torch.save`` checkpoint (with a ModelCheckpoint state naming
its ``best_model_path``) hard-linked ``count`` times, 50 per run folder, each with its own
sidecar, and ``last.ckpt`` a link to each run's newest. Every measurement is a fresh process
running :func:`ckpt_tui.prune.build.plan_prune` with the default rules (nothing is deleted):

- cold: no cache — the catalog is built from the sidecars, then the files of the checkpoints
  that stay are read by the safe reader for their ``best_model_path``;
- warm: the catalog cache filled by an earlier build (the reads for ``best_model_path`` remain).

Prints medians (wall and CPU seconds) and the per-checkpoint cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import child_env, run_json_child, scratch_folder

RUN_SIZE = 50

SIDECAR = """\
schema_version: '1.0'
checkpoint_path: {path}
exp_name: {exp}
created_at: '2025-10-18T12:00:00+00:00'
training:
  epoch: {epoch}
  global_step: {step}
metrics:
  hmean: {hmean}
checkpointing:
  monitor: val/hmean
  mode: max
  save_top_k: -1
"""

_CHILD = r"""
import json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
from ckpt_tui.prune.build import plan_prune
from ckpt_tui.prune.plan import PruneOptions
plan = plan_prune(sys.argv[1], PruneOptions(), use_cache=sys.argv[2] == "cache")
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "items": len(plan.items), "deleted": len(plan.deleted)}))
"""


def write_sample(path: Path) -> None:
    """One Lightning-style checkpoint with a ModelCheckpoint state (real ``torch.save``)."""
    import torch

    state_key = "ModelCheckpoint{'monitor': 'val/hmean', 'mode': 'max'}"
    torch.save(
        {
            "epoch": 3,
            "global_step": 120,
            "pytorch-lightning_version": "2.6.0",
            "state_dict": {"model.encoder.conv1.weight": torch.zeros(8, 3, 3, 3)},
            "callbacks": {
                state_key: {
                    "monitor": "val/hmean",
                    "best_model_score": torch.tensor(0.9),
                    "best_model_path": "/train/run/checkpoints/epoch=1-step=10.ckpt",
                    "current_score": torch.tensor(0.8),
                    "best_k_models": {},
                    "kth_best_model_path": "",
                    "dirpath": "/train/run/checkpoints",
                    "last_model_path": "",
                }
            },
        },
        path,
    )


def write_tree(root: Path, count: int, sample: Path) -> None:
    """``count`` hard links of ``sample`` with sidecars, in runs of 50, plus a last.ckpt link."""
    for index in range(count):
        run, epoch = divmod(index, RUN_SIZE)
        folder = root / f"run{run:04d}" / "checkpoints"
        if epoch == 0:
            folder.mkdir(parents=True)
        name = f"epoch={epoch}-step={epoch * 10}"
        os.link(sample, folder / f"{name}.ckpt")
        (folder / f"{name}.metadata.yaml").write_text(
            SIDECAR.format(
                path=f"run{run:04d}/checkpoints/{name}.ckpt",
                exp=f"run{run}",
                epoch=epoch,
                step=epoch * 10,
                hmean=(index * 7919 % 1000) / 1000,
            )
        )
        if epoch == RUN_SIZE - 1 or index == count - 1:
            (folder / "last.ckpt").symlink_to(f"{name}.ckpt")


def measure(root: Path, cache: Path, mode: str) -> dict[str, float]:
    """One plan in a fresh process."""
    return run_json_child(_CHILD, str(root), mode, env=child_env(cache))


def main() -> int:
    """Generate the tree, time the plans, print the table."""
    parser = argparse.ArgumentParser(description="Prune plan benchmark.")
    parser.add_argument("--quick", action="store_true", help="1,000 checkpoints, one repeat")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-sample", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_sample:  # its own process: torch never sits in the measuring one
        write_sample(Path(args.write_sample))
        return 0
    count = 1_000 if args.quick else args.count
    repeat = 1 if args.quick else args.repeat
    with scratch_folder("ckpt-tui-prune-") as base:
        sample = base / "sample.ckpt"
        subprocess.run([sys.executable, __file__, "--write-sample", str(sample)], check=True)
        root = base / "outputs"
        write_tree(root, count, sample)
        cache = base / "cache"
        cold = [measure(root, cache / "none", "no-cache") for _ in range(repeat)]
        measure(root, cache / "warm", "cache")  # fills the cache
        warm = [measure(root, cache / "warm", "cache") for _ in range(repeat)]
    print(f"\nPrune plan (default rules), {count:,} sidecar-backed checkpoints in runs of")
    print(f"{RUN_SIZE}: median of {repeat}, fresh process each, {os.cpu_count()} CPUs\n")
    print("| plan | wall (s) | CPU (s) | per checkpoint (ms) | to delete |")
    print("|---|---:|---:|---:|---:|")
    for label, runs in (("cold (no cache)", cold), ("warm (catalog cache)", warm)):
        wall = statistics.median(run["wall"] for run in runs)
        cpu = statistics.median(run["cpu"] for run in runs)
        print(
            f"| {label} | {wall:.2f} | {cpu:.2f} | {1000 * wall / count:.3f} "
            f"| {int(runs[0]['deleted']):,} of {int(runs[0]['items']):,} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
