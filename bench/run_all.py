"""Run every benchmark script in ``bench/`` and print their tables (``make bench``).

Each ``bench_*.py`` is a standalone script that prints a markdown table of medians and ratios
against its baseline. Extra arguments (e.g. ``--quick``) are passed to each.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ORDER = [
    "bench_catalog",
    "bench_reader",
    "bench_keys",
    "bench_folders",
    "bench_tui",
    "bench_convert",
    "bench_diff",
    "bench_prune",
    "bench_callback",
    "bench_scale",
    "bench_handwritten",
    "bench_remote",
]


def main() -> int:
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"), key=lambda p: [*ORDER, p.stem].index(p.stem))
    failures = 0
    for script in scripts:
        print(f"\n## {script.stem}\n", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script), *sys.argv[1:]])
        print(f"\n_{script.name}: {time.monotonic() - started:.1f} s, exit {code}_", flush=True)
        failures += code != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
