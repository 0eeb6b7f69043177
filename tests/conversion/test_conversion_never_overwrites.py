"""Creates never overwrite: a sidecar that appears between the plan and the write is kept, and a
second writer racing a 3,000-file conversion loses nothing; ``--force`` replaces valid and broken
sidecars alike; a name taken by a folder or a link is never written through."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conversion_helpers import write_planned

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.cli import main
from ckpt_tui.convert.plan import plan_conversion
from ckpt_tui.convert.tree import convert_tree
from ckpt_tui.io.atomic import atomic_create_bytes
from ckpt_tui.sidecar.files import read_sidecar, sidecar_path_for

THEIRS = b"# written by the other writer\n"


def planned(root: Path, name: str, **options: object):  # type: ignore[no-untyped-def]
    ckpt = next(root.rglob(name))
    entries = [e for e in build_catalog(root, use_cache=False).entries if e.abs_path == str(ckpt)]
    return ckpt, plan_conversion(entries, **options)  # type: ignore[arg-type]


def test_a_sidecar_created_after_the_plan_is_kept(legacy_tree: Path) -> None:
    ckpt, plan = planned(legacy_tree, "epoch=4-step=420.ckpt")
    assert plan.items[0].action == "write"
    sidecar_path_for(ckpt).write_bytes(THEIRS)  # the training callback, say, got there first
    [report] = write_planned(plan).reports
    assert (report.outcome, report.reason) == (
        "skipped",
        "a sidecar appeared: epoch=4-step=420.metadata.yaml",
    )
    assert sidecar_path_for(ckpt).read_bytes() == THEIRS
    assert not [p for p in ckpt.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_sidecar_under_the_other_name_is_kept_too(legacy_tree: Path) -> None:
    ckpt, plan = planned(legacy_tree, "epoch=4-step=420.ckpt")
    other = ckpt.parent / (ckpt.name + ".metadata.yaml")
    other.write_bytes(THEIRS)
    [report] = write_planned(plan, force=True).reports  # --force: only replaces what it planned to
    assert report.outcome == "skipped" and "a sidecar appeared" in report.reason
    assert other.read_bytes() == THEIRS and not sidecar_path_for(ckpt).exists()


def test_create_never_replaces_even_a_dangling_link(tmp_path: Path) -> None:
    target = tmp_path / "a.metadata.yaml"
    target.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        atomic_create_bytes(target, b"x: 1\n")
    assert target.is_symlink() and not (tmp_path / "nowhere").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.metadata.yaml"]


@pytest.mark.parametrize("broken", [b"training: {epoch: [\n", b"- a list\n", b"exp_name: x\n"])
def test_force_replaces_a_broken_sidecar(
    legacy_tree: Path, broken: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = next(legacy_tree.rglob("epoch=9-step=930.ckpt"))
    sidecar_path_for(ckpt).write_bytes(broken)
    args = ["convert", "--checkpoint", str(ckpt), "--json", "--no-cache"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["converted"] == 0  # has a sidecar: no candidate
    assert sidecar_path_for(ckpt).read_bytes() == broken
    assert main([*args, "--force"]) == 0
    assert json.loads(capsys.readouterr().out)["converted"] == 1
    read = read_sidecar(ckpt)
    assert read.metadata is not None and read.metadata.training.epoch == 9, read.issues


def test_force_replaces_a_valid_sidecar_under_its_own_name(
    legacy_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = next(legacy_tree.rglob("epoch=9-step=930.ckpt"))
    assert main(["convert", str(legacy_tree), "--no-cache"]) == 1  # zero.ckpt fails
    capsys.readouterr()
    by_name = ckpt.parent / (ckpt.name + ".metadata.yaml")
    sidecar_path_for(ckpt).rename(by_name)
    first = by_name.read_bytes()
    args = ["convert", "--checkpoint", str(ckpt), "--force", "--json", "--no-cache"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["converted"] == 1 and data["items"][0]["sidecar_path"] == str(by_name)
    assert not sidecar_path_for(ckpt).exists(), "no second sidecar beside the replaced one"
    assert by_name.read_bytes() != first  # a new written_at
    # Provenance is the first origin, not "(via sidecar) (via sidecar)".
    assert "via sidecar" not in by_name.read_text()


def test_a_folder_or_a_link_in_the_sidecars_place(legacy_tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_bytes(b"not yours\n")
    folder_ckpt = next(legacy_tree.rglob("epoch=0-step=0.ckpt"))
    sidecar_path_for(folder_ckpt).mkdir()
    link_ckpt = next(legacy_tree.rglob("epoch=4-step=420.ckpt"))
    sidecar_path_for(link_ckpt).symlink_to(outside)
    report = convert_tree(str(legacy_tree), use_cache=False, force=True)
    by_rel = {Path(r.checkpoint_path).name: r for r in report.reports}
    assert by_rel["epoch=0-step=0.ckpt"].outcome == "failed"
    assert "a folder has its name" in by_rel["epoch=0-step=0.ckpt"].reason
    assert by_rel["epoch=4-step=420.ckpt"].outcome == "written"
    assert outside.read_bytes() == b"not yours\n", "written through a link"
    assert not sidecar_path_for(link_ckpt).is_symlink()


SECOND_WRITER = textwrap.dedent(
    """
    import os, sys, time
    paths = open(sys.argv[2]).read().split("\\0")
    created = []
    for path in paths:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        os.write(fd, sys.argv[1].encode())
        os.close(fd)
        created.append(path)
        time.sleep(0.0005)
    sys.stdout.write("\\0".join(created))
    """
)


@pytest.fixture
def thousands(legacy_tree: Path) -> tuple[Path, list[Path]]:
    """3,000 copies of one real torch checkpoint in 30 run folders, none with a sidecar."""
    source = next(legacy_tree.rglob("epoch=4-step=420.ckpt"))
    root = legacy_tree.parent / "race"
    files = []
    for run in range(30):
        folder = root / f"run{run:02d}" / "checkpoints"
        folder.mkdir(parents=True)
        for index in range(100):
            files.append(folder / f"epoch={index}-step={index * 10}.ckpt")
            shutil.copyfile(source, files[-1])
    return root, files


def test_a_second_writer_racing_3000_creates_loses_nothing(
    thousands: tuple[Path, list[Path]],
) -> None:
    root, files = thousands
    targets = [str(sidecar_path_for(f)) for f in sorted(files)]
    listing = root.parent / "targets"
    listing.write_text("\0".join(targets))
    writer = subprocess.Popen(
        [sys.executable, "-c", SECOND_WRITER, THEIRS.decode(), str(listing)],
        stdout=subprocess.PIPE,
    )
    report = convert_tree(str(root), use_cache=False)  # while the second writer runs
    out, _ = writer.communicate(timeout=120)
    theirs = {path for path in out.decode().split("\0") if path}
    written = {r.sidecar_path for r in report.reports if r.outcome == "written"}
    overwritten = [path for path in theirs if Path(path).read_bytes() != THEIRS]
    assert overwritten == []
    assert not theirs & written
    assert theirs | written == set(targets)
    for path in written:
        assert Path(path).read_bytes().startswith(b"schema_version: '1.0'\n")
    appeared = sum("a sidecar appeared" in r.reason for r in report.reports)
    print(f"second writer: {len(theirs)} created, {appeared} appeared mid-run, 0 overwritten")
    assert [p for p in root.rglob("*.tmp")] == []
