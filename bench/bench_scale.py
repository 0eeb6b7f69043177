"""Scale benchmark (``make bench``): trees of 10,000 and 100,000 checkpoints through ``list
--json`` and the headless app, and how their cost grows. Prints a markdown table.

The tree: one real ``torch.save`` checkpoint hard-linked for every checkpoint (real files, no disk
cost; a fresh copy every 50,000 links: ext4 allows 65,000 to one file), each with its
own sidecar, 100 per run folder, plus one folder of checkpoints without sidecars (read by the safe
reader). A tree is written once and kept under ``--fixtures`` (default
``/tmp/ckpt-tui-bench``): writing 100,000 sidecars takes about a minute. Measured, each in a
fresh process:

- ``ckpt-tui list ROOT --json``: filling the persistent cache, then warm (median of the runs);
- the app (``make_app(root)`` + ``run_test``, 120×36) on a warm cache: first rows painted, the
  full table (the first scan complete and every row in the table), key → repaint for ``s`` (to
  the hmean column) and for enter in the filter box, and its peak RSS (``VmHWM``).

The last column is the ratio of the largest size to the smallest: for a cost that grows
linearly, the ratio of the sizes (10×). ``--quick``: 5,000 checkpoints only, one run;
``--count N``: one size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import PEAK_RSS, child_env, repaint_probe

PER_FOLDER = 100
LINKS_PER_FILE = 50_000
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

APP_CHILD = (
    r"""
import asyncio, json, sys, time
spawned = float(sys.argv[1]); root = sys.argv[2]; expected = int(sys.argv[3])
"""
    + repaint_probe(timeout=1800.0, poll=0.005, watch_cursor=False)
    + PEAK_RSS
    + r"""
marks = {}

async def main():
    app = make_app(root, poll_interval=None)
    prepare_process()  # as run_app does
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen_stack[0]
        table = screen.query_one(CatalogTable)
        await until(lambda: screen.scans_completed >= 1 and len(table.rows) >= expected,
                    what="the full table")
        marks["full_table"] = time.time() - spawned
        marks["rows"] = len(table.rows)
        screen.cancel_scans()  # the background verification is bench_tui's subject
        await pilot.pause(0.2)
        for n in range(8):  # path → experiment → file → … → hmean: a numeric sort with nulls
            await key_to_repaint(app, f"sort{n}", "s")
        marks["sort"] = max(marks.pop(f"sort{n}") for n in range(8))
        box = screen.query_one("FilterBox")
        box.focus()
        box.value = "arch:dbnet hmean>0.5 -last"
        await pilot.pause(0.5)  # the debounced apply; then measure enter
        box.focus()
        await key_to_repaint(app, "filter", "enter")
    marks["rss_mb"] = peak_rss_mb()
    marks["torch"] = "torch" in sys.modules
    print(json.dumps(marks))

asyncio.run(main())
"""
)


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
    source = sample
    for i in range(count):
        if i and i % LINKS_PER_FILE == 0:  # a file system caps the links to one file (ext4: 65,000)
            source = sample.with_name(f"{sample.stem}-{i // LINKS_PER_FILE}{sample.suffix}")
            shutil.copyfile(sample, source)
        folder = root / f"exp_{i // PER_FOLDER:04d}" / "checkpoints"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        epoch = i % PER_FOLDER
        name = f"epoch={epoch}-step={epoch * 37}"
        ckpt = folder / f"{name}.ckpt"
        os.link(source, ckpt)
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


#: ``ckpt-tui ARGS`` in a child that reports its own peak RSS (``VmHWM``) on stderr's last line:
#: ``ru_maxrss`` would count the pages the child shared with this process before its exec.
LIST_CHILD = (
    r"""
import sys
from ckpt_tui.cli import main
"""
    + PEAK_RSS
    + r"""
code = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.write(f"\nVmHWM-MB {peak_rss_mb()}\n")
sys.exit(code)
"""
)


def run_child(command: list[str], env: dict[str, str], workdir: Path) -> tuple[float, float, str]:
    """Wall seconds, the child's own peak RSS in MB (its ``VmHWM`` line on stderr when it
    prints one, else ``wait4``'s), and its stdout."""
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{err_path.read_text()[-3000:]}")
    rss = usage.ru_maxrss / 1024
    last = err_path.read_text().strip().splitlines()[-1:] or [""]
    if last[0].startswith("VmHWM-MB "):
        rss = float(last[0].split()[1])
    return seconds, rss, out_path.read_text()


