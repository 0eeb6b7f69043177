"""End to end in a real terminal: tmux runs ``ckpt-tui outputs`` on the demo tree at 100×30
(and at 80×24: the footer keeps ``? Help`` and ``q Quit``, the File column tells rows apart).

``send-keys`` types like a user; ``capture-pane`` reads what the terminal shows after each step.
The copy is checked through tmux itself: with ``set-clipboard on`` an application's OSC 52
request becomes a tmux paste buffer, so ``show-buffer`` proves the escape sequence was sent.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")

WIDTH, HEIGHT = 100, 30


class Terminal:
    """One tmux server (private socket) running one command in a 100×30 window."""

    def __init__(self, workdir: Path) -> None:
        self.socket = f"ckpt-tui-test-{uuid.uuid4().hex[:8]}"
        self.workdir = workdir
        self.conf = workdir / "tmux.conf"
        self.conf.write_text("set -g set-clipboard on\nset -g history-limit 100\n")
        self.size = (WIDTH, HEIGHT)
        """The window's columns and lines (set before ``start``)."""

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        result = subprocess.run(
            [TMUX, "-L", self.socket, "-f", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return result.stdout

    def start(self, command: str) -> None:
        width, height = self.size
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), command)

    def screen(self, *, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t", *(["-e"] if escapes else []))

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def wait_for(self, condition: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        """Poll the screen until ``condition(screen)``; fail with the screen after ``timeout``."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")

    def close(self) -> None:
        subprocess.run([TMUX or "tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    yield term
    term.close()


def ckpt_tui_command() -> list[str]:
    script = Path(sys.executable).parent / "ckpt-tui"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ckpt_tui"]


def launch(terminal: Terminal, demo_tree: Path, tmp_path: Path, *env: str) -> Path:
    """Start ``ckpt-tui outputs`` from the demo tree's parent; returns the exit-code file."""
    exit_file = tmp_path / "exit-code"
    # COLUMNS/LINES (set by the test run) would override the real terminal size.
    environment = [
        "-u COLUMNS -u LINES",
        f"CKPT_TUI_CACHE_DIR={shlex.quote(os.environ['CKPT_TUI_CACHE_DIR'])}",
        *env,
    ]
    program = " ".join(shlex.quote(part) for part in ckpt_tui_command())
    terminal.start(
        f"cd {shlex.quote(str(demo_tree.parent))} && env {' '.join(environment)} "
        f"{program} outputs; echo $? > {shlex.quote(str(exit_file))}"
    )
    terminal.wait_for(loaded, "the catalog to load")
    return exit_file


def loaded(screen: str) -> bool:
    """The whole catalog is on screen: counts in the header and status, no progress bar."""
    lines = screen.rstrip("\n").splitlines()
    status = lines[-2] if len(lines) >= 2 else ""
    return "58 checkpoints" in screen and "58/58 shown" in status and "%" not in status


def chromatic_colours(screen: str) -> set[str]:
    """The SGR colours on ``screen`` that are not shades of grey."""
    found: set[str] = set()
    for params in re.findall(r"\x1b\[([0-9;]*)m", screen):
        codes = [int(c) for c in params.split(";") if c]
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                index = codes[i + 2]
                if not (index in (0, 7, 8, 15, 16, 231) or index >= 232):
                    found.add(f"{code};5;{index}")
                i += 3
            elif code in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
                r, g, b = codes[i + 2 : i + 5]
                if not (r == g == b):
                    found.add(f"{code};2;{r};{g};{b}")
                i += 5
            else:
                if 31 <= code <= 36 or 41 <= code <= 46 or 91 <= code <= 96 or 101 <= code <= 106:
                    found.add(str(code))
                i += 1
    return found


def wait_exit(exit_file: Path) -> int:
    deadline = time.monotonic() + 20
    while not exit_file.exists() or not exit_file.read_text().strip():
        assert time.monotonic() < deadline, "ckpt-tui did not exit"
        time.sleep(0.1)
    return int(exit_file.read_text())


def test_filter_sort_copy_and_quit_in_tmux(
    terminal: Terminal, demo_tree_template: Path, tmp_path: Path
) -> None:
    exit_file = launch(terminal, demo_tree_template, tmp_path)
    screen = terminal.screen()
    assert "ckpt-tui — outputs · 58 checkpoints" in screen
    assert "Experiment" in screen and "hmean" in screen
    assert chromatic_colours(terminal.screen(escapes=True))  # in colour, unlike with NO_COLOR

    terminal.keys("/")
    terminal.wait_for(lambda s: "esc Clear filter" in s, "the filter box's focus")
    terminal.keys("arch:dbnet", literal=True)
    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "filter arch:dbnet" in s, "the filter to apply")
    shown = int(re.search(r"(\d+)/58 shown", screen).group(1))  # type: ignore[union-attr]
    assert 0 < shown < 58
    table = screen.split("▔ filter")[0]
    assert "craft_" not in table and "pan_r34" not in table  # other architectures are gone
    assert "dbnet" in table

    terminal.keys("s")
    screen = terminal.wait_for(lambda s: "sort experiment ↑" in s, "the sort by experiment")
    assert "Experiment↑" in screen
    terminal.keys("S")
    screen = terminal.wait_for(lambda s: "sort experiment ↓" in s, "the reversed sort")
    assert "Experiment↓" in screen
    first_row = screen.splitlines()[2]
    assert "dbnetpp" in first_row  # reversed: dbnetpp_… names come before dbnet_…

    terminal.keys("y")
    terminal.wait_for(lambda s: "copied" in s, "the copy notification")
    copied = terminal.tmux("show-buffer")  # tmux turned the OSC 52 request into a buffer
    assert copied.startswith(str(demo_tree_template.resolve())) and copied.endswith(".ckpt")

    terminal.keys("q")
    assert wait_exit(exit_file) == 0


def test_no_color_and_80x24_without_a_mouse(
    terminal: Terminal, demo_tree_template: Path, tmp_path: Path
) -> None:
    exit_file = launch(terminal, demo_tree_template, tmp_path, "NO_COLOR=1")
    terminal.tmux("resize-window", "-t", "t", "-x", "80", "-y", "24")
    terminal.wait_for(lambda s: "Details" in s, "the narrow layout (detail pane below)")
    # Textual honours NO_COLOR by rendering in monochrome: every colour left is a grey.
    colours = chromatic_colours(terminal.screen(escapes=True))
    assert not colours, f"colours despite NO_COLOR: {sorted(colours)[:5]}"
    terminal.keys("?")
    terminal.wait_for(lambda s: "ctrl+r" in s and "rescan" in s, "the help screen")
    terminal.keys("Escape")
    terminal.wait_for(lambda s: "58/58 shown" in s and "ctrl+r" not in s, "help to close")
    terminal.keys("j", "j", "Enter")  # keyboard only: move, then into the detail pane
    terminal.wait_for(lambda s: "esc Back to table" in s, "the detail pane's focus")
    terminal.keys("Escape")  # alone: ESC followed at once by q would read as alt+q
    terminal.wait_for(lambda s: "esc Back to table" not in s, "the focus back on the table")
    terminal.keys("q")
    assert wait_exit(exit_file) == 0


def test_80x24_keeps_help_quit_and_file_names(
    terminal: Terminal, demo_tree_template: Path, tmp_path: Path
) -> None:
    terminal.size = (80, 24)
    exit_file = launch(terminal, demo_tree_template, tmp_path)
    lines = terminal.screen().rstrip("\n").splitlines()
    footer = lines[-1]
    assert "? Help" in footer and "q Quit" in footer, footer
    assert footer.rstrip().endswith("^p palette"), footer  # nothing stray after it
    assert lines[1].split()[:2] == ["Experiment", "File"]
    assert "last.ckpt" in "\n".join(lines[2:12])  # the rows of one run told apart
    assert all(len(line) <= 80 for line in lines)
    terminal.keys("q")
    assert wait_exit(exit_file) == 0
