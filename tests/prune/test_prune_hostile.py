"""Hostile trees: nothing outside ROOT, nothing that is not a checkpoint or its sidecar, ever.

Each test builds its hostile piece into a private copy of the real Lightning tree, plans with
everything allowed to go (``--keep-best 0 --keep-last 0``) and runs ``--yes``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from prune_helpers import files_under, prune_cli, prune_json

from ckpt_tui.prune.build import plan_prune
from ckpt_tui.prune.execute import execute_plan
from ckpt_tui.prune.plan import PlanError, PruneOptions, load_plan

ALL = ("--keep-best", "0", "--keep-last", "0")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside ROOT with files that must survive."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {rel: (folder / rel).read_bytes() for rel in files_under(folder)
            if (folder / rel).is_file()}  # fmt: skip


def test_a_link_to_a_file_outside_root_is_never_followed(tree: Path, outside: Path) -> None:
    shutil.copy(tree / "min_run/checkpoints/epoch=1-step=8.ckpt", outside / "precious.ckpt")
    link = tree / "min_run/checkpoints/outside.ckpt"
    link.symlink_to(outside / "precious.ckpt")
    before = snapshot(outside)
    done = prune_json(tree, *ALL, "--yes")
    item = next(
        i for e in done["plan"]["experiments"] for i in e["items"]
        if i["checkpoint_path"] == "min_run/checkpoints/outside.ckpt"
    )  # fmt: skip
    assert item["action"] == "keep"
    assert link.is_symlink() and snapshot(outside) == before


def test_a_folder_link_out_of_root_is_listed_never_pruned(tree: Path, outside: Path) -> None:
    shutil.copytree(tree / "restart_run", outside / "run", symlinks=True)
    (tree / "linked_run").symlink_to(outside / "run", target_is_directory=True)
    before = snapshot(outside)
    done = prune_json(tree, *ALL, "--yes")
    linked = [
        i for e in done["plan"]["experiments"] for i in e["items"]
        if i["checkpoint_path"].startswith("linked_run/")
    ]  # fmt: skip
    assert len(linked) == 6
    assert all(i["action"] == "keep" for i in linked)
    assert all("reached through the link linked_run" in i["reasons"][0] for i in linked)
    assert snapshot(outside) == before


def test_a_folder_swapped_for_a_link_after_planning_is_not_followed(
    tree: Path, outside: Path
) -> None:
    plan = plan_prune(str(tree), PruneOptions(keep_best=0, keep_last=0), use_cache=False)
    moved = outside / "checkpoints"
    shutil.move(tree / "min_run/checkpoints", moved)
    (tree / "min_run/checkpoints").symlink_to(moved, target_is_directory=True)
    before = snapshot(outside)
    report = execute_plan(plan)
    skipped = [r for r in report.results if r.checkpoint_path.startswith("min_run/")]
    assert skipped and all(r.outcome == "skipped" for r in skipped)
    assert "no longer a folder" in skipped[0].message
    assert snapshot(outside) == before


def test_symlink_loops_are_survived_and_kept(tree: Path) -> None:
    folder = tree / "plain_run/checkpoints"
    (folder / "a.ckpt").symlink_to("b.ckpt")
    (folder / "b.ckpt").symlink_to("a.ckpt")
    (tree / "plain_run/loop").symlink_to(tree, target_is_directory=True)
    done = prune_json(tree, *ALL, "--filter", "path:plain_run", "--yes")
    assert done["report"]["failed"] == 0
    assert (folder / "a.ckpt").is_symlink() and (folder / "b.ckpt").is_symlink()
    assert (tree / "plain_run/loop").is_symlink()


def test_a_sidecar_linked_out_of_root_loses_only_its_link(tree: Path, outside: Path) -> None:
    secret = outside / "secret.yaml"
    secret.write_text("do not delete\n")
    link = tree / "min_run/checkpoints/epoch=1-step=8.ckpt.metadata.yaml"
    link.symlink_to(secret)
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    report = execute_plan(plan)
    assert report.ok
    assert not os.path.lexists(link)
    assert secret.read_text() == "do not delete\n"


def test_a_folder_where_a_checkpoint_was_is_skipped(tree: Path) -> None:
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    target = tree / "min_run/checkpoints/epoch=1-step=8.ckpt"
    target.unlink()
    target.mkdir()
    (target / "inside.txt").write_text("x")
    report = execute_plan(plan)
    result = next(r for r in report.results if r.checkpoint_path.startswith("min_run/"))
    assert result.outcome == "skipped"
    assert (target / "inside.txt").read_text() == "x"


def test_names_with_newlines_and_escapes_are_deleted_and_shown_escaped(tree: Path) -> None:
    folder = tree / "restart_run/checkpoints"
    hostile = "epoch=0-step=1\n\x1b[31mred\x07.ckpt"
    shutil.copy(folder / "epoch=0-step=4.ckpt", folder / hostile)
    done = prune_cli(tree)
    assert done.returncode == 0
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "\\x1b[31mred" in done.stdout
    data = prune_json(tree, "--yes")
    assert "restart_run/checkpoints/" + hostile in {
        r["checkpoint_path"] for r in data["report"]["results"] if r["outcome"] == "deleted"
    }
    assert not os.path.lexists(folder / hostile)


def test_files_that_are_not_checkpoints_are_never_deleted(tree: Path) -> None:
    folder = tree / "plain_run/checkpoints"
    keep = {
        folder / "notes.txt": b"notes",
        folder / "hparams.yaml": b"lr: 1\n",
        folder / "events.out.tfevents.1": b"\0\1",
        folder / "epoch=0-step=4.ckpt.bak": b"backup",
    }
    for path, data in keep.items():
        path.write_bytes(data)
    os.mkfifo(folder / "fifo.ckpt")
    assert prune_cli(tree, *ALL, "--filter", "epoch>=0", "--yes").returncode == 0
    for path, data in keep.items():
        assert path.read_bytes() == data
    assert (folder / "fifo.ckpt").exists()
    # Every real checkpoint of plain_run was selected, and went.
    assert not list(folder.glob("epoch=*-step=*.ckpt"))


def _edit_plan(saved: Path, change: object) -> None:
    data = json.loads(saved.read_text())
    item = next(i for e in data["experiments"] for i in e["items"] if i["action"] == "delete")
    change(item)  # type: ignore[operator]
    saved.write_text(json.dumps(data))


def test_a_plan_file_naming_a_non_checkpoint_is_refused(tree: Path, tmp_path: Path) -> None:
    notes = tree / "min_run/checkpoints/notes.txt"
    notes.write_text("keep me")
    saved = tmp_path / "plan.json"
    assert prune_cli(tree, "--save-plan", saved).returncode == 0
    info = notes.stat()
    state = {"kind": "file", "size": info.st_size, "mtime_ns": info.st_mtime_ns,
             "ctime_ns": info.st_ctime_ns, "ino": info.st_ino, "dev": info.st_dev}  # fmt: skip

    def point_at_notes(item: dict[str, object]) -> None:
        item["checkpoint_path"] = "min_run/checkpoints/notes.txt"
        item["state"] = state
        item["sidecars"] = []

    _edit_plan(saved, point_at_notes)
    report = execute_plan(load_plan(str(saved)))
    assert any("not a checkpoint file name" in r.message for r in report.results)
    assert notes.read_text() == "keep me"


def test_a_plan_file_with_a_foreign_sidecar_is_refused(tree: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert prune_cli(tree, "--save-plan", saved).returncode == 0
    victim = tree / "max_run/checkpoints/epoch=3-step=16.metadata.yaml"
    info = victim.stat()
    state = {"kind": "file", "size": info.st_size, "mtime_ns": info.st_mtime_ns,
             "ctime_ns": info.st_ctime_ns, "ino": info.st_ino, "dev": info.st_dev}  # fmt: skip

    def add_sidecar(item: dict[str, object]) -> None:
        item["sidecars"] = [{"path": "max_run/checkpoints/epoch=3-step=16.metadata.yaml",
                             "state": state}]  # fmt: skip

    _edit_plan(saved, add_sidecar)
    report = execute_plan(load_plan(str(saved)))
    assert any("is not a sidecar of it" in r.message for r in report.results)
    assert victim.exists()


@pytest.mark.parametrize(
    "path", ["../escape.ckpt", "/etc/passwd.ckpt", "a/./b.ckpt", "a//b.ckpt", "", "x\0.ckpt"]
)
def test_a_plan_file_with_a_path_out_of_root_is_a_usage_error(
    tree: Path, tmp_path: Path, path: str
) -> None:
    saved = tmp_path / "plan.json"
    assert prune_cli(tree, "--save-plan", saved).returncode == 0
    _edit_plan(saved, lambda item: item.__setitem__("checkpoint_path", path))
    with pytest.raises(PlanError):
        load_plan(str(saved))
    done = prune_cli("--plan", saved, "--yes")
    assert done.returncode == 2
    assert "plain path" in done.stderr or "relative path" in done.stderr


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"format": "ckpt-tui prune plan", "version": 9}', "{}"]
)
def test_a_broken_plan_file_is_a_usage_error(tmp_path: Path, text: str) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text(text)
    done = prune_cli("--plan", saved, "--yes")
    assert done.returncode == 2 and done.stdout == ""


def test_a_hard_linked_checkpoint_reclaims_nothing(tree: Path, outside: Path) -> None:
    target = tree / "min_run/checkpoints/epoch=1-step=8.ckpt"
    os.link(target, outside / "other-name.ckpt")
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    item = next(i for i in plan.deleted if i.checkpoint_path.startswith("min_run/"))
    assert item.reclaimed_bytes == 0
    assert execute_plan(plan).ok
    assert (outside / "other-name.ckpt").exists()


def test_a_sidecar_shared_with_a_kept_checkpoint_stays(tree: Path) -> None:
    folder = tree / "min_run/checkpoints"
    # last.pt (kept: not selected) shares the stem sidecar last.metadata.yaml with last.ckpt.
    shutil.copy(folder / "last.ckpt", folder / "last.pt")
    (folder / "last.metadata.yaml").write_text("schema_version: '1.0'\n")
    options = PruneOptions(keep_best=0, keep_last=0, filter="path:last.ckpt")
    plan = plan_prune(str(tree), options, use_cache=False)
    item = next(i for i in plan.items if i.checkpoint_path == "min_run/checkpoints/last.ckpt")
    assert item.action == "delete" and item.sidecars == []
    assert execute_plan(plan).ok
    assert (folder / "last.metadata.yaml").exists() and (folder / "last.pt").exists()


def _read_only(folder: Path, on: bool) -> None:
    """Make ``folder`` refuse deletions (root ignores modes: the immutable attribute then)."""
    if not on and os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
    folder.chmod(0o555 if on else 0o755)
    if on and os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if done.returncode != 0:
            folder.chmod(0o755)
            pytest.skip("running as root without chattr: no way to make a folder read-only")


def test_a_read_only_folder_fails_cleanly(tree: Path) -> None:
    folder = tree / "min_run/checkpoints"
    before = snapshot(folder)
    _read_only(folder, True)
    try:
        done = prune_cli(tree, "--yes")
        assert done.returncode == 1
        assert "failed: min_run/checkpoints/epoch=1-step=8.ckpt — cannot delete" in done.stderr
        assert snapshot(folder) == before
        # The other experiments were pruned all the same.
        assert not (tree / "max_run/checkpoints/epoch=1-step=8.ckpt").exists()
    finally:
        _read_only(folder, False)


def test_a_checkpoint_swapped_for_a_link_after_planning_is_skipped(
    tree: Path, outside: Path
) -> None:
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    target = tree / "min_run/checkpoints/epoch=1-step=8.ckpt"
    shutil.move(target, outside / "moved.ckpt")
    target.symlink_to(outside / "moved.ckpt")
    report = execute_plan(plan)
    result = next(r for r in report.results if r.checkpoint_path.startswith("min_run/"))
    assert result.outcome == "skipped"
    assert target.is_symlink() and (outside / "moved.ckpt").exists()


def test_a_sidecar_that_is_a_folder_stays(tree: Path) -> None:
    odd = tree / "min_run/checkpoints/epoch=1-step=8.metadata.yaml"
    odd.mkdir()
    (odd / "inside").write_text("x")
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    item = next(i for i in plan.deleted if i.checkpoint_path.startswith("min_run/"))
    assert item.sidecars == []
    assert execute_plan(plan).ok
    assert (odd / "inside").read_text() == "x"
    assert not (tree / "min_run/checkpoints/epoch=1-step=8.ckpt").exists()


def test_a_dangling_link_is_kept(tree: Path) -> None:
    link = tree / "min_run/checkpoints/gone.ckpt"
    link.symlink_to("never-there.ckpt")
    done = prune_json(tree, *ALL, "--yes")
    assert done["report"]["failed"] == 0
    assert link.is_symlink()


def test_undecodable_names_survive_a_saved_plan_round_trip(tree: Path, tmp_path: Path) -> None:
    folder = tree / "restart_run/checkpoints"
    raw = os.fsencode(folder) + b"/epoch=0-step=1-\xff\xfe.ckpt"
    shutil.copy(folder / "epoch=0-step=4.ckpt", raw)
    saved = tmp_path / "plan.json"
    assert prune_cli(tree, "--save-plan", saved).returncode == 0
    name = os.fsdecode(raw).rpartition("/")[2]
    assert name in {i.file_name for i in load_plan(str(saved)).deleted}
    done = prune_json("--plan", saved, "--yes")
    assert done["report"]["failed"] == 0 and done["report"]["skipped"] == 0
    assert not os.path.lexists(raw)


def test_a_root_swapped_for_a_link_after_planning_is_refused(tree: Path, outside: Path) -> None:
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    moved = outside / "moved"
    shutil.move(tree, moved)
    tree.symlink_to(moved, target_is_directory=True)
    before = snapshot(moved)
    report = execute_plan(plan)
    assert report.results and all(r.outcome == "failed" for r in report.results)
    assert "reached through a link" in report.results[0].message
    assert snapshot(moved) == before