def fixture(count: int, fixtures: Path) -> tuple[Path, int]:
    """The tree of ``count`` checkpoints under ``fixtures`` (written once, then reused) and its
    number of checkpoints."""
    base = fixtures / f"scale-{count}"
    done = base / "complete"
    if done.exists():
        return base / "outputs", int(done.read_text())
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    sample = base / "sample.ckpt"
    subprocess.run([sys.executable, __file__, "--write-sample", str(sample)], check=True)
    started = time.perf_counter()
    total = write_tree(base / "outputs", count, sample)
    print(f"_tree of {total:,} checkpoints written in {time.perf_counter() - started:.1f} s_")
    done.write_text(str(total))
    return base / "outputs", total


def measure(count: int, fixtures: Path, repeats: int) -> dict[str, Any]:
    """Every figure of one size: medians of ``repeats`` runs (RSS: the largest)."""
    root, total = fixture(count, fixtures)
    cache = root.parent / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    env = child_env(cache, keep_terminal_size=False)
    cli = [sys.executable, "-c", LIST_CHILD, "list", str(root), "--json"]
    result: dict[str, Any] = {"total": total}
    seconds, _rss, out = run_child(cli, env, root.parent)
    result["list_fill"], result["entries"] = seconds, len(json.loads(out))
    del out  # kept, the output would be counted in every later child's pre-exec pages
    lists = [run_child(cli, env, root.parent)[:2] for _ in range(repeats)]
    result["list_warm"] = statistics.median(run[0] for run in lists)
    result["list_rss"] = max(run[1] for run in lists)
    apps = []
    for _ in range(repeats):
        command = [sys.executable, "-c", APP_CHILD, repr(time.time()), str(root), str(total)]
        _seconds, _rss, out = run_child(command, env, root.parent)
        apps.append(json.loads(out.strip().splitlines()[-1]))
    for key in ("first_rows", "full_table", "sort", "filter"):
        result[key] = statistics.median(float(run[key]) for run in apps)
    result["rss_mb"] = max(float(run["rss_mb"]) for run in apps)
    result["torch"] = any(run["torch"] for run in apps)
    return result


def print_table(results: dict[int, dict[str, Any]], repeats: int) -> None:
    sizes = list(results)
    print(f"\nMedians of {repeats} run(s) (peak RSS: the largest); warm persistent cache.")
    print("Times from process start unless noted; ratio: largest size / smallest.\n")
    head = " | ".join(f"{results[size]['total']:,}" for size in sizes)
    print(f"| measure | {head} | ratio | target |")
    print("|---|" + "---|" * len(sizes) + "---|---|")

    def row(label: str, key: str, unit: str, target: str, scale: float = 1.0) -> None:
        values = [results[size][key] * scale for size in sizes]
        shown = [
            f"{value:.2f} {unit}" if unit == "s" else f"{value:.0f} {unit}" for value in values
        ]
        ratio = f"{values[-1] / values[0]:.1f}×" if len(values) > 1 and values[0] else ""
        print(f"| {label} | {' | '.join(shown)} | {ratio} | {target} |")

    row("`list --json`, filling the cache", "list_fill", "s", "")
    row("`list --json`, warm cache", "list_warm", "s", "≤ 12× per 10× entries")
    row("`list --json` peak RSS", "list_rss", "MB", "")
    row("app: first rows painted", "first_rows", "s", "≤ 0.5 s")
    row("app: full table", "full_table", "s", "≤ 12× per 10× entries")
    row("app: key → repaint, `s` (sort)", "sort", "ms", "≤ 1 s at 100,000", 1000)
    row("app: key → repaint, enter (filter)", "filter", "ms", "≤ 1 s at 100,000", 1000)
    row("app: peak RSS", "rss_mb", "MB", "≤ 300 MB at 100,000")
    torch = " | ".join(str(results[size]["torch"]) for size in sizes)
    print(f"| app: torch imported | {torch} | | False |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 checkpoints, one run")
    parser.add_argument("--count", type=int, help="one size instead of 10,000 and 100,000")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measure (default 3)")
    parser.add_argument(
        "--fixtures",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ckpt-tui-bench",
        help="where the trees are kept between runs",
    )
    parser.add_argument("--write-sample", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_sample:  # in its own process, so torch never sits in the measuring one
        sample_checkpoint(Path(args.write_sample))
        return 0
    sizes = [args.count] if args.count else [5_000] if args.quick else [10_000, 100_000]
    repeats = 1 if args.quick else args.repeats
    results = {size: measure(size, args.fixtures, repeats) for size in sizes}
    print_table(results, repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
