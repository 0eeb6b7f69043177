"""Benchmark the safe checkpoint reader against torch.load.

Run: ``.venv/bin/python bench/bench_reader.py [--quick]``

Writes a ~290 MB Lightning-format checkpoint (ResNet-50 encoder state dict + Adam state, by
``torch.save``) into a temporary folder, then compares, each in fresh processes:

* this reader (``inspect_checkpoint``);
* ``torch.load(weights_only=False)``;
* ``torch.load(mmap=True, weights_only=True)`` (the file's hyper-parameters are plain dicts so it
  can load it at all; a note says whether it refuses OmegaConf hyper-parameters).

For each: median load time inside the process, whole-process wall time (interpreter, imports,
load), peak RSS (VmHWM) and bytes read (``rchar`` of /proc/self/io). Then the in-process time per
checkpoint (warm: the median of 50 calls on one file, and the first call in a fresh process), and a
20-checkpoint catalog end to end: ``ckpt-tui list --json --no-cache`` (the whole CLI: start-up,
scan, reader, JSON) against one Python process that torch.loads the same 20 files, which is the
"≥ 8×" target; one process calling inspect_checkpoint on the 20 files is shown too. Each catalog
variant runs as many times as the methods above, and its median counts: one run of a 0.4 s
process on a shared VM is not a measurement. Everything written is deleted at the end.

ckpt_tui is byte-compiled first (``compileall``, into its ``__pycache__`` folders, which git
ignores), so that every measured process imports it from bytecode, as it does once pip has
installed it, and as it imports torch: a shell with PYTHONDONTWRITEBYTECODE=1 would otherwise
make each fresh process compile ckpt_tui's sources again (about 40 ms of the CLI's start-up).
"""

from __future__ import annotations

import compileall
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common import parse_quick, scratch_folder

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# The child measures its own load: time, rchar delta, peak RSS. {load} is the code that loads PATHS.
_CHILD = """
import json, sys, time
def rchar():
    with open('/proc/self/io') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('rchar'))
def hwm_kb():
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('VmHWM'))
PATHS = sys.argv[1:]
{imports}
r0 = rchar(); t0 = time.perf_counter()
for path in PATHS:
    {load}
t1 = time.perf_counter(); r1 = rchar()
print(json.dumps({{"seconds": t1 - t0, "rchar": r1 - r0, "hwm_kb": hwm_kb()}}))
"""

METHODS = {
    "safe reader (inspect_checkpoint)": (
        "from pathlib import Path\nfrom ckpt_tui.reader import inspect_checkpoint",
        "assert not inspect_checkpoint(Path(path)).has_errors",
    ),
    "torch.load(weights_only=False)": (
        "import torch",
        "torch.load(path, map_location='cpu', weights_only=False)",
    ),
    "torch.load(mmap=True, weights_only=True)": (
        "import torch",
        "torch.load(path, map_location='cpu', mmap=True, weights_only=True)",
    ),
}

# In-process: the first call in a fresh process (imports done), then the same file again and
# again (warm).
_REPEAT = """
import json, sys, time
PATH = sys.argv[1]; N = int(sys.argv[2])
{imports}
{load_fn}
t0 = time.perf_counter(); load(PATH); first = time.perf_counter() - t0
times = []
for _ in range(N):
    t0 = time.perf_counter(); load(PATH); times.append(time.perf_counter() - t0)
print(json.dumps({{"first": first, "times": times}}))
"""


@dataclass
class Measurement:
    """One fresh-process run."""

    load_s: float
    wall_s: float
    rchar: int
    hwm_kb: int


def child(imports: str, load: str, paths: list[Path]) -> Measurement:
    """Run ``load`` over ``paths`` in a fresh interpreter and collect its own figures."""
    code = _CHILD.format(imports=imports, load=load)
    started = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "-c", code, *map(str, paths)], capture_output=True, text=True, cwd=ROOT
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Measurement(data["seconds"], wall, data["rchar"], data["hwm_kb"])


