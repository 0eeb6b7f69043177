"""Usage errors and pipes: an unknown word names the commands, a closed pipe is not an error, a
comparison without a field is a filter error."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

F_SETPIPE_SZ = 1031  # Linux: fcntl command that sets a pipe's capacity


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ckpt_tui.demo import write_demo_tree

    root = tmp_path_factory.mktemp("usage") / "outputs"
    write_demo_tree(root, seed=0)
    return root


def _ckpt_tui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *args], capture_output=True, text=True, timeout=120
    )


def test_an_unknown_word_is_a_usage_error_naming_the_commands(tmp_path: Path) -> None:
    done = _ckpt_tui("lst")
    assert done.returncode == 2
    assert "'lst'" in done.stderr
    for command in ("list", "show", "validate", "convert", "demo"):
        assert command in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("args", [["list"], ["list", "--json"]])
def test_a_reader_that_goes_away_is_not_an_error(demo: Path, args: list[str]) -> None:
    """``ckpt-tui list ROOT | head -1``: exit 0, nothing on stderr (the table and the JSON)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ckpt_tui", *args, str(demo), "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    # A small pipe, so the output cannot fit in it before the reader goes away.
    fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, 4096)
    assert proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, stderr
    assert stderr == b""


@pytest.mark.parametrize("expr", [">", ">0.8", "<=3", "=dbnet", "!=x"])
def test_a_comparison_without_a_field_is_a_filter_error(demo: Path, expr: str) -> None:
    done = _ckpt_tui("list", str(demo), "--filter", expr)
    assert done.returncode == 2
    assert "needs a field before it" in done.stderr
    assert done.stdout == ""
