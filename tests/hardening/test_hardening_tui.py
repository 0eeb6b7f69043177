"""The TUI on a hostile tree: every name shows escaped, every broken or hostile file is a row
with its flag, nothing runs, and in a real terminal (tmux) no escape sequence from a name ever
reaches the terminal (an OSC 52 clipboard write would become a tmux paste buffer)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hardening_helpers import HOSTILE_NAMES
from hardening_pickles import CASES
from hardening_trees import hostile_tree
from hardening_tui import run_headless, screen_lines, toast_texts, wait_until
from hardening_zips import ZIP_CASES
from reader_pickles import zip_checkpoint

# Characters a rendered line must never hold: C0 (except none: a line has no \n inside), DEL,
# C1, and lone surrogates (undecodable bytes the terminal encoder would choke on).
_FORBIDDEN = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))}


def _bad_characters(text: str) -> set[str]:
    return {ch for ch in text if ch in _FORBIDDEN or 0xD800 <= ord(ch) <= 0xDFFF}


def full_tree(base: Path, ckpt_bytes: bytes, marker: Path) -> tuple[Path, int]:
    """Hostile names, hostile pickles, broken zips and hostile sidecars in one tree."""
    root, paths = hostile_tree(base, ckpt_bytes)
    count = len(paths)
    (root / "pickles").mkdir()
    for name in ("getattr_nested_chain", "dotted_pathlib_os_system", "lookalike_cyrillic_o"):
        zip_checkpoint(root / "pickles" / f"{name}.ckpt", CASES[name][0](marker))
        count += 1
    (root / "zips").mkdir()
    for name in ("duplicate_data_pkl", "directory_hidden_in_comment", "cd_cut_short"):
        ZIP_CASES[name][0](root / "zips" / f"{name}.ckpt")
        count += 1
    tagged = root / "yaml" / "tagged.ckpt"
    tagged.parent.mkdir()
    tagged.write_bytes(ckpt_bytes)
    (root / "yaml" / "tagged.metadata.yaml").write_text(
        f"exp_name: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    with open(root / "yaml" / "huge.metadata.yaml", "wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    (root / "yaml" / "huge.ckpt").write_bytes(ckpt_bytes)
    return root, count + 2


async def test_headless_app_shows_every_entry_escaped(
    tmp_path: Path, ckpt_bytes: bytes, marker: Path
) -> None:
    root, count = full_tree(tmp_path, ckpt_bytes, marker)
    async with run_headless(root) as (app, pilot, table):
        assert len(table.rows) == count
        flagged = {entry.checkpoint_path for entry in table.rows if entry.has_errors}
        assert {f"zips/{name}.ckpt" for name in ("duplicate_data_pkl", "cd_cut_short")} <= flagged
        seen: list[str] = []
        for index in range(len(table.rows)):
            table.move_to(index)
            await pilot.pause(0.05)
            lines = screen_lines(app)
            seen += lines
            for line in lines:
                assert not _bad_characters(line), (index, line)
        text = "\n".join(seen)
        assert "osc\\x1b]52;c;aGk=\\x07" in text
        assert "inv\\xff\\xfealid" in text
        assert "SECURITY" in text  # the hostile pickles' flag in the detail pane


async def test_markup_in_a_path_does_not_kill_the_app(tmp_path: Path, ckpt_bytes: bytes) -> None:
    folder = tmp_path / "outputs" / "mk["
    folder.mkdir(parents=True)
    (folder / "]real.ckpt").write_bytes(ckpt_bytes)
    os.mkfifo(folder / "]fifo.ckpt")  # its scan issue "mk[/]fifo.ckpt: ..." is notified
    async with run_headless(tmp_path / "outputs") as (app, pilot, table):
        assert [entry.checkpoint_path for entry in table.rows] == ["mk[/]real.ckpt"]
        # The toast shows the name as text: rendering it as markup would have raised.
        await wait_until(pilot, lambda: any("mk[/]" in note for note in toast_texts(app)))
        assert app.return_code is None  # still running


TMUX = shutil.which("tmux")


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")
def test_real_terminal_gets_no_escape_from_a_name(
    tmp_path: Path, ckpt_bytes: bytes, marker: Path
) -> None:
    """In tmux with ``set-clipboard on``, an OSC 52 that reached the terminal would create a
    paste buffer holding "hi"; a colour or clear-screen sequence would show on the screen."""
    assert TMUX is not None
    root, _count = full_tree(tmp_path, ckpt_bytes, marker)
    os.unlink(root / f"fifo-{HOSTILE_NAMES['osc52_clipboard']}.ckpt")
    socket = f"ckpt-hardening-{uuid.uuid4().hex[:8]}"
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g set-clipboard on\n")
    exit_file = tmp_path / "exit-code"

    def tmux(*args: str) -> str:
        done = subprocess.run(
            [TMUX, "-L", socket, "-f", str(conf), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        return done.stdout

    cache = os.environ["CKPT_TUI_CACHE_DIR"]
    command = (
        f"cd {shlex.quote(str(root.parent))} && env -u COLUMNS -u LINES "
        f"CKPT_TUI_CACHE_DIR={shlex.quote(cache)} {shlex.quote(sys.executable)} -m ckpt_tui "
        f"outputs; echo $? > {shlex.quote(str(exit_file))}"
    )
    try:
        tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "50", command)
        deadline = time.monotonic() + 60
        while "osc\\x1b]52" not in tmux("capture-pane", "-p", "-t", "t"):
            assert time.monotonic() < deadline, tmux("capture-pane", "-p", "-t", "t")
            time.sleep(0.2)
        for key in ["End", "Home", *["j"] * 24, "Enter"]:
            tmux("send-keys", "-t", "t", key)
            time.sleep(0.05)  # paced like typing; the screen below is the sync

        def wait_screen(condition: Callable[[str], bool], what: str) -> None:
            while not condition(tmux("capture-pane", "-p", "-t", "t")):
                assert time.monotonic() < deadline + 30, f"timed out waiting for {what}"
                time.sleep(0.1)

        wait_screen(lambda s: "esc Back to table" in s, "the detail pane's focus")
        tmux("send-keys", "-t", "t", "Escape")
        wait_screen(lambda s: "esc Back to table" not in s, "the focus back on the table")
        screen = tmux("capture-pane", "-p", "-e", "-t", "t")
        assert "\x1b[31mred" not in screen  # the name's colour never applied
        assert "ansi\\x1b[31mred" in tmux("capture-pane", "-p", "-t", "t")
        assert tmux("list-buffers") == ""  # no OSC 52 ever reached tmux
        tmux("send-keys", "-t", "t", "q")
        while not exit_file.exists() or not exit_file.read_text().strip():
            assert time.monotonic() < deadline + 30, "ckpt-tui did not exit"
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True, check=False)
