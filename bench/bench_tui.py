"""TUI benchmark (``make bench``): start-up, full load, sort/filter latency, RSS, torch imports.

Trees of 1,000 and 10,000 sidecar-backed checkpoints (real ``torch.save`` zip files, 100 per
run folder). Each measurement runs the real app headless (``run_test``) in a fresh interpreter:

- first rows: process start → the first table rows painted (cold: empty cache; warm: cached);
- full table: process start → the last batch applied;
- background verification (sidecar rows start ``unchecked``; their files are read after the
  table has filled): full table → every row has a verdict, its cost per checkpoint, and
  key → repaint for ``j`` while it runs;
- key → repaint: a key posted to the app → the table's next render, for ``s`` (sort), enter
  in the filter box (filter) and ``j`` while a cold 10,000-entry load is still running;
- peak RSS of the app process, and whether ``torch`` was ever imported in it.

Prints a markdown table of medians against the targets. ``--quick``: one run each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import PEAK_RSS, child_env, repaint_probe

TARGETS = {"first_rows": 0.5, "sort": 0.150, "filter": 0.150, "rss_mb": 200.0}
PER_FOLDER = 100

CHILD = (
    r"""
import asyncio, json, os, resource, sys, time
spawned = float(sys.argv[1]); root = sys.argv[2]; mode = sys.argv[3]
"""
    + repaint_probe(timeout=60.0, poll=0.002, watch_cursor=True)
    + PEAK_RSS
    + r"""
marks = {"imported": time.time() - spawned}

