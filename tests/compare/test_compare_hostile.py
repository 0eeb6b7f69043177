"""Hostile and broken inputs to ``ckpt-tui diff``: compared or refused with a message, never run,
never a traceback, never raw control characters on the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from compare_helpers import ckpt_tui, save_plain

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.compare import compare, read_snapshot

NASTY_KEY = "\x1b]52;c;ZXZpbA==\x07key"
NASTY_VALUE = "\x1b[31mred\u202eevil"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of hostile and broken checkpoints beside a plain one."""
    root = tmp_path_factory.mktemp("compare-hostile-inputs") / "outputs" / "run"
    checkpoints = root / "checkpoints"
    save_plain(checkpoints / "plain.ckpt", {"lr": 0.1})
    save_plain(checkpoints / "nasty.ckpt", {"lr": 0.1, NASTY_KEY: NASTY_VALUE})
    save_plain(checkpoints / "nan.ckpt", {"lr": float("nan")})
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(300):
        deep = {"d": deep}
    save_plain(checkpoints / "deep.ckpt", deep)
    whole = (checkpoints / "plain.ckpt").read_bytes()
    (checkpoints / "truncated.ckpt").write_bytes(whole[: len(whole) // 2])
    (checkpoints / "empty.ckpt").write_bytes(b"")
    (checkpoints / "folder.ckpt").mkdir()
    return root


def test_control_characters_never_reach_the_terminal(run: Path):
    plain, nasty = run / "checkpoints" / "plain.ckpt", run / "checkpoints" / "nasty.ckpt"
    piped = ckpt_tui("diff", plain, nasty)
    assert piped.returncode == 0, piped.stderr
    for forbidden in ("\x1b", "\x07", "\u202e"):
        assert forbidden not in piped.stdout
    added = [line for line in piped.stdout.splitlines() if line.startswith("+ ")]
    assert len(added) == 1 and "key" in added[0] and "red" in added[0]
    data = json.loads(ckpt_tui("diff", plain, nasty, "--json").stdout)
    assert data["sections"]["config"] == [
        {"key": NASTY_KEY, "change": "added", "a": None, "b": NASTY_VALUE}
    ]


def test_a_nan_hyper_parameter_equals_itself(run: Path):
    path = run / "checkpoints" / "nan.ckpt"
    result = ckpt_tui("diff", path, path)
    assert result.returncode == 0, result.stderr
    assert "no differences" in result.stdout


def test_absurdly_nested_hparams_are_compared_with_an_issue(run: Path):
    plain, deep = run / "checkpoints" / "plain.ckpt", run / "checkpoints" / "deep.ckpt"
    result = ckpt_tui("diff", plain, deep, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [issue["code"] for issue in data["b"]["issues"]] == ["checkpoint.too-complex"]
    assert data["b"]["safety"] == "safe"


@pytest.mark.parametrize("name", ["truncated.ckpt", "empty.ckpt", "folder.ckpt"])
def test_unreadable_checkpoints_exit_one_with_a_message(run: Path, name: str):
    broken = run / "checkpoints" / name
    result = ckpt_tui("diff", run / "checkpoints" / "plain.ckpt", broken)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"ckpt-tui diff: cannot read {broken}")
    assert "Traceback" not in result.stderr


def test_a_python_tag_in_the_run_config_is_never_run(tmp_path: Path):
    marker = tmp_path / "PWNED"
    run = tmp_path / "outputs" / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(
        f'model: !!python/object/apply:os.system ["touch {marker}"]\n'
    )
    path = save_plain(run / "checkpoints" / "last.ckpt", None)
    entries = build_catalog(tmp_path / "outputs", use_cache=False).entries
    side = read_snapshot(entries[0])
    assert side.config is None and side.config_source is None
    assert compare([side, read_snapshot(entries[0])]).equal
    assert ckpt_tui("diff", path, path).returncode == 0
    assert not marker.exists()
