"""A finished subcommand ends its process at once (no interpreter teardown), with every byte of
its output flushed and its own exit code; a process with work still running exits as usual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_output_is_flushed_and_the_code_kept() -> None:
    done = run_python(
        "import sys\n"
        "from ckpt_tui.cli import end_now\n"
        "sys.stdout.write('x' * 100_000)\n"  # more than one buffer, none flushed yet
        "sys.stderr.write('to stderr')\n"
        "end_now(3)\n"
        "print('never printed')\n"
    )
    assert done.returncode == 3
    assert done.stdout == "x" * 100_000
    assert done.stderr == "to stderr"


def test_a_running_thread_keeps_the_normal_exit() -> None:
    done = run_python(
        "import threading, time\n"
        "from ckpt_tui.cli import end_now\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        "    print('thread finished', flush=True)\n"
        "threading.Thread(target=late).start()\n"
        "end_now(3)\n"
        "print('main goes on')\n"
    )
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["main goes on", "thread finished"]


@pytest.mark.parametrize("command", ["list", "validate"])
def test_a_subcommand_through_the_entry_point(tmp_path: Path, command: str) -> None:
    (tmp_path / "broken.metadata.yaml").write_text("a: [unclosed\n")
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", command, str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip().endswith(("}", "]"))  # the whole JSON, flushed
    assert done.returncode == (1 if command == "validate" else 0), done.stderr


def test_a_profiler_gets_its_results(tmp_path: Path) -> None:
    stats = tmp_path / "convert.prof"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(stats),
            "-m",
            "ckpt_tui",
            "list",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert stats.stat().st_size > 0  # written after the command returned


def test_the_program_collects_garbage_less_often() -> None:
    done = run_python(
        "import gc, sys\n"
        "from ckpt_tui.io.process import COLLECTOR_THRESHOLDS\n"
        "sys.setprofile(lambda *a: None)\n"  # attached, so the command returns (no early exit)
        "sys.argv = ['ckpt-tui', 'list', '/no/such/folder']\n"
        "from ckpt_tui.cli import run\n"
        "code = run()\n"
        "sys.setprofile(None)\n"
        "print(code, gc.get_threshold() == COLLECTOR_THRESHOLDS, COLLECTOR_THRESHOLDS > (700,))\n"
    )
    assert done.stdout.split() == ["2", "True", "True"], done.stderr
