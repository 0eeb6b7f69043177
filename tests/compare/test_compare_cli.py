"""``ckpt-tui diff`` as a user runs it: exit codes, JSON, piped and terminal output."""

from __future__ import annotations

import json
import re
from pathlib import Path

from compare_helpers import ckpt_tui
from terminal_run import run_on_terminal

from ckpt_tui.compare import TENSOR_PREFIX

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def test_json_lists_what_differs(resaved: tuple[Path, Path, str]):
    original, copy, key = resaved
    result = ckpt_tui("diff", original, copy, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["a"]["checkpoint_path"].endswith(original.name)
    assert data["a"]["safety"] == data["b"]["safety"] == "safe"
    assert data["a"]["config_source"] == "checkpoint hyper_parameters"
    assert data["equal"] is False
    assert data["differences"] == {
        "safety": 0, "metrics": 0, "training": 0, "model": 0, "config": 1, "weights": 1,
    }  # fmt: skip
    assert [row["key"] for row in data["sections"]["config"]] == ["lr"]
    changed = [row["key"] for row in data["sections"]["weights"] if row["change"] != "same"]
    assert changed == [TENSOR_PREFIX + key]
    with_all = json.loads(ckpt_tui("diff", original, copy, "--json", "--all").stdout)
    assert len(with_all["sections"]["config"]) == 3


def test_equal_checkpoints_exit_zero(lightning_pair: tuple[Path, Path]):
    conv = lightning_pair[0]
    result = ckpt_tui("diff", conv, conv)
    assert result.returncode == 0, result.stderr
    assert "no differences" in result.stdout


def test_piped_output_has_no_box_drawing_and_no_wrapping(lightning_pair: tuple[Path, Path]):
    conv, mlp = lightning_pair
    result = ckpt_tui("diff", conv, mlp)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert not re.search("[\u2500-\u257f]", result.stdout)
    assert "~ encoder\tconv\tmlp" in lines
    assert "~ tensor encoder.0.weight\tfloat32 [4, 1, 3]\tfloat32 [32, 8]" in lines
    assert "- tensor encoder.1.running_var\tfloat32 [4]\t(absent)" in lines
    assert any(line.startswith("A ") and line.endswith(f"{conv}  safe") for line in lines)


def test_terminal_output_fits_80_columns(lightning_pair: tuple[Path, Path]):
    conv, mlp = lightning_pair
    code, output = run_on_terminal("diff", str(conv), str(mlp), columns=80)
    assert code == 0
    text = _ANSI.sub(b"", output).decode()
    lines = text.replace("\r\n", "\n").splitlines()
    # The two paths are left to the terminal to wrap (they stay one line when copied).
    table = [line for line in lines if not line.startswith(("A /", "B /"))]
    assert len(table) < len(lines)
    assert all(len(line) <= 80 for line in table), max(table, key=len)
    assert any(line.startswith("config (1 differ") for line in lines)
    assert any(re.match(r"~\s+encoder\s+conv\s+mlp\s*$", line) for line in lines)


def test_unreadable_file_exits_one_naming_it(tmp_path: Path, lightning_pair: tuple[Path, Path]):
    broken = tmp_path / "outputs" / "run" / "broken.ckpt"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"PK\x03\x04 this is not a zip")
    result = ckpt_tui("diff", lightning_pair[0], broken)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"cannot read {broken}" in result.stderr
    missing = tmp_path / "nope.ckpt"
    result = ckpt_tui("diff", missing, lightning_pair[0], "--json")
    assert result.returncode == 1
    assert f"cannot read {missing}: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_two(lightning_pair: tuple[Path, Path]):
    assert ckpt_tui("diff", lightning_pair[0]).returncode == 2
    assert ckpt_tui("diff", lightning_pair[0], lightning_pair[1], "--bogus").returncode == 2


def test_hostile_file_is_compared_and_never_run(hostile: tuple[Path, Path, Path]):
    bad, twin, marker = hostile
    result = ckpt_tui("diff", bad, twin)
    assert result.returncode == 0, result.stderr
    assert "unsafe global: os.system" in result.stdout
    assert "~ safety\tunsafe\tsafe" in result.stdout.splitlines()
    data = json.loads(ckpt_tui("diff", bad, twin, "--json").stdout)
    assert data["a"]["unsafe_globals"] == ["os.system"]
    assert not marker.exists()
