"""What several benchmark scripts share: the ``--quick`` flag, a scratch folder, the environment of
a measured child process, and the source of the code such a child runs to time key → repaint and
read its own peak RSS.

The scripts run as ``python bench/bench_x.py``, so this folder is on ``sys.path`` and they import
it as ``common``. The measured children run ``python -c SOURCE``: they get source text from here,
not an import, so nothing but what they measure is loaded into them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def parse_quick(doc: str, *, runs: tuple[int, int], quick_help: str) -> tuple[int, bool]:
    """Parse a script's only option, ``--quick``: its number of runs (``runs``: quick, full)
    and whether ``--quick`` was given. ``doc``'s first line describes the script."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    quick = bool(parser.parse_args().quick)
    return runs[0] if quick else runs[1], quick


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A fresh temporary folder, removed afterwards even when the benchmark fails midway."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        # A benchmark's result must not depend on whether its scratch files could be removed.
        shutil.rmtree(folder, ignore_errors=True)


def child_env(cache: Path, *, keep_terminal_size: bool = True) -> dict[str, str]:
    """This process's environment with ``cache`` as the catalog cache; without
    ``keep_terminal_size``, ``COLUMNS`` and ``LINES`` are dropped (a headless app sized by
    ``run_test`` must not take them from the terminal the benchmark runs in)."""
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(cache)}
    if not keep_terminal_size:
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
    return env


def run_json_child(source: str, *args: str, env: dict[str, str]) -> dict[str, Any]:
    """Run ``python -c source *args`` in ``env`` and return the JSON object it prints (its whole
    stdout); a failed child raises ``CalledProcessError``."""
    done = subprocess.run(
        [sys.executable, "-c", source, *args], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


#: Child source defining ``peak_rss_mb()``: the process's own peak RSS in MB, from ``VmHWM``
#: (``ru_maxrss`` would count the pages it shared with its parent before its exec).
PEAK_RSS = r"""
def peak_rss_mb():
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:"))
    return int(hwm.split()[1]) / 1024
"""

_REPAINT_PROBE = r"""
from ckpt_tui.tui.app import make_app, prepare_process
from ckpt_tui.tui.widgets.catalog_table import CatalogTable

waiting = {}
original = CatalogTable.render_line

def render_line(self, y):
    now = time.time()
    if self.rows and "first_rows" not in marks:
        marks["first_rows"] = now - spawned
    for name, (started, changed) in list(waiting.items()):
        if changed(self):  # the render that shows the key's effect
            marks[name] = now - started
            del waiting[name]
    return original(self, y)

CatalogTable.render_line = render_line

async def until(condition, timeout=__TIMEOUT__, what=""):
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {what}; marks so far: {marks}")
        await asyncio.sleep(__POLL__)

async def key_to_repaint(app, name, key):
    table = app.screen_stack[0].query_one(CatalogTable)
    rows, cursor = table.rows, table.cursor_row
    waiting[name] = (time.time(), lambda t: __CHANGED__)
    app.simulate_key(key)
    await until(lambda: name not in waiting, what=name)
"""


def repaint_probe(*, timeout: float, poll: float, watch_cursor: bool) -> str:
    """Child source that imports the app (``make_app``, ``prepare_process``, ``CatalogTable``)
    and times its table: it patches ``CatalogTable.render_line`` to record
    ``marks["first_rows"]`` (seconds since ``spawned``) and defines ``until(condition)`` (poll
    every ``poll`` s, give up after ``timeout`` s) and ``key_to_repaint(app, name, key)``
    (``marks[name]``: key → the first render whose rows, or with ``watch_cursor`` cursor, changed).

    The child imports ``asyncio`` and ``time`` and sets ``spawned`` before it, and defines the
    ``marks`` dict (read when a line renders) after it, so a mark taken there counts the imports.
    """
    changed = "t.rows is not rows"
    if watch_cursor:
        changed += " or t.cursor_row != cursor"
    return (
        _REPAINT_PROBE.replace("__TIMEOUT__", repr(timeout))
        .replace("__POLL__", repr(poll))
        .replace("__CHANGED__", changed)
    )