async def main():
    app = make_app(root, poll_interval=None)
    prepare_process()  # as run_app does
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen_stack[0]
        await until(lambda: "first_rows" in marks)
        if mode == "cold":
            # Keys are answered while the load goes on.
            await key_to_repaint(app, "key_while_loading", "j")
            marks["loading_at_key"] = screen.scans_completed == 0
        await until(lambda: screen.scans_completed >= 1)
        marks["full_table"] = time.time() - spawned
        marks["rows"] = len(screen.entries)
        unchecked = sum(e.safety == "unchecked" for e in screen.entries.values())
        if screen.is_verifying:
            await key_to_repaint(app, "key_while_verifying", "j")
        await until(lambda: not screen.is_verifying, timeout=600, what="the verification")
        verified = time.time() - spawned
        marks["verified"] = verified - marks["full_table"]
        marks["verify_per_ckpt"] = marks["verified"] / max(1, unchecked)
        marks["left_unchecked"] = sum(e.safety == "unchecked" for e in screen.entries.values())
        await pilot.pause(0.2)
        for n in range(7):  # path → experiment → file → … → hmean: a numeric sort with nulls
            await key_to_repaint(app, f"sort{n}", "s")
        marks["sort"] = marks.pop("sort6")
        screen.query_one("FilterBox").focus()
        screen.query_one("FilterBox").value = "arch:dbnet hmean>0.5 -last"
        await pilot.pause(0.3)  # the debounced apply, then measure enter
        screen.query_one("FilterBox").focus()
        await key_to_repaint(app, "filter", "enter")
        marks["shown"] = len(screen.query_one(CatalogTable).rows)
    try:  # VmHWM: this process's own peak (ru_maxrss would include the parent's pre-exec pages)
        marks["rss_mb"] = peak_rss_mb()
    except (OSError, StopIteration):
        marks["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    marks["torch"] = "torch" in sys.modules
    print(json.dumps(marks))

asyncio.run(main())
"""
)


# The floor: a minimal Textual app (header, one line of text, an input, the footer) measured the
# same way, from process start to its first painted line. No app built on Textual paints sooner.
FLOOR_CHILD = r"""
import asyncio, json, sys, time
spawned = float(sys.argv[1])
from textual.app import App
from textual.widgets import Footer, Header, Input, Static
marks = {"imported": time.time() - spawned}


class Line(Static):
    def render_line(self, y):
        marks.setdefault("first_paint", time.time() - spawned)
        return super().render_line(y)

class Minimal(App):
    def compose(self):
        yield Header()
        yield Line("first row")
        yield Input()
        yield Footer()

async def main():
    async with Minimal().run_test(size=(120, 36)):
        while "first_paint" not in marks:
            await asyncio.sleep(0.002)
    print(json.dumps(marks))

asyncio.run(main())
"""


def measure_floor() -> dict[str, Any]:
    """The minimal Textual app's import and first-paint times, in a fresh interpreter."""
    spawned = time.time()
    result = subprocess.run(
        [sys.executable, "-c", FLOOR_CHILD, repr(spawned)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def write_tree(root: Path, count: int) -> None:
    """``count`` sidecar-backed checkpoints under ``root`` (one real torch file, copied)."""
    import torch

    from ckpt_tui.io.safe_yaml import dump_yaml
    from ckpt_tui.model.schema import (
        CheckpointMetadataV1,
        EncoderInfo,
        MetricsInfo,
        ModelInfo,
        TrainingInfo,
    )

    sample = root / "sample.bin"
    root.mkdir(parents=True, exist_ok=True)
    torch.save({"epoch": 0, "global_step": 0, "state_dict": {"w": torch.zeros(8, 8)}}, sample)
    data = sample.read_bytes()
    sample.unlink()
    archs = ["dbnet", "dbnetpp", "craft", "pan"]
    for i in range(count):
        folder = root / f"exp_{i // PER_FOLDER:04d}" / "checkpoints"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        epoch, step = i % PER_FOLDER, (i % PER_FOLDER) * 37
        name = f"epoch={epoch}-step={step}" if i % PER_FOLDER != PER_FOLDER - 1 else "last"
        ckpt = folder / f"{name}.ckpt"
        ckpt.write_bytes(data)
        metadata = CheckpointMetadataV1(
            checkpoint_path=str(ckpt),
            exp_name=folder.parent.name,
            created_at=f"2025-10-{1 + i % 28:02d}T12:00:00+00:00",
            training=TrainingInfo(epoch=epoch, global_step=step),
            model=ModelInfo(architecture=archs[i % 4], encoder=EncoderInfo(model_name="resnet18")),
            metrics=MetricsInfo(
                hmean=None if i % 7 == 0 else (i * 7919 % 1000) / 1000,
                precision=0.8,
                recall=0.7,
            ),
        )
        (folder / f"{name}.metadata.yaml").write_text(dump_yaml(metadata.to_yaml_dict()))


def measure(root: Path, mode: str, cache: Path) -> dict[str, Any]:
    """One run of the app in a fresh interpreter; ``cold`` empties the cache first."""
    env = child_env(cache, keep_terminal_size=False)
    if mode == "cold":
        for path in cache.glob("*"):
            path.unlink()
    spawned = time.time()
    result = subprocess.run(
        [sys.executable, "-c", CHILD, repr(spawned), str(root), mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench child failed:\n{result.stderr[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(run[key]) for run in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per measurement")
    parser.add_argument("--sizes", default="1000,10000", help="tree sizes (default 1000,10000)")
    parser.add_argument("--write-tree", nargs=2, metavar=("ROOT", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_tree:  # in its own process, so torch never sits in the measuring one
        write_tree(Path(args.write_tree[0]), int(args.write_tree[1]))
        return 0
    repeats = 1 if args.quick else 3
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory(prefix="ckpt-tui-bench-") as tmp:
        base = Path(tmp)
        for size in sizes:
            root = base / f"tree{size}"
            started = time.monotonic()
            subprocess.run(
                [sys.executable, __file__, "--write-tree", str(root), str(size)], check=True
            )
            print(f"_tree of {size:,}: written in {time.monotonic() - started:.1f} s_", flush=True)
            cache = base / f"cache{size}"
            cache.mkdir()
            runs: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
            for _ in range(repeats):
                runs["cold"].append(measure(root, "cold", cache))
                runs["warm"].append(measure(root, "warm", cache))
            results[size] = runs
    floor = [measure_floor() for _ in range(max(3, repeats))]
    print_table(results, repeats)
    print(
        f"| minimal Textual app: imports / first paint (floor, median of {len(floor)}) "
        f"| {median(floor, 'imported'):.3f} s / {median(floor, 'first_paint'):.3f} s | | |"
    )
    return 0


def print_table(results: dict[int, dict[str, list[dict[str, Any]]]], repeats: int) -> None:
    sizes = list(results)
    head = " | ".join(f"{size:,}" for size in sizes)
    print(f"\nMedians of {repeats} run(s); times from process start unless noted.\n")
    print(f"| measure | {head} | target |")
    print("|---|" + "---|" * len(sizes) + "---|")

    def row(label: str, values: list[str], target: str) -> None:
        print(f"| {label} | {' | '.join(values)} | {target} |")

    def secs(mode: str, key: str) -> list[str]:
        return [f"{median(results[s][mode], key):.3f} s" for s in sizes]

    def millis(mode: str, key: str) -> list[str]:
        return [f"{1000 * median(results[s][mode], key):.0f} ms" for s in sizes]

    row("imports done (ckpt_tui.tui.app)", secs("warm", "imported"), "")
    row("first rows painted, cold cache", secs("cold", "first_rows"), "≤ 0.5 s")
    row("first rows painted, warm cache", secs("warm", "first_rows"), "≤ 0.5 s")
    row("full table, cold cache", secs("cold", "full_table"), "")
    row("full table, warm cache", secs("warm", "full_table"), "")
    row("all rows verified, after the full table", secs("cold", "verified"), "")
    per = [f"{1000 * median(results[s]['cold'], 'verify_per_ckpt'):.2f} ms" for s in sizes]
    row("verification cost per checkpoint", per, "")
    row(
        "key → repaint: `j` during the verification",
        [_millis_of(results[s]["cold"], "key_while_verifying") for s in sizes],
        "≤ 150 ms",
    )
    left = [str(max(int(r["left_unchecked"]) for r in results[s]["cold"])) for s in sizes]
    row("rows left unchecked", left, "0")
    row("key → repaint: `s` (sort by hmean)", millis("warm", "sort"), "≤ 150 ms")
    row("key → repaint: enter (filter)", millis("warm", "filter"), "≤ 150 ms")
    row("key → repaint: `j` during a cold load", millis("cold", "key_while_loading"), "")
    row(
        "still loading when `j` was answered",
        [str(all(r["loading_at_key"] for r in results[s]["cold"])) for s in sizes],
        "",
    )
    rss = [
        f"{max(float(r['rss_mb']) for r in results[s]['cold'] + results[s]['warm']):.0f} MB"
        for s in sizes
    ]
    row("peak RSS (max of runs)", rss, "≤ 200 MB")
    torch = [str(any(r["torch"] for r in results[s]["cold"] + results[s]["warm"])) for s in sizes]
    row("torch imported", torch, "False")
    rows = [str(results[s]["warm"][0]["rows"]) for s in sizes]
    row("rows loaded", rows, "")


def _millis_of(runs: list[dict[str, Any]], key: str) -> str:
    # Absent when the verification ended before the key could be sent (a small tree).
    values = [float(run[key]) for run in runs if key in run]
    return f"{1000 * statistics.median(values):.0f} ms" if values else "—"


if __name__ == "__main__":
    sys.exit(main())
