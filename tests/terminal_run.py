"""Running the real ``ckpt-tui`` binary on a pseudo-terminal of a given size, for tests."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time


def run_on_terminal(
    *args: str, columns: int, rows: int = 50, term: str = "xterm-256color", timeout: float = 60
) -> tuple[int, bytes]:
    """``python -m ckpt_tui *args`` with a ``columns`` × ``rows`` terminal as stdin, stdout and
    stderr: its exit code and everything it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = term
    proc = subprocess.Popen(
        [sys.executable, "-m", "ckpt_tui", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    proc.wait(timeout=timeout)
    os.close(master)
    return proc.returncode, output