def command(argv: list[str]) -> Measurement:
    """A whole command (e.g. ``ckpt-tui list``): its wall time and peak RSS, from the OS.

    A small wrapper process runs it, so that the peak RSS is the command's own (RUSAGE_CHILDREN
    of this process would include the torch.load runs); the wall time is the command's, timed
    around it in the wrapper, like ``child``'s around its interpreter.
    """
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "t0 = time.perf_counter(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
        "check=True)\n"
        "t1 = time.perf_counter()\n"
        "print(json.dumps({'seconds': t1 - t0, "
        "'hwm_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    done = subprocess.run([PYTHON, "-c", wrapper, *argv], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    data = json.loads(done.stdout)
    return Measurement(data["seconds"], data["seconds"], 0, data["hwm_kb"])


def repeat(imports: str, load_fn: str, path: Path, count: int) -> tuple[float, list[float]]:
    """The first call's time in a fresh process, then ``count`` warm calls' times."""
    code = _REPEAT.format(imports=imports, load_fn=load_fn)
    done = subprocess.run(
        [PYTHON, "-c", code, str(path), str(count)], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    data = json.loads(done.stdout)
    return float(data["first"]), list(data["times"])


# -- the checkpoint -------------------------------------------------------------------------------

_WRITER = """
import sys, torch
from torch import nn

def bottleneck(inp, planes, stride, down):
    m = nn.Module()
    m.conv1 = nn.Conv2d(inp, planes, 1, bias=False); m.bn1 = nn.BatchNorm2d(planes)
    m.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False); m.bn2 = nn.BatchNorm2d(planes)
    m.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False); m.bn3 = nn.BatchNorm2d(planes * 4)
    if down:
        m.downsample = nn.Sequential(nn.Conv2d(inp, planes * 4, 1, stride, bias=False),
                                     nn.BatchNorm2d(planes * 4))
    return m

def resnet50():
    m = nn.Module()
    m.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False); m.bn1 = nn.BatchNorm2d(64)
    inp = 64
    for i, (n, planes) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
        blocks = []
        for j in range(n):
            stride = 2 if j == 0 and i > 0 else 1
            blocks.append(bottleneck(inp, planes, stride, j == 0))
            inp = planes * 4
        setattr(m, f"layer{i + 1}", nn.Sequential(*blocks))
    m.fc = nn.Linear(2048, 1000)
    return m

def checkpoint(seed, omegaconf=False):
    torch.manual_seed(seed)
    with torch.no_grad():
        model = resnet50()
    weights = {f"model.encoder.model.{k}": v for k, v in model.state_dict().items()}
    params = [p for p in model.parameters()]
    state = {i: {"step": torch.tensor(float(100 + seed)), "exp_avg": torch.randn_like(p),
                 "exp_avg_sq": torch.rand_like(p)} for i, p in enumerate(params)}
    groups = [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-4,
               "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
               "differentiable": False, "fused": None, "decoupled_weight_decay": False,
               "params": list(range(len(params)))}]
    path = "/runs/dbnet/checkpoints"
    hparams = {"model": {"architecture": "dbnet", "encoder": {"model_name": "resnet50"},
                         "decoder": {"name": "pan_decoder"}, "head": {"name": "db_head"}},
               "lr": 1e-3, "max_epochs": 30}
    if omegaconf:
        from omegaconf import OmegaConf
        hparams = {"cfg": OmegaConf.create(hparams)}
    key = ("ModelCheckpoint{'monitor': 'val/hmean', 'mode': 'max', 'every_n_train_steps': 0, "
           "'every_n_epochs': 1, 'train_time_interval': None}")
    mine = f"{path}/epoch={seed}-step={(seed + 1) * 250}.ckpt"
    return {
        "epoch": seed, "global_step": (seed + 1) * 250, "pytorch-lightning_version": "2.6.6",
        "state_dict": weights,
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"current": {"ready": seed}}}},
        "callbacks": {key: {"monitor": "val/hmean", "best_model_score": torch.tensor(0.84),
                            "best_model_path": mine, "current_score": torch.tensor(0.84),
                            "dirpath": path, "best_k_models": {mine: torch.tensor(0.84)},
                            "kth_best_model_path": mine, "kth_value": torch.tensor(0.84),
                            "last_model_path": f"{path}/last.ckpt"}},
        "optimizer_states": [{"state": state, "param_groups": groups}],
        "lr_schedulers": [], "hparams_name": "kwargs", "hyper_parameters": hparams,
    }

out = sys.argv[1]
count = int(sys.argv[2])
for i in range(count):
    torch.save(checkpoint(i), f"{out}/epoch={i}.ckpt")
torch.save(checkpoint(0, omegaconf=True), f"{out}/omegaconf.ckpt")
small = {"epoch": 0, "global_step": 1, "state_dict": {"w": torch.ones(1000)}}
torch.save(small, f"{out}/small.ckpt")
"""


def write_checkpoints(folder: Path, distinct: int) -> None:
    done = subprocess.run([PYTHON, "-c", _WRITER, str(folder), str(distinct)], cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit("could not write the benchmark checkpoints")


def weights_only_refuses_omegaconf(path: Path) -> str:
    code = (
        "import sys, torch\n"
        "try:\n    torch.load(sys.argv[1], weights_only=True)\nexcept Exception as e:\n"
        "    print('refused:', str(e).splitlines()[0][:120])\nelse:\n    print('loaded')\n"
    )
    done = subprocess.run([PYTHON, "-c", code, str(path)], capture_output=True, text=True)
    text = done.stdout.strip() or done.stderr.strip()[-200:]
    return re.sub(r"\x1b\[[0-9;]*m", "", text).split(". ")[0]  # drop terminal colours


CLI = "ckpt-tui list --json --no-cache"
TORCH_X20 = "one process, torch.load(weights_only=False) x20"


def catalog_variants(folder: Path, files: list[Path], runs: int) -> dict[str, Measurement]:
    """The 20-checkpoint catalog, one entry per way of building it (end to end, fresh process):
    the median wall time of ``runs`` runs (interleaved, so that a slow spell of the machine
    falls on every variant alike) and the largest peak RSS."""
    reader_imports, reader_load = METHODS["safe reader (inspect_checkpoint)"]
    torch_imports, torch_load = METHODS["torch.load(weights_only=False)"]
    cli = [PYTHON, "-m", "ckpt_tui", "list", str(folder), "--json", "--no-cache"]
    variants = {
        CLI: lambda: command(cli),
        "one process, inspect_checkpoint x20": lambda: child(reader_imports, reader_load, files),
        TORCH_X20: lambda: child(torch_imports, torch_load, files),
    }
    rows: dict[str, list[Measurement]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, run in variants.items():
            rows[name].append(run())
    return {
        name: Measurement(
            statistics.median(m.load_s for m in measured),
            statistics.median(m.wall_s for m in measured),
            int(statistics.median(m.rchar for m in measured)),
            max(m.hwm_kb for m in measured),
        )
        for name, measured in rows.items()
    }


def mb(value: float) -> str:
    return f"{value / 1e6:,.1f}"


def main() -> int:
    runs, quick = parse_quick(__doc__, runs=(3, 5), quick_help="fewer runs (about a minute)")
    with scratch_folder("ckpt-bench-") as folder:
        return _run(folder, runs, quick)


READER = "safe reader (inspect_checkpoint)"


def _run(folder: Path, runs: int, quick: bool) -> int:
    compileall.compile_dir(ROOT / "ckpt_tui", quiet=1)
    distinct = 1 if quick else 20
    write_checkpoints(folder, distinct)
    big = folder / "epoch=0.ckpt"
    catalog = folder / "catalog"
    catalog.mkdir()
    files = []
    for i in range(20):
        target = catalog / f"epoch={i}.ckpt"
        # --quick: 20 hard links to one file (same bytes; all cached after the first read).
        os.link(folder / f"epoch={i if i < distinct else 0}.ckpt", target)
        files.append(target)
    size = big.stat().st_size
    print(f"checkpoint: {mb(size)} MB, ResNet-50 encoder + Adam state, Lightning keys, zip format")
    print(f"{runs} fresh processes per method, warm page cache, {os.cpu_count()} CPUs\n")

    results: dict[str, list[Measurement]] = {name: [] for name in METHODS}
    for _ in range(runs):
        for name, (imports, load) in METHODS.items():
            results[name].append(child(imports, load, [big]))
    small = child(*METHODS[READER], [folder / "small.ckpt"])

    print("| method (fresh process) | load, median | load, min | process wall | peak RSS | read |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, rows in results.items():
        median_load = statistics.median(r.load_s for r in rows)
        fastest = min(r.load_s for r in rows)
        wall = statistics.median(r.wall_s for r in rows)
        rss = max(r.hwm_kb for r in rows) * 1024
        read = statistics.median(r.rchar for r in rows)
        print(
            f"| {name} | {median_load * 1000:,.1f} ms | {fastest * 1000:,.1f} ms | {wall:.2f} s "
            f"| {mb(rss)} MB | {mb(read)} MB |"
        )
    reader_rss = max(r.hwm_kb for r in results[READER]) * 1024
    small_rss = small.hwm_kb * 1024
    print(
        f"\nsafe reader peak RSS: {mb(small_rss)} MB on a "
        f"{(folder / 'small.ckpt').stat().st_size / 1e3:.0f} kB checkpoint, "
        f"{mb(reader_rss)} MB on the {mb(size)} MB one"
    )
    refusal = weights_only_refuses_omegaconf(folder / "omegaconf.ckpt")
    print(f"torch.load(weights_only=True), same checkpoint with OmegaConf hparams: {refusal}")

    reader_imports = "from pathlib import Path\nfrom ckpt_tui.reader import inspect_checkpoint"
    reader_load = "load = lambda p: inspect_checkpoint(Path(p))"
    reader_first, reader_times = repeat(reader_imports, reader_load, big, 50)
    torch_load = "load = lambda p: torch.load(p, map_location='cpu', weights_only=False)"
    torch_first, torch_times = repeat("import torch", torch_load, big, runs)
    in_reader = statistics.median(reader_times)
    in_torch = statistics.median(torch_times)
    print("\n| in-process (one process, same file again) | first call | warm median | warm min |")
    print("|---|---:|---:|---:|")
    print(
        f"| inspect_checkpoint | {reader_first * 1000:.2f} ms | {in_reader * 1000:.2f} ms "
        f"| {min(reader_times) * 1000:.2f} ms |"
    )
    print(
        f"| torch.load(weights_only=False) | {torch_first * 1000:.0f} ms "
        f"| {in_torch * 1000:.0f} ms | {min(torch_times) * 1000:.0f} ms |"
    )

    kind = "20 hard links to one file" if quick else "20 distinct files"
    print(
        f"\n| catalog of 20 checkpoints ({kind}), end to end | wall (median of {runs}) | peak RSS |"
    )
    print("|---|---:|---:|")
    variants = catalog_variants(catalog, files, runs)
    for name, m in variants.items():
        print(f"| {name} | {m.wall_s:.2f} s | {mb(m.hwm_kb * 1024)} MB |")

    reader_read = statistics.median(r.rchar for r in results[READER])
    ratio = in_torch / in_reader
    catalog_ratio = variants[TORCH_X20].wall_s / variants[CLI].wall_s
    ms = in_reader * 1000
    targets = [
        ("≤ 10 ms per checkpoint in-process (median)", f"{ms:.2f} ms", ms <= 10),
        ("≥ 10× faster in-process than torch.load", f"{ratio:,.0f}×", ratio >= 10),
        ("≤ 1 MB read per checkpoint", f"{mb(reader_read)} MB", reader_read <= 1e6),
        (f"20-checkpoint catalog ≥ 8× faster ({CLI})", f"{catalog_ratio:.1f}×", catalog_ratio >= 8),
        (
            "peak RSS not growing with file size",
            f"{mb(small_rss)} → {mb(reader_rss)} MB",
            reader_rss < small_rss * 1.2,
        ),
    ]
    print("\n| target | measured | met |")
    print("|---|---:|:-:|")
    for goal, measured, met in targets:
        print(f"| {goal} | {measured} | {'yes' if met else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
