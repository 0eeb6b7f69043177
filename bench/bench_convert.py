"""Bench: converting 200 legacy Lightning-format checkpoints, ckpt-tui vs the reference's way.

The reference converted each checkpoint with ``torch.load`` (``weights_only`` off: its legacy
path) and then wrote a YAML file. ckpt-tui reads only the zip directory and ``data.pkl``. Both run
end to end in fresh processes, on fresh hard-linked copies of one tree; each way runs
``--repeats`` times (default 5), interleaved. Two page-cache states, a table each:

- warm: every file was read just before (10 distinct files, hard-linked 200 times): the
  reference's best case, where ``torch.load`` reads its 44 MB from memory;
- cold (not with ``--quick``): 200 distinct files (8.8 GB on disk), each dropped from the page
  cache (``posix_fadvise(DONTNEED)``) before every run: a tree nobody has read lately, as when
  converting an old outputs/ folder.

The tables show medians of the wall time and of the CPU time (user + system of the process and
of the workers it waited for): on a shared machine the wall time also counts the load of other
programs, the CPU time much less so.

    python bench/bench_convert.py [--quick] [--repeats N] [--no-cold]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE_WAY = r"""
import sys, time, torch, yaml
from pathlib import Path
LEGACY = {"weights_only": False}  # what the reference passed (full unpickling)
started = time.perf_counter()
for path in sorted(Path(sys.argv[1]).rglob("*.ckpt")):
    ckpt = torch.load(path, map_location="cpu", **LEGACY)  # the reference's slow path
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


def write_tree(root: Path, count: int, *, distinct: bool = False) -> None:
    """``count`` Lightning-format checkpoints (ResNet-18-sized) in Hydra-style run folders:
    :data:`DISTINCT` files hard-linked, or with ``distinct`` each file its own copy."""
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
            copy = shutil.copyfile if distinct else os.link
            copy(originals[index % DISTINCT], target)
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
    """Read every checkpoint once, so both ways start from a warm page cache."""
    for path in root.rglob("*.ckpt"):
        path.read_bytes()


def evict(root: Path) -> None:
    """Drop every checkpoint from the page cache, so both ways read them from the disk."""
    os.sync()  # written pages are only dropped once they are clean
    for path in root.rglob("*.ckpt"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


Run = tuple[float, float, int, int]
"""One run: (wall seconds, CPU seconds, exit code, files written)."""


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """``command`` in a fresh process: (wall seconds, CPU seconds, exit code). The CPU time is
    user + system of the process and of every process it waited for (forked workers too)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, env=env, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, result.returncode


def run_ours(tree: Path, cache: Path) -> Run:
    """``ckpt-tui convert`` (this checkout's, through ``python -m``) in a fresh process."""
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "ckpt_tui", "convert", str(tree), "--json", "--no-cache"]
    seconds, cpu, code = timed(command, env)
    return seconds, cpu, code, sum(1 for _ in tree.rglob("*.metadata.yaml"))


def run_reference(tree: Path) -> Run:
    """The reference's way in a fresh process."""
    seconds, cpu, code = timed([sys.executable, "-c", REFERENCE_WAY, str(tree)])
    return seconds, cpu, code, sum(1 for _ in tree.rglob("*.ref.yaml"))


def fresh_copy(source: Path, target: Path, *, cold: bool = False) -> Path:
    """A hard-linked copy of ``source`` (no sidecars yet), read once to warm the page cache
    (``cold``: dropped from it instead).

    The disk is then settled with ``os.sync``: otherwise the copy's own writes are still being
    written back while the way runs, and whichever way waits on the disk first (ours: an fsync
    per sidecar) pays for them. Copies are only removed after the last run: on ext4 without a
    journal (as on the machines this was measured on) every file created skips the inodes freed
    in the last hours, one by one, so each removal would slow the next run's writes.
    """
    shutil.copytree(source, target, copy_function=os.link)
    if cold:
        evict(target)
    else:
        warm(target)
    os.sync()
    return target


Ways = dict[str, list[Run]]


def measure(work: Path, count: int, repeats: int, *, cold: bool) -> tuple[Ways, float]:
    """Both ways ``repeats`` times on one tree (interleaved, so load from other processes hits
    both); the runs of each and the mean checkpoint size."""
    state = "cold" if cold else "warm"
    source = work / f"tree-{state}"
    write_tree(source, count, distinct=cold)
    size = sum(p.stat().st_size for p in source.rglob("*.ckpt")) / count
    ours: list[Run] = []
    reference: list[Run] = []
    for run in range(repeats):
        copy = fresh_copy(source, work / f"{state}-ours-{run}", cold=cold)
        ours.append(run_ours(copy, work / "cache"))
        reference.append(run_reference(fresh_copy(source, work / f"{state}-ref-{run}", cold=cold)))
    return {OURS: ours, REFERENCE: reference}, size


OURS = "ckpt-tui convert --json --no-cache"
REFERENCE = "torch.load (weights_only off) + YAML write"


def report(ways: Ways, count: int, size: float, repeats: int, *, cold: bool) -> bool:
    """Print one page-cache state's table and ratios; whether ckpt-tui wrote every sidecar."""
    state = (
        "cold page cache (every file dropped from it before each run)"
        if cold
        else "warm page cache"
    )
    print(
        f"\n### {count} Lightning-format checkpoints, {size / 1e6:.1f} MB each, {state}\n\n"
        f"Median of {repeats} fresh-process runs of each way (min–max in brackets); CPU: user + "
        "system of the process and its workers\n"
    )
    print("| way (fresh process, end to end) | wall | per file | CPU | files written | exit |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, runs in ways.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        low, high = min(r[0] for r in runs), max(r[0] for r in runs)
        written = sorted({r[3] for r in runs})
        codes = sorted({r[2] for r in runs})
        print(
            f"| {label} | {wall:.2f} s ({low:.2f}–{high:.2f}) | {1000 * wall / count:.1f} ms "
            f"| {cpu:.2f} s | {'/'.join(map(str, written))} | {'/'.join(map(str, codes))} |"
        )
    ratios = []
    for index, what in ((0, "wall"), (1, "CPU")):
        mine = statistics.median(r[index] for r in ways[OURS])
        theirs = statistics.median(r[index] for r in ways[REFERENCE])
        ratios.append(theirs / mine if mine else float("inf"))
        print(f"\nratio of {what} medians: {ratios[-1]:.1f}× faster", end="")
    complete = all(r[2] == 0 and r[3] == count for r in ways[OURS])
    verdict = "met" if ratios[0] >= 10 and complete else "MISSED"
    print(f"\n\ntarget: ≥ 10× on the wall time ({'cold' if cold else 'warm'}): {verdict}")
    if not complete:
        print("ckpt-tui did not write every sidecar or exited non-zero: see the table")
    return complete


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 checkpoints, warm cache only")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each way (median)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold page-cache table")
    args = parser.parse_args()
    count = 50 if args.quick else 200
    repeats = max(1, args.repeats)
    states = [False] if args.quick or args.no_cold else [False, True]
    complete = True
    for cold in states:
        # Each state in its own folder, removed before the next: the cold tree is 8.8 GB.
        work = Path(tempfile.mkdtemp(prefix="ckpt-tui-bench-convert-"))
        try:
            ways, size = measure(work, count, repeats, cold=cold)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        complete = report(ways, count, size, repeats, cold=cold) and complete
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
