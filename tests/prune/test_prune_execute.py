"""``--yes`` deletes exactly the plan and its sidecars; changed files survive; twice is once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from prune_helpers import files_under, prune_cli, prune_json

from ckpt_tui.prune.build import plan_prune
from ckpt_tui.prune.execute import execute_plan
from ckpt_tui.prune.plan import PruneOptions


def test_yes_deletes_exactly_the_plan_and_the_sidecars(tree: Path) -> None:
    before = files_under(tree)
    planned = prune_json(tree)
    done = prune_cli(tree, "--yes")
    assert done.returncode == 0, done.stderr
    gone = before - files_under(tree)
    expected = set()
    for experiment in planned["experiments"]:
        for item in experiment["items"]:
            if item["action"] == "delete":
                expected.add(item["checkpoint_path"])
                expected.update(sidecar["path"] for sidecar in item["sidecars"])
    assert gone == expected
    assert "max_run/checkpoints/epoch=1-step=8.metadata.yaml" in gone
    assert "deleted 6 checkpoints" in done.stdout


def test_both_sidecar_names_go_with_their_checkpoint(tree: Path) -> None:
    folder = tree / "max_run" / "checkpoints"
    (folder / "epoch=1-step=8.ckpt.metadata.yaml").write_text("schema_version: '1.0'\n")
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    report = execute_plan(plan)
    assert report.ok
    assert not (folder / "epoch=1-step=8.metadata.yaml").exists()
    assert not (folder / "epoch=1-step=8.ckpt.metadata.yaml").exists()
    # The sidecars of what stays, stay.
    assert (folder / "epoch=3-step=16.metadata.yaml").exists()
    assert (folder / "last.metadata.yaml").exists()


def test_running_twice_deletes_nothing_more(tree: Path) -> None:
    assert prune_cli(tree, "--yes").returncode == 0
    after_first = files_under(tree)
    second = prune_json(tree, "--yes")
    assert second["report"]["deleted"] == 0 and second["plan"]["delete_count"] == 0
    assert files_under(tree) == after_first


def test_without_yes_nothing_changes(tree: Path) -> None:
    before = files_under(tree)
    done = prune_cli(tree, "--keep-best", "0", "--keep-last", "0")
    assert done.returncode == 0
    assert "nothing deleted: run again with --yes to delete" in done.stdout
    assert files_under(tree) == before


def test_a_file_changed_after_planning_survives(tree: Path) -> None:
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    target = tree / "min_run" / "checkpoints" / "epoch=1-step=8.ckpt"
    stat = target.stat()
    # Same size and mtime, other bytes: only the ctime tells.
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = execute_plan(plan)
    result = next(r for r in report.results if r.checkpoint_path.startswith("min_run/"))
    assert result.outcome == "skipped" and "changed since planning" in result.message
    assert target.read_bytes() == bytes(data)
    assert not report.ok and report.count("deleted") == 5


def test_a_file_replaced_after_planning_survives(tree: Path) -> None:
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    target = tree / "min_run" / "checkpoints" / "epoch=1-step=8.ckpt"
    stat = target.stat()
    replacement = target.with_name("replacement.tmp")
    replacement.write_bytes(target.read_bytes())
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replacement, target)  # another inode, same size and mtime
    report = execute_plan(plan)
    assert target.exists()
    assert any(r.outcome == "skipped" for r in report.results)


def test_a_sidecar_changed_after_planning_keeps_the_item(tree: Path) -> None:
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    ckpt = tree / "max_run" / "checkpoints" / "epoch=1-step=8.ckpt"
    sidecar = ckpt.with_name("epoch=1-step=8.metadata.yaml")
    sidecar.write_text(sidecar.read_text() + "# edited\n")
    report = execute_plan(plan)
    assert ckpt.exists() and sidecar.exists()
    result = next(r for r in report.results if r.checkpoint_path.startswith("max_run/"))
    assert "sidecar" in result.message


def test_a_sidecar_that_appeared_after_planning_keeps_the_item(tree: Path) -> None:
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    ckpt = tree / "min_run" / "checkpoints" / "epoch=1-step=8.ckpt"
    ckpt.with_name("epoch=1-step=8.metadata.yaml").write_text("schema_version: '1.0'\n")
    report = execute_plan(plan)
    assert ckpt.exists()
    assert any("appeared" in r.message for r in report.results)


def test_a_saved_plan_runs_later_and_refuses_what_changed(tree: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    done = prune_cli(tree, "--save-plan", saved)
    assert done.returncode == 0 and saved.exists()
    changed = tree / "min_run" / "checkpoints" / "epoch=1-step=8.ckpt"
    changed.write_bytes(changed.read_bytes() + b"\0")
    result = prune_json("--plan", saved, "--yes")
    outcomes = {r["checkpoint_path"]: r["outcome"] for r in result["report"]["results"]}
    assert outcomes.pop("min_run/checkpoints/epoch=1-step=8.ckpt") == "skipped"
    assert set(outcomes.values()) == {"deleted"} and len(outcomes) == 5
    assert changed.exists()
    again = prune_json("--plan", saved, "--yes")  # run twice: what went is gone, the rest stays
    assert again["report"]["gone"] == 5 and again["report"]["skipped"] == 1
    assert changed.exists()


def test_a_saved_plan_does_not_delete_what_a_fresh_plan_keeps(tree: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert prune_cli(tree, "--save-plan", saved).returncode == 0
    # A link made since planning now points at a planned file: it must stay.
    folder = tree / "min_run" / "checkpoints"
    (folder / "best.ckpt").symlink_to("epoch=1-step=8.ckpt")
    result = prune_json("--plan", saved, "--yes")
    item = next(
        r for r in result["report"]["results"] if r["checkpoint_path"].startswith("min_run/")
    )
    assert item["outcome"] == "skipped" and "link target of best.ckpt" in item["message"]
    assert (folder / "epoch=1-step=8.ckpt").exists()


def test_a_cancelled_run_leaves_every_remaining_file_intact(tree: Path) -> None:
    plan = plan_prune(str(tree), PruneOptions(), use_cache=False)
    cancel = threading.Event()
    before = files_under(tree)

    def stop_after_first(done: int, total: int, _result: object) -> None:
        cancel.set()

    report = execute_plan(plan, cancel=cancel, on_item=stop_after_first)
    assert report.cancelled and len(report.results) == 1
    first = plan.deleted[0]
    removed = {first.checkpoint_path, *(s.path for s in first.sidecars)}
    assert before - files_under(tree) == removed
    for item in plan.deleted[1:]:
        assert (tree / item.checkpoint_path).read_bytes()


def test_a_killed_run_leaves_every_remaining_file_intact(trained: Path, tmp_path: Path) -> None:
    import hashlib
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "outputs"
    folder = root / "big_run" / "checkpoints"
    folder.mkdir(parents=True)
    source = (trained / "restart_run/checkpoints/epoch=0-step=4.ckpt").read_bytes()
    for index in range(300):
        (folder / f"epoch={index}-step={index}.ckpt").write_bytes(source)
        (folder / f"epoch={index}-step={index}.metadata.yaml").write_text(f"# {index}\n")
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ckpt_tui", "prune", str(root), "--yes", "--no-cache"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(list(folder.iterdir())) == len(digest) and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)  # mid-run (or just after, on a fast machine)
    proc.wait(timeout=60)
    left = set(folder.iterdir())
    assert len(left) < len(digest)
    for path in left:  # whatever is left is whole
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest[path]
    for path in left:  # never a checkpoint without its sidecar
        if path.suffix == ".ckpt":
            assert path.with_suffix(".metadata.yaml") in left
