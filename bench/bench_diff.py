"""Benchmark comparing checkpoints: ``ckpt-tui diff`` against ``torch.load`` of both files.

Run: ``.venv/bin/python bench/bench_diff.py [--quick]``

Writes two ~290 MB Lightning-format checkpoints (ResNet-50 encoder state dict + Adam state, by
``torch.save``, the same writer as ``bench_reader.py``) into a temporary folder once, then
measures, each in fresh processes, interleaved, medians:

* end to end: ``ckpt-tui diff A B --json --no-cache`` (interpreter, imports, catalog, safe reader,
  comparison, JSON) against one process that imports torch and ``torch.load``\\ s both files with
  ``weights_only=True`` — the "≥ 10×" target;
* in-process, imports done: reading and comparing both files (``read_snapshot`` ×2 +
  ``compare``) against ``torch.load(weights_only=True)`` of both;
* the TUI's compare screen: ``d`` pressed → the comparison on screen, for 2 and 10 marked rows
  (a tree of 10 checkpoints: hard links to the two files), under Pilot.

Everything written is deleted at the end. ``--quick``: fewer runs.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_reader import write_checkpoints
from common import parse_quick, scratch_folder

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

_TORCH_BOTH = """
import sys, time
t0 = time.perf_counter()
import torch
for path in sys.argv[1:]:
    torch.load(path, map_location="cpu", weights_only=True)
"""

_IN_PROCESS = """
import json, sys, time
from pathlib import Path
a, b, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
import torch
from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.compare import compare, read_snapshot
entries = {e.abs_path: e for e in build_catalog(Path(a).parent, use_cache=False).entries}
sides = [entries[a], entries[b]]
diff, load = [], []
for _ in range(runs):
    t0 = time.perf_counter()
    comparison = compare([read_snapshot(entry) for entry in sides])
    diff.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for path in (a, b):
        torch.load(path, map_location="cpu", weights_only=True)
    load.append(time.perf_counter() - t0)
print(json.dumps({"diff": diff, "load": load, "rows": len(comparison.rows)}))
"""

_SCREEN = r"""
import asyncio, json, sys, time
root, count, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from ckpt_tui.tui.app import make_app
from ckpt_tui.tui.screens.compare import CompareScreen
from ckpt_tui.tui.widgets.catalog_table import CatalogTable

# Pilot's press() also waits for the app to go idle; the figure is the moment the screen has
# filled its table (the next frame shows it), taken where the screen does it.
filled = []
show = CompareScreen._show
def timed_show(self, comparison):
    show(self, comparison)
    filled.append(time.perf_counter())
CompareScreen._show = timed_show

async def main():
    app = make_app(root, use_cache=False, poll_interval=None, cursor_blink=False)
    times = []
    async with app.run_test(size=(120, 35)) as pilot:
        screen = app.screen_stack[0]
        while screen.scans_completed < 1 or screen.is_verifying:
            await pilot.pause(0.05)
        table = screen.query_one(CatalogTable)
        for index in range(count):
            table.move_to(index)
            await pilot.press("space")
        for run in range(runs + 1):
            filled.clear()
            started = time.perf_counter()
            await pilot.press("d")
            while not filled:
                await pilot.pause(0.001)
            if run:  # the first opening also imports the comparison's modules
                times.append(filled[0] - started)
            await pilot.press("escape")
            await pilot.pause()
    print(json.dumps(times))

asyncio.run(main())
"""


def timed(argv: list[str]) -> float:
    """Wall time of one fresh process running ``argv`` (its output discarded)."""
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
    return time.perf_counter() - started


def output(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def main() -> int:
    runs, _quick = parse_quick(__doc__, runs=(3, 7), quick_help="fewer runs")
    with scratch_folder("ckpt-bench-diff-") as folder:
        return _run(folder, runs)


def _run(folder: Path, runs: int) -> int:
    compileall.compile_dir(ROOT / "ckpt_tui", quiet=1)
    written = folder / "written"
    written.mkdir()
    write_checkpoints(written, 2)
    checkpoints = folder / "outputs" / "run" / "checkpoints"
    checkpoints.mkdir(parents=True)
    a, b = checkpoints / "epoch=0.ckpt", checkpoints / "epoch=1.ckpt"
    os.link(written / "epoch=0.ckpt", a)
    os.link(written / "epoch=1.ckpt", b)
    size = a.stat().st_size
    print(f"checkpoints: 2 × {size / 1e6:,.1f} MB (ResNet-50 encoder + Adam state, zip format)")
    print(f"{runs} fresh processes per variant, interleaved, warm page cache\n")

    cli = [PYTHON, "-m", "ckpt_tui", "diff", str(a), str(b), "--json", "--no-cache"]
    torch_both = [PYTHON, "-c", _TORCH_BOTH, str(a), str(b)]
    walls: dict[str, list[float]] = {"cli": [], "torch": []}
    for _ in range(runs):
        walls["cli"].append(timed(cli))
        walls["torch"].append(timed(torch_both))
    cli_wall = statistics.median(walls["cli"])
    torch_wall = statistics.median(walls["torch"])
    data = json.loads(output(cli))
    print("| end to end (fresh process) | wall, median | wall, min |")
    print("|---|---:|---:|")
    print(f"| ckpt-tui diff A B --json --no-cache | {ms(cli_wall)} | {ms(min(walls['cli']))} |")
    print(
        f"| import torch; torch.load(weights_only=True) of A and B | {ms(torch_wall)} "
        f"| {ms(min(walls['torch']))} |"
    )
    differing = sum(data["differences"].values())
    print(f"\n(the diff: {differing} differing rows, equal={data['equal']})")

    inner = json.loads(output([PYTHON, "-c", _IN_PROCESS, str(a), str(b), str(runs)]))
    diff_in = statistics.median(inner["diff"])
    load_in = statistics.median(inner["load"])
    print("\n| in-process, imports done | median | min |")
    print("|---|---:|---:|")
    print(f"| read_snapshot ×2 + compare | {ms(diff_in)} | {ms(min(inner['diff']))} |")
    print(f"| torch.load(weights_only=True) ×2 | {ms(load_in)} | {ms(min(inner['load']))} |")

    tree = folder / "tree"
    for index in range(10):
        run = tree / f"run{index // 5}" / "checkpoints"
        run.mkdir(parents=True, exist_ok=True)
        os.link(a if index % 2 == 0 else b, run / f"epoch={index}.ckpt")
    print("\n| compare screen, d → its table filled (Pilot, 120×35; warm) | median | max |")
    print("|---|---:|---:|")
    screen: dict[int, float] = {}
    for count in (2, 10):
        times = json.loads(output([PYTHON, "-c", _SCREEN, str(tree), str(count), str(runs)]))
        screen[count] = statistics.median(times)
        print(f"| {count} marked rows | {ms(screen[count])} | {ms(max(times))} |")

    end_to_end = torch_wall / cli_wall
    in_process = load_in / diff_in
    targets = [
        ("diff ≥ 10× faster than torch.load of both, end to end", f"{end_to_end:.1f}×"),
        ("diff ≥ 10× faster than torch.load of both, in-process", f"{in_process:,.0f}×"),
    ]
    print("\n| target | measured | met |")
    print("|---|---:|:-:|")
    for (goal, measured), ratio in zip(targets, (end_to_end, in_process), strict=True):
        print(f"| {goal} | {measured} | {'yes' if ratio >= 10 else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
