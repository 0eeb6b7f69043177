"""``ckpt-tui prune`` as scripts use it: the text plan, JSON alone on stdout, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prune_helpers import files_under, prune_cli


def test_the_text_plan_names_each_experiment_its_rows_and_the_total(trained: Path) -> None:
    done = prune_cli(trained)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("max_run (tiny) — by val/hmean (max): 1 to delete, 3 kept, ")
    assert (
        "  delete epoch=1-step=8.ckpt [0.7] — older than the last 1; not among the 1 best by "
        "val/hmean" in lines
    )
    assert lines[-2].startswith("6 checkpoints to delete, 10 kept, ")
    assert "plain_run" not in done.stdout  # nothing goes there: shown only with -v
    assert "plain_run (tiny) — by hmean (max): 0 to delete" in prune_cli(trained, "-v").stdout


def test_json_is_alone_on_stdout_and_complete(trained: Path) -> None:
    done = prune_cli(trained, "--json")
    assert done.returncode == 0 and done.stderr == ""
    plan = json.loads(done.stdout)
    assert plan["format"] == "ckpt-tui prune plan" and plan["delete_count"] == 6
    assert plan["options"] == {"keep_best": 1, "keep_last": 1, "by": None, "filter": None}
    assert plan["reclaimable_bytes"] == sum(e["reclaimable_bytes"] for e in plan["experiments"])
    item = plan["experiments"][0]["items"][0]
    assert set(item) == {
        "checkpoint_path", "action", "reasons", "kind", "size_bytes", "reclaimed_bytes", "value",
        "epoch", "global_step", "state", "sidecars", "members",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--filter", "hmean>"), "no value after"),
        (("--keep-best", "-1"), "must be 0 or more"),
        (("--by", "two words"), "--by"),
        (("--plan", "/nonexistent/plan.json"), "cannot read the plan"),
    ],
)
def test_usage_errors_exit_2_and_change_nothing(
    tree: Path, args: tuple[str, ...], message: str
) -> None:
    before = files_under(tree)
    done = prune_cli(tree, *args, "--yes")
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""
    assert files_under(tree) == before


def test_a_root_that_is_not_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = prune_cli(tmp_path / "missing")
    assert done.returncode == 2 and "no such folder" in done.stderr


def test_a_saved_plan_for_another_root_is_refused(tree: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert prune_cli(tree, "--save-plan", saved).returncode == 0
    done = prune_cli(tmp_path, "--plan", saved, "--yes")
    assert done.returncode == 2 and "not the root the plan was made for" in done.stderr


def test_the_command_is_listed_in_the_help() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "--help"], capture_output=True, text=True
    )
    assert "prune" in done.stdout


def test_a_terminal_gets_a_progress_bar_and_a_pipe_does_not(tree: Path) -> None:
    from terminal_run import run_on_terminal

    code, output = run_on_terminal("prune", str(tree), "--yes", columns=100)
    assert code == 0
    assert b"deleting" in output and b"deleted 6 checkpoints" in output
    piped = prune_cli(tree, "--yes")  # nothing left: and no bar on a pipe
    assert "deleting" not in piped.stdout + piped.stderr
