"""Nothing is written outside ROOT through a link, and a killed run's temp files are never entries
and are removed by the next conversion (only theirs, only once old enough)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.cli import main
from ckpt_tui.convert.tree import convert_tree
from ckpt_tui.io.atomic import STALE_TEMP_SECONDS, is_temp_name
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, read_sidecar, sidecar_path_for

LEFTOVER = ".epoch=4-step=420.metadata.yaml.0123456789ab.tmp"


@pytest.fixture
def linked_out(legacy_tree: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The legacy tree with a folder link inside it that leads to a folder outside it."""
    outside = tmp_path / "outside" / "checkpoints"
    outside.mkdir(parents=True)
    source = next(legacy_tree.rglob("epoch=4-step=420.ckpt"))
    (outside / "epoch=50-step=500.ckpt").write_bytes(source.read_bytes())
    (legacy_tree / "borrowed").symlink_to(outside.parent, target_is_directory=True)
    return legacy_tree, outside


def test_a_folder_linked_from_outside_root_is_listed_not_written_into(
    linked_out: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, outside = linked_out
    listed = {e.checkpoint_path for e in build_catalog(root, use_cache=False).entries}
    assert "borrowed/checkpoints/epoch=50-step=500.ckpt" in listed
    before = sorted(p.name for p in outside.iterdir())
    assert main(["convert", str(root), "--json", "--no-cache"]) == 1  # zero.ckpt
    data = json.loads(capsys.readouterr().out)
    item = next(i for i in data["items"] if i["checkpoint_path"].startswith("borrowed/"))
    assert (item["outcome"], item["reason"]) == ("skipped", "outside ROOT through a link")
    assert sorted(p.name for p in outside.iterdir()) == before
    assert data["converted"] == 4  # the rest of the tree is converted
    assert main(["convert", str(root), "--no-cache"]) == 1  # zero.ckpt, still
    assert "outside ROOT through a link" in capsys.readouterr().out  # said without -v


def test_write_outside_root_is_an_explicit_choice(
    linked_out: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, outside = linked_out
    main(["convert", str(root), "--json", "--no-cache", "--write-outside-root"])
    data = json.loads(capsys.readouterr().out)
    item = next(i for i in data["items"] if i["checkpoint_path"].startswith("borrowed/"))
    assert item["outcome"] == "written"
    assert read_sidecar(outside / "epoch=50-step=500.ckpt").metadata is not None


def test_a_link_swapped_in_after_the_plan_is_not_written_through(
    legacy_tree: Path, tmp_path: Path
) -> None:
    from ckpt_tui.convert.plan import plan_conversion
    from ckpt_tui.convert.write import write_item

    run = next(legacy_tree.rglob("checkpoints"))
    entries = build_catalog(legacy_tree, use_cache=False).entries
    plan = plan_conversion(entries, write_root=os.path.realpath(legacy_tree))
    item = next(i for i in plan.items if i.action == "write")
    outside = tmp_path / "swapped"
    run.rename(outside)
    run.symlink_to(outside, target_is_directory=True)
    report = write_item(0, item)
    assert (report.outcome, report.reason) == ("skipped", "outside ROOT through a link")
    assert not [p for p in outside.iterdir() if p.name.endswith(SIDECAR_SUFFIX)]


def test_temp_names_are_recognised_exactly() -> None:
    assert is_temp_name(LEFTOVER)
    assert is_temp_name(".x.ckpt.0123456789ab.tmp")
    for name in ("a.metadata.yaml", ".a.tmp", ".a.0123456789AB.tmp", "a.0123456789ab.tmp",
                 ".a.0123456789a.tmp", ".a.metadata.yaml.0123456789ab.tmp.ckpt"):  # fmt: skip
        assert not is_temp_name(name), name


def test_leftover_temps_are_never_entries_and_old_ones_are_removed(legacy_tree: Path) -> None:
    folder = next(legacy_tree.rglob("epoch=4-step=420.ckpt")).parent
    old, fresh = folder / LEFTOVER, folder / ".epoch=9-step=930.metadata.yaml.a1b2c3d4e5f6.tmp"
    not_ours = folder / ".notes.0123456789ab.tmp"  # the pattern, but not a sidecar's temp file
    linked = folder / ".last.metadata.yaml.ffffffffffff.tmp"
    victim = legacy_tree.parent / "victim.txt"
    victim.write_text("keep me")
    for path in (old, fresh, not_ours):
        path.write_bytes(b"schema_version: '1.0'\nexp_na")  # a partial write
    linked.symlink_to(victim)
    # Also one named like a checkpoint: still a temp file, never an entry.
    ckpt_like = folder / ".epoch=1.ckpt.metadata.yaml.abcdefabcdef.tmp"
    ckpt_like.write_bytes(b"")
    long_ago = time.time() - STALE_TEMP_SECONDS - 60
    for path in (old, not_ours, ckpt_like):
        os.utime(path, (long_ago, long_ago))
    os.utime(linked, (long_ago, long_ago), follow_symlinks=False)
    names = {
        Path(e.checkpoint_path).name for e in build_catalog(legacy_tree, use_cache=False).entries
    }
    assert not [name for name in names if name.endswith(".tmp") or name.startswith(".")]

    dry = convert_tree(str(legacy_tree), use_cache=False, dry_run=True)
    assert dry.temps_removed == 0 and old.exists()
    report = convert_tree(str(legacy_tree), use_cache=False)
    assert report.temps_removed == 2
    assert not old.exists() and not ckpt_like.exists()
    assert fresh.exists(), "a temp file as young as a running writer's is left alone"
    assert not_ours.exists() and linked.is_symlink() and victim.read_text() == "keep me"


def _sidecars(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"*{SIDECAR_SUFFIX}") if not p.name.startswith(".")]


def test_sigkill_at_random_points_leaves_no_partial_sidecar(legacy_tree: Path) -> None:
    """A real ``ckpt-tui convert`` killed at random points, four times: every sidecar on disk is
    whole; the next run cleans up the temp files (once old enough) and finishes the job."""
    import shutil

    source = next(legacy_tree.rglob("epoch=4-step=420.ckpt"))
    (source.parent / "zero.ckpt").unlink()
    for index in range(100, 400):
        shutil.copyfile(source, source.parent / f"epoch={index}-step={index}.ckpt")
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(legacy_tree.parent / "cache")}
    command = [sys.executable, "-m", "ckpt_tui", "convert", str(legacy_tree), "--no-cache"]
    chance = random.Random(15)
    kills = 0
    for _ in range(4):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
        start = len(_sidecars(legacy_tree))
        deadline = time.monotonic() + 60
        while len(_sidecars(legacy_tree)) == start and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.001)
        time.sleep(chance.uniform(0, 0.05))  # somewhere in the middle of writing
        process.send_signal(signal.SIGKILL)
        kills += process.wait(timeout=30) == -signal.SIGKILL
        for ckpt in legacy_tree.rglob("*.ckpt"):
            read = read_sidecar(ckpt)
            assert read.path is None or read.metadata is not None, (ckpt, read.issues)
    assert kills >= 1, "no run was killed mid-way"
    # The killed runs' forked readers die with them (none waits on its queue forever).
    deadline = time.monotonic() + 10
    while _processes_naming(legacy_tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_naming(legacy_tree) == []
    # Whatever the kills left, plus one left for sure, backdated past the grace period.
    (source.parent / LEFTOVER).write_bytes(b"partial")
    long_ago = time.time() - STALE_TEMP_SECONDS - 60
    temps = [p for p in legacy_tree.rglob("*") if is_temp_name(p.name)]
    for path in temps:
        os.utime(path, (long_ago, long_ago))
    report = convert_tree(str(legacy_tree), use_cache=False)
    assert report.temps_removed == len(temps)
    assert [p for p in legacy_tree.rglob("*") if is_temp_name(p.name)] == []
    for ckpt in legacy_tree.rglob("*.ckpt"):
        assert read_sidecar(ckpt).metadata is not None, ckpt
    assert not (sidecar_path_for(source).parent / LEFTOVER).exists()


def _processes_naming(root: Path) -> list[int]:
    """Live processes whose command line names ``root`` (a zombie's is empty)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if os.fsencode(str(root)) in command:
            found.append(int(entry.name))
    return found
