"""Per-entry cost of the checkpoint tier on files written outside Lightning.

    .venv/bin/python bench/bench_keys.py [--quick] [--repeat 200]

Writes, with ``torch.save`` / ``safetensors``, the same ResNet-50-shaped state dict (320 tensors,
tiny shapes: the key count is what the reader pays for) the way each writer saves it — a
Lightning dict (the baseline), the ImageNet example, timm's CheckpointSaver (with its
``argparse.Namespace``), mmcv (``meta`` with a config text) and safetensors with
``__metadata__`` — then times :func:`ckpt_tui.sources.checkpoint.checkpoint_tier` (read +
known keys + state-dict guess + details) on each, in one process, warm, interleaved. Prints the
median per entry and the ratio to the Lightning baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = "model = dict(\n    type='FasterRCNN',\n    backbone=dict(type='ResNet', depth=50))\n" * 40


def _weights() -> dict[str, object]:
    import torch

    weights: dict[str, object] = {}
    for layer, blocks in enumerate((3, 4, 6, 3), start=1):
        for block in range(blocks):
            for conv in (1, 2, 3):
                prefix = f"layer{layer}.{block}"
                weights[f"{prefix}.conv{conv}.weight"] = torch.zeros(2, 2, 1, 1)
                for part in ("weight", "bias", "running_mean", "running_var"):
                    weights[f"{prefix}.bn{conv}.{part}"] = torch.zeros(2)
                weights[f"{prefix}.bn{conv}.num_batches_tracked"] = torch.tensor(0)
    return weights


def write_files(folder: Path) -> dict[str, Path]:
    """One file per writer, same weights."""
    import torch
    from safetensors.torch import save_file

    weights = _weights()
    args = argparse.Namespace(
        model="resnet50",
        eval_metric="top1",
        epochs=300,
        lr=0.5,
        **{f"opt{i}": i for i in range(120)},
    )
    dicts = {
        "lightning": {"epoch": 3, "global_step": 120, "pytorch-lightning_version": "2.6.0",
                      "state_dict": weights, "callbacks": {}, "hyper_parameters": {"lr": 0.1}},
        "imagenet example": {"epoch": 4, "arch": "resnet50", "state_dict": weights,
                             "best_acc1": torch.tensor(71.5), "optimizer": {}},
        "timm CheckpointSaver": {"epoch": 3, "arch": "resnet50", "state_dict": weights,
                                 "optimizer": {}, "version": 2, "args": args, "metric": 71.5},
        "mmcv meta": {"meta": {"epoch": 12, "iter": 3000, "config": CONFIG, "time": "Mon Dec  7 "
                               "20:00:00 2026", "mmcv_version": "1.7.2",
                               "hook_msgs": {"best_score": 0.37}}, "state_dict": weights},
    }  # fmt: skip
    files: dict[str, Path] = {}
    for name, saved in dicts.items():
        files[name] = folder / f"{name.replace(' ', '_')}.pth"
        torch.save(saved, files[name])
    files["safetensors metadata"] = folder / "model.safetensors"
    save_file(
        {k: v for k, v in weights.items() if isinstance(v, torch.Tensor)},  # type: ignore[misc]
        str(files["safetensors metadata"]),
        metadata={
            "epoch": "4",
            "global_step": "1200",
            "architecture": "resnet50",
            "val_acc": "0.9",
        },
    )
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeat", type=int, default=200)
    options = parser.parse_args()
    repeat = 30 if options.quick else options.repeat
    from ckpt_tui.sources.checkpoint import checkpoint_tier

    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in files}
        for path in files.values():
            checkpoint_tier(path)  # warm: imports and caches
        for _ in range(repeat):
            for name, path in files.items():
                started = time.perf_counter()
                checkpoint_tier(path)
                times[name].append(time.perf_counter() - started)
    baseline = statistics.median(times["lightning"])
    print(f"checkpoint tier per entry, median of {repeat} (320 tensors each)\n")
    print("| file | median ms | vs Lightning dict |")
    print("|---|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1000:.2f} | {median / baseline:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
