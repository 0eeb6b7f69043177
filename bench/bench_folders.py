"""Benchmark the readers of folder checkpoints against a sidecar-backed entry.

Run: ``.venv/bin/python bench/bench_folders.py [--quick] [--count N] [--repeat R]``

Writes, in a temporary folder, with the real libraries: one Hugging Face Trainer run (a tiny
random BERT, three ``checkpoint-N/`` folders) copied into N Trainer folders, N sharded
``save_pretrained`` folders, N DCP folders, and N sidecar-backed Lightning files (a real
``torch.save`` file with a sidecar each). Then, in this process (files in the page cache):

* per reader, the median time per call: ``trainer_state.json``, ``config.json``,
  ``training_args.bin`` (its plain values), a safetensors header, the verdict of one pickle
  (``optimizer.pt``), DCP's ``.metadata``, and the whole folder tier of each folder kind;
* per entry, a catalog build without the cache (``build_catalog``) of each tree, divided by N,
  against the sidecar-backed tree: the fast tiers alone (what the first rows cost: a folder's
  JSON files, as cheap as a sidecar) and the whole build (the verdict reads every pickle of a
  folder: a Trainer folder holds four). The ratios are what a user pays for a folder checkpoint
  compared with a checkpoint that has a sidecar.

Prints a markdown table of medians and ratios. Everything written is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "formats"))


def median_seconds(call: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls (after one warm-up call)."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def make_trees(base: Path, count: int) -> dict[str, Path]:
    """The four trees: Trainer folders, sharded folders, DCP folders, sidecar-backed files."""
    import formats_writers as writers
    import torch

    from ckpt_tui.sidecar.files import save_metadata

    run = writers.train_with_trainer(base / "source-run")
    trees = {name: base / name for name in ("trainer", "sharded", "dcp", "sidecar")}
    for index in range(count):
        shutil.copytree(run / "checkpoint-4", trees["trainer"] / f"run{index}" / "checkpoint-4")
    writers.save_sharded(base / "sharded-source", safetensors=True)
    writers.save_dcp(base / "dcp-source")
    for index in range(count):
        shutil.copytree(base / "sharded-source", trees["sharded"] / f"model{index}")
        shutil.copytree(base / "dcp-source", trees["dcp"] / f"run{index}" / "step_7")
    lightning = base / "lightning.ckpt"
    torch.save(
        {
            "epoch": 3,
            "global_step": 40,
            "pytorch-lightning_version": "2.6.0",
            "state_dict": {"model.encoder.conv1.weight": torch.zeros(8, 3, 3, 3)},
        },
        lightning,
    )
    from ckpt_tui.model.schema import (
        CheckpointMetadataV1,
        EncoderInfo,
        MetricsInfo,
        ModelInfo,
        TrainingInfo,
    )

    for index in range(count):
        folder = trees["sidecar"] / f"run{index}" / "checkpoints"
        folder.mkdir(parents=True)
        target = folder / "epoch=3-step=40.ckpt"
        shutil.copyfile(lightning, target)
        save_metadata(
            CheckpointMetadataV1(
                checkpoint_path=target.name,
                exp_name=f"run{index}",
                created_at="2025-10-18T14:32:15",
                training=TrainingInfo(epoch=3, global_step=40),
                model=ModelInfo(architecture="dbnet", encoder=EncoderInfo(model_name="resnet50")),
                metrics=MetricsInfo(hmean=0.8, precision=0.8, recall=0.8),
            ),
            target,
        )
    return trees


def reader_rows(trees: dict[str, Path], repeat: int) -> list[tuple[str, float]]:
    """Median seconds per call of each reader on one folder."""
    from ckpt_tui.io.safe_yaml import load_document
    from ckpt_tui.reader import inspect_checkpoint
    from ckpt_tui.reader.dcp import read_pickle_file, read_saved_object
    from ckpt_tui.sources.folder import folder_tier

    trainer = trees["trainer"] / "run0" / "checkpoint-4"
    sharded = trees["sharded"] / "model0"
    dcp = trees["dcp"] / "run0" / "step_7"
    shard = next(sharded.glob("model-00001-of-*.safetensors"))
    calls: list[tuple[str, Callable[[], object]]] = [
        ("trainer_state.json", lambda: load_document(trainer / "trainer_state.json", 1 << 23)),
        ("config.json", lambda: load_document(trainer / "config.json", 1 << 23)),
        ("training_args.bin values", lambda: read_saved_object(trainer / "training_args.bin")),
        ("a safetensors header", lambda: inspect_checkpoint(shard)),
        ("optimizer.pt verdict", lambda: inspect_checkpoint(trainer / "optimizer.pt")),
        ("DCP .metadata", lambda: read_pickle_file(dcp / ".metadata")),
        ("folder tier: Trainer checkpoint-N", lambda: folder_tier(str(trainer))),
        ("folder tier: sharded save_pretrained", lambda: folder_tier(str(sharded))),
        ("folder tier: DCP", lambda: folder_tier(str(dcp))),
    ]
    return [(label, median_seconds(call, repeat)) for label, call in calls]


def build_per_entry(tree: Path, count: int, repeat: int, *, inspect: bool = True) -> float:
    """Median seconds per entry of a whole catalog build of ``tree`` without the cache
    (``inspect=False``: the fast tiers only, what the first rows cost)."""
    from ckpt_tui.catalog.api import build_catalog

    def build() -> None:
        entries = build_catalog(tree, use_cache=False, inspect=inspect).entries
        assert len(entries) == count, (tree, len(entries))

    return median_seconds(build, repeat) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 folders, 5 repeats")
    parser.add_argument("--count", type=int, default=50, help="folders (and files) per tree")
    parser.add_argument("--repeat", type=int, default=11, help="calls per median")
    args = parser.parse_args()
    count = 10 if args.quick else args.count
    repeat = 5 if args.quick else args.repeat
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    base = Path(tempfile.mkdtemp(prefix="ckpt-bench-folders-"))
    try:
        trees = make_trees(base, count)
        sidecar = build_per_entry(trees["sidecar"], count, repeat)
        print(f"{count} entries per tree, median of {repeat}; files in the page cache\n")
        print("| per entry: catalog build, no cache | first rows (fast tiers) ms | × sidecar | "
              "whole build ms | × sidecar |")  # fmt: skip
        print("|---|---:|---:|---:|---:|")
        fast_sidecar = build_per_entry(trees["sidecar"], count, repeat, inspect=False)
        for name in ("sidecar", "trainer", "sharded", "dcp"):
            fast = (
                fast_sidecar
                if name == "sidecar"
                else build_per_entry(trees[name], count, repeat, inspect=False)
            )
            whole = sidecar if name == "sidecar" else build_per_entry(trees[name], count, repeat)
            print(
                f"| {name} | {fast * 1000:.2f} | {fast / fast_sidecar:.1f} | "
                f"{whole * 1000:.2f} | {whole / sidecar:.1f} |"
            )
        print("\n| reader (one call) | ms | × sidecar-backed entry |")
        print("|---|---:|---:|")
        for label, seconds in reader_rows(trees, repeat):
            print(f"| {label} | {seconds * 1000:.2f} | {seconds / sidecar:.1f} |")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
