"""Bench: converting 200 legacy Lightning-format checkpoints, ckpt-tui vs the reference's way.

The reference converted each checkpoint with ``torch.load(weights_only=False)`` and then wrote a
YAML file. ckpt-tui reads only the zip directory and ``data.pkl``. Both run in fresh processes
with a warm page cache (each file is read once before timing). Prints a markdown table.

    python bench/bench_convert.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE_WAY = r"""
import sys, time, torch, yaml
from pathlib import Path
started = time.perf_counter()
for path in sorted(Path(sys.argv[1]).rglob("*.ckpt")):
    ckpt = torch.load(path, map_location="cpu", weights_only=False)  # the reference's slow path
    data = {"checkpoint_path": str(path), "training": {"epoch": int(ckpt["epoch"]),
            "global_step": int(ckpt["global_step"])}}
    path.with_name(path.stem + ".ref.yaml").write_text(yaml.safe_dump(data))
print(time.perf_counter() - started)
"""


DISTINCT = 10
"""Distinct files written; the rest are hard links to them (disk stays small, and torch.load
still reads every byte of each path it opens)."""


def resnet18_state() -> dict[str, object]:
    """A ResNet-18-sized encoder state dict (11.2M fp32 parameters, ~45 MB)."""
    import torch

    state: dict[str, object] = {"model.encoder.conv1.weight": torch.randn(64, 3, 7, 7)}
    widths = [64, 128, 256, 512]
    previous = 64
    for layer, width in enumerate(widths, start=1):
        for block in range(2):
            prefix = f"model.encoder.layer{layer}.{block}"
            state[f"{prefix}.conv1.weight"] = torch.randn(width, previous, 3, 3)
            state[f"{prefix}.bn1.weight"] = torch.ones(width)
            state[f"{prefix}.conv2.weight"] = torch.randn(width, width, 3, 3)
            state[f"{prefix}.bn2.weight"] = torch.ones(width)
            previous = width
    return state


def write_tree(root: Path, count: int) -> None:
    """``count`` Lightning-format checkpoints (ResNet-18-sized) in Hydra-style run folders."""
    import torch
    from omegaconf import OmegaConf

    torch.manual_seed(0)
    state = resnet18_state()
    hparams = OmegaConf.create(
        {
            "model": {"architecture": "dbnet", "encoder": {"model_name": "resnet18"}},
            "trainer": {"max_epochs": 100},
        }
    )
    originals: list[Path] = []
    for index in range(count):
        run = root / f"run_{index // 20:02d}"
        folder = run / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        epoch = index % 20
        target = folder / f"epoch={epoch}-step={epoch * 100}.ckpt"
        if len(originals) >= DISTINCT:
            os.link(originals[index % DISTINCT], target)
            continue
        originals.append(target)
        torch.save(
            {
                "epoch": epoch,
                "global_step": epoch * 100,
                "pytorch-lightning_version": "2.6.6",
                "state_dict": state,
                "hyper_parameters": hparams,
                "callbacks": {
                    "ModelCheckpoint{'monitor': 'val/hmean', 'mode': 'max'}": {
                        "monitor": "val/hmean",
                        "current_score": torch.tensor(0.5 + epoch / 100),
                        "best_k_models": {},
                    }
                },
            },
            target,
        )


def warm(root: Path) -> None:
    for path in root.rglob("*.ckpt"):
        path.read_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 checkpoints instead of 200")
    args = parser.parse_args()
    count = 50 if args.quick else 200
    work = Path(tempfile.mkdtemp(prefix="ckpt-tui-bench-convert-"))
    try:
        source = work / "tree"
        write_tree(source, count)
        size = sum(p.stat().st_size for p in source.rglob("*.ckpt"))
        ours_tree, ref_tree = work / "ours", work / "ref"
        shutil.copytree(source, ours_tree, copy_function=os.link)
        shutil.copytree(source, ref_tree, copy_function=os.link)
        warm(ours_tree)
        warm(ref_tree)
        env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(work / "cache")}
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "ckpt_tui", "convert", str(ours_tree), "--json", "--no-cache"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        ours = time.perf_counter() - started
        written = sum(1 for _ in ours_tree.rglob("*.metadata.yaml"))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", REFERENCE_WAY, str(ref_tree)], check=True,
                       capture_output=True)  # fmt: skip
        reference = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{count} Lightning-format checkpoints, {size / count / 1e6:.1f} MB each, warm page cache"
    )
    print()
    print("| way (fresh process, end to end) | total | per file | sidecars |")
    print("|---|---:|---:|---:|")
    print(
        f"| ckpt-tui convert --no-cache | {ours:.2f} s | {1000 * ours / count:.1f} ms | {written} |"
    )
    print(f"| torch.load(weights_only=False) + YAML write | {reference:.2f} s "
          f"| {1000 * reference / count:.1f} ms | {count} |")  # fmt: skip
    ratio = reference / ours if ours else float("inf")
    verdict = "met" if ratio >= 10 else "MISSED"
    print(f"\nratio: {ratio:.1f}× faster (target ≥ 10×: {verdict}); exit {result.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
