"""Bench: converting 200 legacy Lightning checkpoints, ckpt-tui vs the reference's way.

The reference converted each checkpoint with ``torch.load`` (``weights_only`` off: its legacy
path) and then wrote a YAML file. ckpt-tui reads only the zip directory and ``data.pkl``. Both run
end to end in fresh processes, on fresh hard-linked copies of one tree; each way runs
``--repeats`` times (default 5), interleaved.

The checkpoints are written by ``Trainer.fit`` of a ResNet-18-sized module (11.2M parameters,
Adam, an OmegaConf config as hyper-parameters), one per epoch, in two kinds (:data:`KINDS`):
Lightning's default checkpoint (weights, Adam's two moments, loop state: 132 MB) and
``save_weights_only=True`` (44 MB: the reference's best case, the least for ``torch.load`` to
read). A table each, in two page-cache states:

- warm: every file was read just before (10 distinct files, hard-linked 200 times): where
  ``torch.load`` reads from memory;
- cold (weights only, not with ``--quick``): 200 distinct files (8.8 GB on disk), each dropped
  from the page cache (``posix_fadvise(DONTNEED)``) before every run: a tree nobody has read
  lately, as when converting an old outputs/ folder.

The target is on ``convert --no-cache``: every checkpoint read. The warm tables also show
``convert`` right after ``ckpt-tui list`` described the tree (the listing not timed), as after
browsing it: the catalog cache then answers and no checkpoint is read again.

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
"""Checkpoints Lightning writes (one per epoch); the tree holds them again and again, as hard
links (warm: disk stays small, and torch.load still reads every byte of each path it opens) or
as copies (cold: each its own pages)."""

KINDS = {
    "full": "Lightning's default checkpoint: weights, Adam state, loops",
    "weights": "ModelCheckpoint(save_weights_only=True): weights and counters",
}
"""The checkpoints measured: what ``Trainer.fit`` writes by default, and with
``save_weights_only`` (the reference's best case: the least for ``torch.load`` to read)."""

LIGHTNING_RUN = r"""
import sys, warnings
import lightning as L, torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import OmegaConf
from torch import nn

def block(cin, cout, stride):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))

class Encoder(nn.Module):  # ResNet-18-sized: 11.2M parameters
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, previous = [], 64
        for index, width in enumerate([64, 128, 256, 512]):
            stride = 1 if index == 0 else 2
            stages.append(nn.Sequential(block(previous, width, stride), block(width, width, 1)))
            previous = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages

    def forward(self, x):
        x = self.bn1(self.conv1(x))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return x.mean()

class Detector(L.LightningModule):
    def __init__(self, cfg):
        super().__init__()
        self.save_hyperparameters(cfg)
        self.encoder = Encoder()

    def training_step(self, batch, index):
        return self.encoder(batch[0]) ** 2

    def validation_step(self, batch, index):
        self.log("val/hmean", 0.5 + self.current_epoch / 100)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)

folder, epochs, weights_only = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
torch.manual_seed(0)
cfg = OmegaConf.create({"model": {"architecture": "dbnet", "encoder": {"model_name": "resnet18"}},
                        "trainer": {"max_epochs": epochs}})
images = torch.utils.data.TensorDataset(torch.randn(1, 3, 32, 32))
data = torch.utils.data.DataLoader(images, batch_size=1)
keep = ModelCheckpoint(dirpath=folder, monitor="val/hmean", mode="max", save_top_k=-1,
                       filename="{epoch}-{step}", save_weights_only=weights_only)
trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", callbacks=[keep], logger=False,
                    enable_progress_bar=False, enable_model_summary=False,
                    num_sanity_val_steps=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    trainer.fit(Detector(cfg), data, data)
"""


def lightning_checkpoints(folder: Path, kind: str) -> list[Path]:
    """:data:`DISTINCT` checkpoints written by ``Trainer.fit`` (one per epoch) of a ResNet-18-sized
    module with Adam and an OmegaConf config as its hyper-parameters, into ``folder``."""
    weights_only = "1" if kind == "weights" else "0"
    subprocess.run(
        [sys.executable, "-c", LIGHTNING_RUN, str(folder), str(DISTINCT), weights_only],
        capture_output=True,
        check=True,
    )
    written = sorted(folder.glob("*.ckpt"))
    if len(written) != DISTINCT:
        raise RuntimeError(f"Lightning wrote {len(written)} checkpoints, not {DISTINCT}")
    return written


def write_tree(root: Path, count: int, originals: list[Path], *, distinct: bool = False) -> None:
    """``count`` checkpoints in Lightning-style run folders (``run_NN/checkpoints/``), each run
    holding ``originals`` under their own names: hard links, or with ``distinct`` copies."""
    copy = shutil.copyfile if distinct else os.link
    for index in range(count):
        original = originals[index % len(originals)]
        folder = root / f"run_{index // len(originals):02d}" / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        copy(original, folder / original.name)


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


TARGET_COUNT = 200
"""The conversion the ≥ 10× target is set for."""

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


def run_ours_after_list(tree: Path, cache: Path) -> Run:
    """``ckpt-tui convert`` after ``ckpt-tui list`` described the tree (not timed): as after
    browsing it, the catalog cache answers for every checkpoint and none is read again."""
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(cache)}
    listing = [sys.executable, "-m", "ckpt_tui", "list", str(tree), "--json"]
    subprocess.run(listing, capture_output=True, env=env, check=True)
    command = [sys.executable, "-m", "ckpt_tui", "convert", str(tree), "--json"]
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


