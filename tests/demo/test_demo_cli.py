"""``ckpt-tui demo DIR``: refuses a non-empty folder, writes an empty one, ``--force`` rewrites."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest
from demo_helpers import rel

from ckpt_tui.cli import demo_cmd
from ckpt_tui.demo import DemoSummary


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ckpt-tui demo")
    demo_cmd.add_arguments(parser)
    return demo_cmd.run(parser.parse_args(list(argv)))


def test_refuses_a_non_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    assert _run(str(tmp_path)) == 2
    captured = capsys.readouterr()
    assert "--force" in captured.err and captured.out == ""
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_main_dispatcher_runs_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ckpt_tui.cli import main

    (tmp_path / "x").write_text("x")
    assert main(["demo", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err


def test_refuses_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert _run(str(target)) == 2
    assert "not a folder" in capsys.readouterr().err


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        _run("--seed", "many")
    assert exc.value.code == 2


def test_writes_into_a_new_folder_and_prints_a_summary(
    tmp_path: Path, demo: DemoSummary, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new" / "demo"
    assert _run(str(target)) == 0
    out = capsys.readouterr().out
    assert f"{len(demo.checkpoints)} checkpoints in {len(demo.runs)} runs" in out
    assert f"ckpt-tui list {target}" in out
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*"))
    assert written == sorted(p.relative_to(demo.root).as_posix() for p in demo.root.rglob("*"))


def test_force_rewrites_the_demo_paths_and_keeps_other_files(
    tmp_path: Path, demo: DemoSummary
) -> None:
    target = tmp_path / "copy"
    shutil.copytree(demo.root, target, symlinks=True)
    (target / "mine.txt").write_text("keep me\n")
    victim = target / rel(demo, demo.checkpoints[3])
    victim.write_bytes(b"scribbled over")
    assert _run(str(target), "--force") == 0
    assert (target / "mine.txt").read_text() == "keep me\n"
    assert victim.read_bytes() == demo.checkpoints[3].read_bytes()
    link = target / "2025-10-03/14-22-51/checkpoints/last.ckpt"
    assert link.is_symlink() and link.resolve().is_file()
