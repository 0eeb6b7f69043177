"""``ckpt-tui list``: JSON/CSV/table output, sorting, filtering, exit codes, hostile names."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from catalog_helpers import metadata
from terminal_run import run_on_terminal

from ckpt_tui.cli import list_cmd
from ckpt_tui.model.entry import JSON_FIELDS
from ckpt_tui.model.schema import MetricsInfo
from ckpt_tui.sidecar.files import save_metadata

HOSTILE = "run\x1b]0;pwned\x07\x1b[31m"


@pytest.fixture
def tree(tmp_path: Path, write_checkpoint) -> Path:
    root = tmp_path / "outputs"
    for name, hmean in (("a", 0.5), ("b", 0.9), ("c", None), ("d", 0.7)):
        ckpt = write_checkpoint(root / f"dbnet-{name}" / "checkpoints" / "epoch=1-step=2.ckpt")
        if hmean is not None:
            save_metadata(metadata(exp_name=f"exp-{name}", metrics=MetricsInfo(hmean=hmean)), ckpt)
    return root


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "list", *args],
        capture_output=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_json_is_the_array_and_nothing_else(tree: Path) -> None:
    done = run_cli(str(tree), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert len(data) == 4
    assert all(list(item) == list(JSON_FIELDS) for item in data)
    entry = next(item for item in data if item["exp_name"] == "exp-b")
    assert entry["source"] == "sidecar"
    assert entry["provenance"]["hmean"] == "sidecar metrics.hmean"


@pytest.mark.parametrize("desc", [False, True])
def test_sort_puts_nulls_last_both_ways(tree: Path, desc: bool) -> None:
    args = [str(tree), "--json", "--sort", "hmean"] + (["--desc"] if desc else [])
    data = json.loads(run_cli(*args).stdout)
    values = [item["hmean"] for item in data]
    assert values == ([0.9, 0.7, 0.5, None] if desc else [0.5, 0.7, 0.9, None])


def test_filter(tree: Path) -> None:
    data = json.loads(run_cli(str(tree), "--json", "--filter", "hmean>0.6").stdout)
    assert sorted(item["exp_name"] for item in data) == ["exp-b", "exp-d"]
    data = json.loads(run_cli(str(tree), "--json", "--filter=-has:sidecar").stdout)
    assert [item["checkpoint_path"] for item in data] == ["dbnet-c/checkpoints/epoch=1-step=2.ckpt"]


@pytest.mark.parametrize(
    "args",
    [
        ["MISSING"],
        ["FILE"],
        ["ROOT", "--filter", "hmean>"],
        ["ROOT", "--filter", "nosuchfield:x"],
        ["ROOT", "--sort", "nosuchfield"],
        ["ROOT", "--json", "--csv"],
    ],
)
def test_usage_errors_exit_2(tree: Path, tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "file").write_text("")
    where = {
        "MISSING": str(tmp_path / "missing"),
        "FILE": str(tmp_path / "file"),
        "ROOT": str(tree),
    }
    done = run_cli(*[where.get(a, a) for a in args])
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr


def test_csv(tree: Path) -> None:
    done = run_cli(str(tree), "--csv", "--sort", "path")
    rows = list(csv.reader(io.StringIO(done.stdout.decode())))
    assert rows[0] == list(JSON_FIELDS)
    assert len(rows) == 5
    assert rows[1][0] == "dbnet-a/checkpoints/epoch=1-step=2.ckpt"


def test_no_cache_writes_no_cache(tree: Path, cache_folder: Path) -> None:
    assert run_cli(str(tree), "--json", "--no-cache").returncode == 0
    assert not (cache_folder / "catalog.sqlite3").exists()
    assert run_cli(str(tree), "--json").returncode == 0
    assert (cache_folder / "catalog.sqlite3").exists()


def test_hostile_and_undecodable_names(tmp_path: Path, write_checkpoint) -> None:
    raw = os.fsencode(tmp_path) + f"/{HOSTILE}/checkpoints/a\xff.ckpt".encode("latin-1")
    os.makedirs(os.path.dirname(raw))
    write_checkpoint(Path(os.fsdecode(raw)))
    done = run_cli(str(tmp_path), "--json")
    assert done.returncode == 0
    assert b"\x1b" not in done.stdout and b"\x07" not in done.stdout
    (item,) = json.loads(done.stdout)
    assert os.fsencode(item["checkpoint_path"]) == raw[len(os.fsencode(tmp_path)) + 1 :]
    csv_out = run_cli(str(tmp_path), "--csv").stdout
    assert b"\x1b" not in csv_out and b"\\x1b]0;pwned" in csv_out and b"a\\xff.ckpt" in csv_out
    table = run_cli(str(tmp_path)).stdout
    assert b"\x1b" not in table  # not a terminal: no styling, and names are escaped
    assert b"\\x1b]0;pwned" in table


def test_table_on_a_real_terminal_escapes_names(tmp_path: Path, write_checkpoint) -> None:
    write_checkpoint(tmp_path / HOSTILE / "checkpoints" / "epoch=3-step=4.ckpt")
    code, output = run_on_terminal("list", str(tmp_path), columns=220)
    assert code == 0
    assert b"epoch=3-step=4.ckpt" in output
    assert b"\\x1b]0;pwned\\x07" in output
    assert b"\x1b]0;pwned" not in output  # the name's own escape sequence never reaches the tty
    assert b"\x07" not in output


def test_run_in_process(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    list_cmd.add_arguments(parser)
    assert list_cmd.run(parser.parse_args([str(tree), "--json", "--filter", "exp:exp-a"])) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["exp_name"] == "exp-a"
