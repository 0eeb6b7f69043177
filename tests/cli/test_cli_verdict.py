"""The safety verdict on the command line: ``show`` always reads it, ``list`` says ``unchecked``
for sidecar-described rows until ``--verify``, and the table keeps it within 80 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from terminal_run import run_on_terminal


class Payload:
    """Pickles as a call to os.system that would create a marker file if ever loaded unsafely."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _sidecar(ckpt: Path) -> None:
    ckpt.with_name(ckpt.stem + ".metadata.yaml").write_text(
        f"checkpoint_path: {ckpt.name}\n"
        "exp_name: verdicts\n"
        "created_at: '2026-12-07T10:00:00+00:00'\n"
        "training: {epoch: 2, global_step: 20}\n"
        "model: {architecture: dbnet, encoder: {model_name: resnet18}}\n"
        "metrics: {hmean: 0.5}\n"
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    import torch

    root = tmp_path / "outputs"
    run = root / "dbnet_run" / "checkpoints"
    run.mkdir(parents=True)
    weights = {"w": torch.zeros(2, 2)}
    torch.save({"epoch": 2, "global_step": 20, "state_dict": weights}, run / "good.ckpt")
    hook = Payload(tmp_path / "marker")
    torch.save(
        {"epoch": 2, "global_step": 20, "state_dict": weights, "hook": hook}, run / "bad.ckpt"
    )
    for name in ("good", "bad"):
        _sidecar(run / f"{name}.ckpt")
    return root


def ckpt_tui(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *args], capture_output=True, timeout=120
    )


def _by_name(done: subprocess.CompletedProcess[bytes]) -> dict[str, dict[str, object]]:
    assert done.returncode == 0, done.stderr
    return {item["checkpoint_path"].rsplit("/", 1)[-1]: item for item in json.loads(done.stdout)}


def test_list_says_unchecked_until_verify(tree: Path) -> None:
    plain = _by_name(ckpt_tui("list", str(tree), "--json"))
    assert {item["safety"] for item in plain.values()} == {"unchecked"}
    verified = _by_name(ckpt_tui("list", str(tree), "--json", "--verify"))
    assert verified["good.ckpt"]["safety"] == "safe"
    bad = verified["bad.ckpt"]
    assert bad["safety"] == "unsafe" and bad["source"] == "sidecar"
    assert any("system" in name for name in bad["unsafe_globals"])  # type: ignore[attr-defined]
    # Remembered: the next run without --verify knows it from the cache.
    again = _by_name(ckpt_tui("list", str(tree), "--json"))
    assert again["bad.ckpt"]["safety"] == "unsafe"
    found = ckpt_tui("list", str(tree), "--verify", "--filter", "safety:unsafe", "--csv")
    assert found.returncode == 0
    rows = found.stdout.decode().splitlines()
    assert len(rows) == 2 and "bad.ckpt" in rows[1] and "unsafe" in rows[1]
    assert not (tree.parent / "marker").exists()


def test_table_shows_the_verdict(tree: Path) -> None:
    table = ckpt_tui("list", str(tree), "--no-cache").stdout.decode()
    assert "safety" in table and table.count("unchecked") == 2
    table = ckpt_tui("list", str(tree), "--no-cache", "--verify").stdout.decode()
    assert "unsafe" in table and "unchecked" not in table


def test_table_on_an_80_column_terminal(tree: Path) -> None:
    code, output = run_on_terminal("list", str(tree), "--no-cache", columns=80, term="dumb")
    assert code == 0
    lines = output.decode().splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert sum(line.count("unchecked") for line in lines) == 2, lines  # never cut in two


def test_show_always_reads_the_verdict(tree: Path) -> None:
    bad = tree / "dbnet_run" / "checkpoints" / "bad.ckpt"
    for cached in (False, True):  # a warm cache never answers for the verdict
        done = ckpt_tui("show", str(bad), "--json")
        assert done.returncode == 1, done.stderr  # an unsafe file carries a SECURITY error

        data = json.loads(done.stdout)
        assert data["source"] == "sidecar", cached
        assert data["safety"] == "unsafe"
        assert any("system" in name for name in data["unsafe_globals"])
        assert any(issue["code"].startswith("security.") for issue in data["issues"])
    text = ckpt_tui("show", str(bad)).stdout.decode()
    assert "safety" in text and "unsafe" in text and "Unsafe globals" in text
    good = ckpt_tui("show", str(tree / "dbnet_run" / "checkpoints" / "good.ckpt"), "--json")
    assert good.returncode == 0 and json.loads(good.stdout)["safety"] == "safe"
    assert not (tree.parent / "marker").exists()
