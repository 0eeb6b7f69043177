"""Hand-written replacements of libraries, each measured against the library it replaces.

    .venv/bin/python bench/bench_handwritten.py [--quick] [--repeat 7]

The project's rule: a hand-written replacement of a library stays only if it is at least 1.5x
faster on a figure a user sees, has a differential test against the library, and falls back to
the library on any exception. This prints, for each piece, the user-visible figure with the piece
and with the library doing the same work (fresh processes, runs interleaved, medians):

- the YAML subset reader (``ckpt_tui.io.yaml_subset``) against libyaml's ``CSafeLoader``: a
  cold catalog build of sidecar-backed checkpoints (a first start on a tree, ``list --no-cache``);
- the reader's tensor-record fast path (``ckpt_tui.reader.unpickle.fastpath``) against the plain
  opcode loop: ``inspect_checkpoint`` of a ResNet-50 + Adam checkpoint (every checkpoint the
  catalog reads without a sidecar, ``show``, ``convert``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_catalog import make_tree

_BUILD = r"""
import json, sys, time
library, root = sys.argv[1] == "library", sys.argv[2]
if library:
    from ckpt_tui.io import yaml_subset
    yaml_subset.parse_simple_yaml = lambda text, duplicates=None: yaml_subset.FALLBACK
from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.cache import code_version
code_version()
start = time.perf_counter()
catalog = build_catalog(root, use_cache=False)
seconds = time.perf_counter() - start
assert len(catalog.entries) > 0 and all(e.source == "sidecar" for e in catalog.entries)
print(json.dumps({"seconds": seconds}))
"""

_READ = r"""
import json, statistics, sys, time
library, path = sys.argv[1] == "library", sys.argv[2]
from ckpt_tui.reader.unpickle import machine
machine.FAST_PATH = not library
from ckpt_tui.reader import inspect_checkpoint
inspect_checkpoint(path)
times = []
for _ in range(15):
    start = time.perf_counter()
    result = inspect_checkpoint(path)
    times.append(time.perf_counter() - start)
assert not result.has_errors
print(json.dumps({"seconds": statistics.median(times)}))
"""


def _checkpoint(path: Path) -> None:
    """A Lightning-shaped checkpoint with ResNet-50's tensor count and its Adam state, small."""
    import torch

    torch.manual_seed(0)
    state = {f"model.encoder.layer{i // 16}.{i}.weight": torch.zeros(4, 4) for i in range(320)}
    optimizer_state = {
        i: {
            "step": torch.tensor(3.0),
            "exp_avg": torch.zeros(4, 4),
            "exp_avg_sq": torch.zeros(4, 4),
        }
        for i in range(320)
    }
    torch.save(
        {
            "epoch": 3,
            "global_step": 300,
            "pytorch-lightning_version": "2.5.0",
            "state_dict": state,
            "optimizer_states": [{"state": optimizer_state, "param_groups": [{"lr": 1e-3}]}],
        },
        path,
    )


def _run(script: str, way: str, *args: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", script, way, *args], capture_output=True, text=True, check=True
    )
    seconds: float = json.loads(out.stdout)["seconds"]
    return seconds


def _compare(script: str, repeat: int, *args: str) -> tuple[float, float]:
    ours: list[float] = []
    library: list[float] = []
    for _ in range(repeat):  # interleaved: a drift of the machine hits both ways alike
        ours.append(_run(script, "ours", *args))
        library.append(_run(script, "library", *args))
    return statistics.median(ours), statistics.median(library)


def _fmt(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 sidecars, 3 runs each")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    count = 1_000 if args.quick else 10_000
    repeat = 3 if args.quick else args.repeat
    rows = []
    with tempfile.TemporaryDirectory(prefix="ckpt-tui-bench-") as tmp:
        tree = Path(tmp) / "tree"
        make_tree(tree, count)
        checkpoint = Path(tmp) / "adam.ckpt"
        _checkpoint(checkpoint)
        rows.append(
            (
                "YAML subset reader",
                f"cold catalog build, {count:,} sidecars",
                "CSafeLoader",
                *_compare(_BUILD, repeat, str(tree)),
            )
        )
        rows.append(
            (
                "reader tensor fast path",
                "inspect_checkpoint, ResNet-50-sized + Adam (960 tensors)",
                "opcode loop",
                *_compare(_READ, repeat, str(checkpoint)),
            )
        )
    print(f"Medians of {repeat} fresh-process runs per way, interleaved.\n")
    print("| piece | figure | with it | library | with library | ratio | rule (≥ 1.5×) |")
    print("|---|---|---:|---|---:|---:|:-:|")
    for piece, figure, library, ours, theirs in rows:
        ratio = theirs / ours
        verdict = "met" if ratio >= 1.5 else "NOT met"
        print(
            f"| {piece} | {figure} | {_fmt(ours)} | {library} | {_fmt(theirs)} | "
            f"{ratio:.2f}× | {verdict} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
