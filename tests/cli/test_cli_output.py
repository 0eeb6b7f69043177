"""What ``list`` and ``show`` print: tab-separated lines when piped, a table that fits the
terminal with one line per entry, ``show`` never hard-wrapped when piped, compact JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from terminal_run import run_on_terminal

#: A name holding a tab, a newline and an escape sequence: it must stay one cell on one line.
TRICKY = "tab\there\nnew\x1b[31m.ckpt"
LONG_RUN = "a_very_long_experiment_folder_name_that_goes_on_and_on_for_ever_and_ever"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    root = tmp_path_factory.mktemp("cli-output") / "outputs"
    weights = {"state_dict": {"w": torch.zeros(2, 2)}}
    for run in ("run_a", LONG_RUN):
        folder = root / run / "checkpoints"
        folder.mkdir(parents=True)
        for epoch in range(3):
            torch.save(
                {**weights, "epoch": epoch, "global_step": epoch * 10},
                folder / f"epoch={epoch}.ckpt",
            )
        torch.save({**weights, "epoch": 2, "global_step": 20}, folder / "last.ckpt")
    torch.save(weights, root / "run_a" / "checkpoints" / TRICKY)
    return root


def ckpt_tui(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *args], capture_output=True, timeout=120, check=False
    )


def test_piped_list_is_one_tab_separated_line_per_entry(tree: Path) -> None:
    done = ckpt_tui("list", str(tree), "--no-cache")
    assert done.returncode == 0
    lines = done.stdout.decode().splitlines()
    header = lines[0].split("\t")
    assert header[:3] == ["checkpoint_path", "exp_name", "file_name"]
    assert "safety" in header and "issues" in header
    assert len(lines) == 1 + 9  # a header, then one line per entry
    assert all(line.count("\t") == len(header) - 1 for line in lines)
    assert not any(char in done.stdout.decode() for char in "│─┃━┏")  # no box drawing
    tricky = next(line for line in lines if "tab" in line).split("\t")
    assert tricky[header.index("file_name")] == "tab\\there\\nnew\\x1b[31m.ckpt"
    assert b"\x1b" not in done.stdout
    row = dict(zip(header, lines[1].split("\t"), strict=True))
    assert row["epoch"] == "0" and row["hmean"] == ""  # epoch 0 is real; unknown is empty


def test_piped_list_honours_columns(tree: Path) -> None:
    done = ckpt_tui("list", str(tree), "--no-cache", "--columns", "file,epoch")
    assert done.stdout.decode().splitlines()[0] == "checkpoint_path\tfile_name\tepoch"
    bad = ckpt_tui("list", str(tree), "--columns", "file,nope")
    assert bad.returncode == 2 and b"unknown column nope" in bad.stderr


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_terminal_list_fits_the_width_one_line_per_entry(tree: Path, columns: int) -> None:
    code, output = run_on_terminal("list", str(tree), "--no-cache", columns=columns, term="dumb")
    assert code == 0
    lines = output.decode().replace("\r\n", "\n").rstrip("\n").split("\n")
    assert len(lines) == 1 + 9 + 1, lines  # header, one line per entry, the count
    assert all(len(line) <= columns for line in lines), lines
    header = lines[0].split()
    assert header[:2] == ["Experiment", "File"]
    assert lines[-1] == "9 checkpoints"
    body = "\n".join(lines[1:-1])
    assert "last.ckpt" in body and "epoch=2.ckpt" in body
    if columns >= 120:
        assert "Safety" in header


def test_show_is_not_wrapped_when_piped(tree: Path) -> None:
    ckpt = tree / LONG_RUN / "checkpoints" / "epoch=1.ckpt"
    done = ckpt_tui("show", str(ckpt), "--no-cache")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert f"{LONG_RUN}/checkpoints/epoch=1.ckpt" in text.splitlines()[0]
    assert any(LONG_RUN in line and line.startswith("exp_name") for line in text.splitlines())


def test_json_is_a_compact_array_one_entry_per_line(tree: Path) -> None:
    done = ckpt_tui("list", str(tree), "--json", "--no-cache")
    data = json.loads(done.stdout)
    assert len(data) == 9
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 9 + 2
    assert json.loads(lines[1].rstrip(",")) == data[0]