def measure(
    work: Path, originals: list[Path], count: int, repeats: int, *, cold: bool
) -> tuple[Ways, float]:
    """Both ways ``repeats`` times on one tree of ``count`` checkpoints (interleaved, so load
    from other processes hits both); the runs of each and the mean checkpoint size."""
    state = "cold" if cold else "warm"
    source = work / f"tree-{state}"
    write_tree(source, count, originals, distinct=cold)
    size = sum(p.stat().st_size for p in source.rglob("*.ckpt")) / count
    ways: Ways = {OURS: [], REFERENCE: []}
    if not cold:  # a listing would have read the checkpoints' directories into the page cache
        ways[OURS_AFTER_LIST] = []
    for run in range(repeats):
        copy = fresh_copy(source, work / f"{state}-ours-{run}", cold=cold)
        ways[OURS].append(run_ours(copy, work / "cache"))
        copy = fresh_copy(source, work / f"{state}-ref-{run}", cold=cold)
        ways[REFERENCE].append(run_reference(copy))
        if OURS_AFTER_LIST in ways:
            copy = fresh_copy(source, work / f"{state}-listed-{run}", cold=cold)
            ways[OURS_AFTER_LIST].append(run_ours_after_list(copy, work / "cache"))
    return ways, size


OURS = "ckpt-tui convert --json --no-cache"
REFERENCE = "torch.load (weights_only off) + YAML write"
OURS_AFTER_LIST = "ckpt-tui convert --json, after ckpt-tui list (catalog cache warm)"


def report(ways: Ways, count: int, size: float, repeats: int, *, kind: str, cold: bool) -> bool:
    """Print one table (a kind of checkpoint, a page-cache state) and its ratios; whether
    ckpt-tui wrote every sidecar."""
    state = (
        "cold page cache (every file dropped from it before each run)"
        if cold
        else "warm page cache"
    )
    print(
        f"\n### {count} Lightning checkpoints ({KINDS[kind]}), {size / 1e6:.1f} MB each, "
        f"{state}\n\n"
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
    if OURS_AFTER_LIST in ways:
        listed = statistics.median(r[0] for r in ways[OURS_AFTER_LIST])
        theirs = statistics.median(r[0] for r in ways[REFERENCE])
        print(f"\nafter a listing, ratio of wall medians: {theirs / listed:.1f}× faster", end="")
    complete = all(
        r[2] == 0 and r[3] == count for way in (OURS, OURS_AFTER_LIST) for r in ways.get(way, [])
    )
    if count == TARGET_COUNT:
        verdict = "met" if ratios[0] >= 10 and complete else "MISSED"
        print(f"\n\ntarget: ≥ 10× on the wall time: {verdict}")
    else:  # ckpt-tui's fixed costs (start-up, the schema) weigh more on fewer files
        print(f"\n\n(the target, ≥ 10× on the wall time, is for {TARGET_COUNT} checkpoints)")
    if not complete:
        print("ckpt-tui did not write every sidecar or exited non-zero: see the table")
    return complete


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 checkpoints, warm cache only")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each way (median)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold page-cache table")
    args = parser.parse_args()
    count = 50 if args.quick else TARGET_COUNT
    repeats = max(1, args.repeats)
    tables = [("full", False), ("weights", False)]
    if not (args.quick or args.no_cold):
        tables.append(("weights", True))  # full checkpoints, copied 200 times, would be 26 GB
    complete = True
    with tempfile.TemporaryDirectory(prefix="ckpt-tui-bench-lightning-") as runs:
        originals = {kind: lightning_checkpoints(Path(runs) / kind, kind) for kind in KINDS}
        for kind, cold in tables:
            # Each table in its own folder, removed before the next: the cold tree is 8.8 GB.
            work = Path(tempfile.mkdtemp(prefix="ckpt-tui-bench-convert-"))
            try:
                ways, size = measure(work, originals[kind], count, repeats, cold=cold)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            complete = report(ways, count, size, repeats, kind=kind, cold=cold) and complete
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
