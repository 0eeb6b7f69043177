"""Helpers shared by the hardening tests: bounded subprocesses, hostile names, tree digests."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

MEMORY_LIMIT = 1536 * 1024 * 1024
"""Address-space limit of every risky subprocess (1.5 GiB)."""
HANG_LIMIT_S = 60.0
"""A subprocess that takes longer than this is a hang (the real runs take about a second)."""

# Hostile parts of file and folder names, by kind. NUL and "/" cannot be in a name.
HOSTILE_NAMES: dict[str, str] = {
    "newline": "new\nline",
    "carriage_return": "cr\rreturn",
    "osc52_clipboard": "osc\x1b]52;c;aGk=\x07",
    "ansi_colour": "ansi\x1b[31mred\x1b[0m",
    "clear_screen": "cls\x1b[2J\x1b[H",
    "bell": "bell\x07",
    "backspace_del": "bs\x08\x7f",
    "tab_vt_ff": "tab\t\x0b\x0c",
    "c1_csi": "c1\x9b31m",
    "bidi_override": "bidi\u202egnp.ckpt",
}
INVALID_UTF8 = b"inv\xff\xfealid"
"""A name part that is not UTF-8 (made with bytes paths)."""

# Raw bytes that must never come out of the CLI for a name: ESC, BEL, CR, backspace; and C1
# CSI/OSC (UTF-8 encoded), which JSON output still leaves raw (see test_hardening_names).
RAW_CONTROLS = (b"\x1b", b"\x07", b"\r", b"\x08")
RAW_C1 = (b"\xc2\x9b", b"\xc2\x9d")


def limit_memory() -> None:
    """``preexec_fn``: cap the address space; SIGXFSZ stays ignored if the parent ignored it."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: no terminal size hints, no colour forcing."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env.update(extra)
    return env


def run_cli(
    *args: str | os.PathLike[str],
    timeout: float = HANG_LIMIT_S,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] = limit_memory,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m ckpt_tui ARGS`` in a subprocess with bounded memory and time."""
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *(os.fspath(arg) for arg in args)],
        capture_output=True,
        timeout=timeout,
        env=env or cli_env(),
        preexec_fn=preexec,
        check=False,
    )


def list_json(root: Path, *extra: str) -> tuple[list[dict[str, Any]], str]:
    """``ckpt-tui list ROOT --json --no-cache``: the entries and stderr; fails on a bad exit."""
    done = run_cli("list", root, "--json", "--no-cache", *extra)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return json.loads(done.stdout), done.stderr.decode("utf-8", "backslashreplace")


def by_path(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Entries by ``checkpoint_path``."""
    return {entry["checkpoint_path"]: entry for entry in entries}


def issue_codes(entry: dict[str, Any]) -> list[str]:
    """The codes of a JSON entry's issues."""
    return [issue["code"] for issue in entry["issues"]]


def assert_no_raw_controls(output: bytes, what: str, *, c1: bool = True) -> None:
    """No ESC, BEL, CR or backspace in ``output`` (a name's sequence never gets out); with
    ``c1`` no C1 CSI/OSC either."""
    for raw in RAW_CONTROLS + (RAW_C1 if c1 else ()):
        assert raw not in output, f"{what}: raw {raw!r} in the output: {output[:3000]!r}"


def tree_digest(root: Path) -> dict[bytes, str]:
    """sha256 of every regular file under ``root`` (bytes paths: names may not be UTF-8)."""
    digests: dict[bytes, str] = {}
    base = os.fsencode(root)
    for folder, _dirs, files in os.walk(base):
        for name in files:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    digests[path[len(base) :]] = hashlib.sha256(handle.read()).hexdigest()
    return digests


def ignore_sigxfsz() -> None:
    """``preexec_fn`` part: past RLIMIT_FSIZE a write then fails with EFBIG instead of killing."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def bounded_python(
    code: str, *args: str, timeout: float = HANG_LIMIT_S, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter limited to 1.5 GiB and ``timeout`` seconds."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        preexec_fn=limit_memory,
        check=False,
    )
