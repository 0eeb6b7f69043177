"""Faults during conversion: SIGKILL, SIGTERM and two converters at once leave whole sidecars."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conversion_helpers import tree_hashes

from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, read_sidecar

FILES = 240


@pytest.fixture
def wide_tree(legacy_tree: Path) -> Path:
    """The legacy tree plus many copies of one real checkpoint, none with a sidecar."""
    source = next(legacy_tree.rglob("epoch=4-step=420.ckpt"))
    folder = source.parent
    for index in range(100, 100 + FILES):  # clear of the tree's own epoch=0..9 names
        shutil.copyfile(source, folder / f"epoch={index}-step={index * 10}.ckpt")
    (folder / "zero.ckpt").unlink()
    return legacy_tree


def _convert(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(root.parent / "cache")}
    command = [sys.executable, "-m", "ckpt_tui", "convert", str(root), "--json"]
    # Output goes to a file: an unread pipe would fill up and block the converter.
    log = open(root.parent / f"convert-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def _sidecars(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"*{SIDECAR_SUFFIX}") if not p.name.startswith(".")]


def _assert_every_sidecar_whole(root: Path) -> int:
    count = 0
    for ckpt in root.rglob("*.ckpt"):
        read = read_sidecar(ckpt)
        if read.path is None:
            continue
        assert read.metadata is not None, (ckpt, read.issues)
        assert read.metadata.training.epoch >= 0
        count += 1
    return count


def test_sigkill_mid_conversion_leaves_sidecars_absent_or_whole(wide_tree: Path) -> None:
    checkpoints = {k: v for k, v in tree_hashes(wide_tree).items() if k.endswith(".ckpt")}
    process = _convert(wide_tree)
    deadline = time.monotonic() + 60
    while not _sidecars(wide_tree) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    written = _assert_every_sidecar_whole(wide_tree)
    assert 0 < written < FILES + 4, "the kill should land mid-conversion"
    after = {k: v for k, v in tree_hashes(wide_tree).items() if k.endswith(".ckpt")}
    assert after == checkpoints


def test_sigterm_stops_cleanly_with_exit_130(wide_tree: Path) -> None:
    process = _convert(wide_tree)
    deadline = time.monotonic() + 60
    while not _sidecars(wide_tree) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) in (130, 0)  # 0 only if it finished before the signal
    _assert_every_sidecar_whole(wide_tree)
    leftovers = [p for p in wide_tree.rglob("*.tmp")]
    assert leftovers == [], "a clean stop leaves no temp files"


def test_two_converters_at_once_corrupt_nothing(wide_tree: Path) -> None:
    checkpoints = {k: v for k, v in tree_hashes(wide_tree).items() if k.endswith(".ckpt")}
    first, second = _convert(wide_tree), _convert(wide_tree)
    assert first.wait(timeout=120) == 0
    assert second.wait(timeout=120) == 0
    assert _assert_every_sidecar_whole(wide_tree) == FILES + 4
    assert {k: v for k, v in tree_hashes(wide_tree).items() if k.endswith(".ckpt")} == checkpoints
    assert [p for p in wide_tree.rglob("*.tmp")] == []


def test_sigint_reports_exactly_the_sidecars_it_wrote(wide_tree: Path) -> None:
    """Ctrl-C while several sidecars are being written at once: the writes in flight finish,
    and the JSON counts exactly the sidecars on disk."""
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(wide_tree.parent / "cache")}
    out_path = wide_tree.parent / "sigint.json"
    with open(out_path, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ckpt_tui", "convert", str(wide_tree), "--json"],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 60
        while not _sidecars(wide_tree) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.002)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    assert code in (130, 0)  # 0 only if it finished before the signal
    on_disk = _assert_every_sidecar_whole(wide_tree)
    assert [p for p in wide_tree.rglob("*.tmp")] == []
    data = json.loads(out_path.read_text())
    assert data["interrupted"] is (code == 130)
    assert data["converted"] == on_disk
    written = {i["checkpoint_path"] for i in data["items"] if i["outcome"] == "written"}
    assert written == {
        ckpt.relative_to(wide_tree).as_posix()
        for ckpt in wide_tree.rglob("*.ckpt")
        if read_sidecar(ckpt).found
    }
