"""Scale benchmark (``make bench``): a tree of 50,000 checkpoints through ``list --json`` and the
headless app. Prints a markdown table of wall time and peak RSS.

The tree: one real ``torch.save`` checkpoint hard-linked 50,000 times (real files, no disk cost),
each with its own sidecar, 100 per run folder, plus one folder of checkpoints without sidecars
(read by the safe reader). Measured, each in a fresh process:

- ``ckpt-tui list ROOT --json --no-cache``: cold, nothing cached;
- ``ckpt-tui list ROOT --json``: twice, the second one warm (persistent cache filled);
- the app (``make_app(root)`` + ``run_test``) until its first scan is complete and every row is in
  the table: cold cache and warm cache.

Peak RSS is each child's own ``ru_maxrss`` (from ``os.wait4``). ``--quick``
uses 5,000 checkpoints; ``--count N`` any size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PER_FOLDER = 100
WITHOUT_SIDECAR = 200
"""Checkpoints that only the safe reader can describe (no sidecar, no config)."""

SIDECAR = """\
schema_version: '1.0'
checkpoint_path: {path}
exp_name: {exp}
created_at: '2025-10-{day:02d}T12:00:00+00:00'
training:
  epoch: {epoch}
  global_step: {step}
  training_phase: training
  max_epochs: 100
model:
  architecture: {arch}
  encoder:
    model_name: resnet18
    pretrained: true
    frozen: false
  decoder:
    in_channels: []
    params: {{}}
  head:
    params: {{}}
  loss:
    params: {{}}
metrics:
  precision: 0.8
  recall: 0.7
  hmean: {hmean}
  additional_metrics: {{}}
checkpointing:
  monitor: val/hmean
  mode: max
  save_top_k: 3
"""

APP_CHILD = r"""
import asyncio, json, sys, time
started = time.perf_counter()
from ckpt_tui.tui.app import make_app
from ckpt_tui.tui.widgets.catalog_table import CatalogTable
root, expected = sys.argv[1], int(sys.argv[2])

async def main():
    app = make_app(root, poll_interval=None, cursor_blink=False)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen_stack[0]
        table = screen.query_one(CatalogTable)
        deadline = time.perf_counter() + 1800
        while screen.scans_completed < 1 or len(table.rows) < expected:
            if time.perf_counter() > deadline:
                raise SystemExit(f"not loaded: {len(table.rows)} rows")
            await pilot.pause(0.05)
        rows = len(table.rows)
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows,
                      "torch": "torch" in sys.modules}))

asyncio.run(main())
"""


def sample_checkpoint(path: Path) -> None:
    """One small Lightning-style checkpoint written by the real ``torch.save``."""
    import torch

    torch.save(
        {
            "epoch": 0,
            "global_step": 0,
            "pytorch-lightning_version": "2.4.0",
            "state_dict": {"model.encoder.conv1.weight": torch.zeros(8, 3, 3, 3)},
        },
        path,
    )


def write_tree(root: Path, count: int, sample: Path) -> int:
    """``count`` sidecar-backed checkpoints (hard links of ``sample``) plus the reader-only
    folder; returns the number of checkpoints written."""
    archs = ("dbnet", "dbnetpp", "craft", "pan")
    for i in range(count):
        folder = root / f"exp_{i // PER_FOLDER:04d}" / "checkpoints"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        epoch = i % PER_FOLDER
        name = f"epoch={epoch}-step={epoch * 37}"
        ckpt = folder / f"{name}.ckpt"
        os.link(sample, ckpt)
        (folder / f"{name}.metadata.yaml").write_text(
            SIDECAR.format(
                path=f"{folder.parent.name}/checkpoints/{name}.ckpt",
                exp=folder.parent.name,
                day=1 + i % 28,
                epoch=epoch,
                step=epoch * 37,
                arch=archs[i % 4],
                hmean=(i * 7919 % 1000) / 1000,
            )
        )
    plain = root / "no_sidecar" / "checkpoints"
    plain.mkdir(parents=True)
    extra = min(WITHOUT_SIDECAR, count)
    for i in range(extra):
        os.link(sample, plain / f"epoch={i}-step={i}.ckpt")
    return count + extra


def run_child(command: list[str], env: dict[str, str], workdir: Path) -> tuple[float, float, str]:
    """Wall seconds, the child's own peak RSS in MB (``wait4``), and its stdout."""
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{err_path.read_text()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, out_path.read_text()


def measure(count: int, base: Path) -> list[tuple[str, float, float, str]]:
    root = base / "outputs"
    cache = base / "cache"
    cache.mkdir()
    sample = base / "sample.ckpt"
    subprocess.run([sys.executable, __file__, "--write-sample", str(sample)], check=True)
    started = time.perf_counter()
    total = write_tree(root, count, sample)
    print(f"_tree of {total:,} checkpoints written in {time.perf_counter() - started:.1f} s_")
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(cache)}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    cli = [sys.executable, "-m", "ckpt_tui", "list", str(root), "--json"]
    rows: list[tuple[str, float, float, str]] = []

    def listed(out: str) -> str:
        return f"{len(json.loads(out)):,} entries"

    seconds, rss, out = run_child([*cli, "--no-cache"], env, base)
    rows.append(("`list --json --no-cache`", seconds, rss, listed(out)))
    seconds, rss, out = run_child(cli, env, base)
    rows.append(("`list --json`, filling the cache", seconds, rss, listed(out)))
    seconds, rss, out = run_child(cli, env, base)
    rows.append(("`list --json`, warm cache", seconds, rss, listed(out)))
    for path in cache.glob("*"):
        path.unlink()
    for label in ("app, cold cache", "app, warm cache"):
        command = [sys.executable, "-c", APP_CHILD, str(root), str(total)]
        seconds, rss, out = run_child(command, env, base)
        data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        note = f"{data['rows']:,} rows; torch imported: {data['torch']}"
        rows.append((label, seconds, rss, note))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 checkpoints instead of 50,000")
    parser.add_argument("--count", type=int, help="checkpoints with sidecars (default 50,000)")
    parser.add_argument("--write-sample", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_sample:  # in its own process, so torch never sits in the measuring one
        sample_checkpoint(Path(args.write_sample))
        return 0
    count = args.count or (5_000 if args.quick else 50_000)
    base = Path(tempfile.mkdtemp(prefix="ckpt-tui-scale-"))
    try:
        rows = measure(count, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"\nOne run each; {count:,} sidecar-backed checkpoints + {WITHOUT_SIDECAR} read by the")
    print("safe reader. Time is wall time from process start; RSS is the process's peak.\n")
    print("| run | time | peak RSS | result |")
    print("|---|---|---|---|")
    for label, seconds, rss, note in rows:
        print(f"| {label} | {seconds:.1f} s | {rss:.0f} MB | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
