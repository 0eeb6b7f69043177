"""The plan on real Lightning trees keeps exactly what the rules say, and changes nothing."""

from __future__ import annotations

from pathlib import Path

from prune_helpers import files_under

from ckpt_tui.prune.build import plan_prune
from ckpt_tui.prune.plan import PruneOptions, PrunePlan
from ckpt_tui.sources.path import run_folder

RESTART_DELETED = {
    "restart_run/checkpoints/epoch=0-step=4.ckpt",
    "restart_run/checkpoints/epoch=1-step=8.ckpt",
    "restart_run/checkpoints/epoch=2-step=12.ckpt",
    "restart_run/checkpoints/epoch=0-step=4-v1.ckpt",
}


def deleted(plan: PrunePlan) -> set[str]:
    return {item.checkpoint_path for item in plan.deleted}


def reasons(plan: PrunePlan, path: str) -> list[str]:
    return next(item.reasons for item in plan.items if item.checkpoint_path == path)


def test_default_plan_deletes_exactly_what_no_rule_keeps(trained: Path) -> None:
    before = files_under(trained)
    plan = plan_prune(str(trained), PruneOptions())
    assert deleted(plan) == {
        "max_run/checkpoints/epoch=1-step=8.ckpt",
        "min_run/checkpoints/epoch=1-step=8.ckpt",
        *RESTART_DELETED,
    }
    assert files_under(trained) == before  # planning changes nothing


def test_max_monitor_keeps_its_best_the_link_target_and_the_link(trained: Path) -> None:
    plan = plan_prune(str(trained), PruneOptions())
    run = next(e for e in plan.experiments if e.run == "max_run")
    assert (run.ranking, run.mode) == ("val/hmean", "max")
    best = reasons(plan, "max_run/checkpoints/epoch=3-step=16.ckpt")
    assert "best by val/hmean" in best
    target = reasons(plan, "max_run/checkpoints/epoch=4-step=20.ckpt")
    assert "link target of last.ckpt" in target and "the most recent" in target
    assert reasons(plan, "max_run/checkpoints/last.ckpt") == ["a link: deleting it frees nothing"]
    gone = reasons(plan, "max_run/checkpoints/epoch=1-step=8.ckpt")
    assert gone == ["older than the last 1", "not among the 1 best by val/hmean"]


def test_min_monitor_ranks_the_smallest_loss_first(trained: Path) -> None:
    plan = plan_prune(str(trained), PruneOptions(keep_best=1, keep_last=0))
    run = next(e for e in plan.experiments if e.run == "min_run")
    assert (run.ranking, run.mode) == ("val/loss", "min")
    values = {item.file_name: item.value for item in run.items}
    assert values["epoch=3-step=16.ckpt"] == 0.2 and values["epoch=1-step=8.ckpt"] == 0.3
    assert [item.file_name for item in run.deleted] == ["epoch=1-step=8.ckpt"]


def test_restarts_rank_by_step_then_epoch_then_mtime(trained: Path) -> None:
    plan = plan_prune(str(trained), PruneOptions())
    kept = {i.file_name for e in plan.experiments if e.run == "restart_run" for i in e.kept}
    # Both fits reached the same steps; the second fit's files are the newer ones.
    assert kept == {"epoch=2-step=12-v1.ckpt", "epoch=1-step=8-v1.ckpt"}
    assert "the most recent" in reasons(plan, "restart_run/checkpoints/epoch=2-step=12-v1.ckpt")


def test_a_run_without_metrics_is_kept_whole(trained: Path) -> None:
    plan = plan_prune(str(trained), PruneOptions(keep_best=0, keep_last=0))
    run = next(e for e in plan.experiments if e.run == "plain_run")
    assert not run.deleted
    assert all("ranking value unknown (hmean)" in item.reasons for item in run.items)


def test_a_filter_selects_unknown_values_explicitly(trained: Path) -> None:
    options = PruneOptions(keep_best=0, keep_last=0, filter="epoch<2")
    plan = plan_prune(str(trained), options)
    assert {i.file_name for e in plan.experiments if e.run == "plain_run" for i in e.deleted} == {
        "epoch=0-step=4.ckpt",
        "epoch=1-step=8.ckpt",
    }
    # What the filter does not select stays, whatever the other rules say.
    assert "not selected by the filter" in reasons(
        plan, "plain_run/checkpoints/epoch=2-step=12.ckpt"
    )


def test_a_checkpoint_named_best_by_a_kept_newer_one_stays(trained: Path) -> None:
    # min_run's last.ckpt ties with the best and is newer: only its best_model_path keeps the
    # file it names.
    plan = plan_prune(str(trained), PruneOptions())
    assert reasons(plan, "min_run/checkpoints/epoch=3-step=16.ckpt") == [
        "best_model_path of last.ckpt"
    ]
    plan = plan_prune(str(trained), PruneOptions(keep_best=1, keep_last=0, by="epoch"))
    kept = reasons(plan, "restart_run/checkpoints/epoch=1-step=8-v1.ckpt")
    assert "best_model_path of epoch=2-step=12-v1.ckpt" in kept
    # The experiment's best (by its monitor) stays whatever --by says.
    assert "the experiment's best by val/hmean" in kept


def test_a_deleted_checkpoint_protects_nothing(trained: Path) -> None:
    # epoch=2-step=12.ckpt (first fit) names epoch=1-step=8.ckpt, but it goes itself: counting
    # its word would make a second run delete more than the first.
    plan = plan_prune(str(trained), PruneOptions())
    assert "restart_run/checkpoints/epoch=1-step=8.ckpt" in deleted(plan)


def test_keep_counts_widen_what_stays(trained: Path) -> None:
    plan = plan_prune(str(trained), PruneOptions(keep_best=3, keep_last=3))
    assert deleted(plan) == {
        "restart_run/checkpoints/epoch=0-step=4.ckpt",
        "restart_run/checkpoints/epoch=0-step=4-v1.ckpt",
    }
    assert "among the 3 best by val/hmean" in reasons(
        plan, "restart_run/checkpoints/epoch=1-step=8.ckpt"
    )
    assert "among the last 3" in reasons(plan, "restart_run/checkpoints/epoch=2-step=12.ckpt")


def test_by_an_explicit_mode(trained: Path) -> None:
    plan = plan_prune(str(trained), PruneOptions(keep_best=1, keep_last=0, by="val/hmean:min"))
    run = next(e for e in plan.experiments if e.run == "max_run")
    assert run.mode == "min"
    assert "best by val/hmean" in reasons(plan, "max_run/checkpoints/epoch=4-step=20.ckpt")


def test_reclaimable_bytes_are_the_deleted_files_and_sidecars(trained: Path) -> None:
    plan = plan_prune(str(trained), PruneOptions())
    item = next(i for i in plan.deleted if i.checkpoint_path.startswith("max_run/"))
    ckpt = trained / item.checkpoint_path
    sidecar = ckpt.with_name("epoch=1-step=8.metadata.yaml")
    assert [s.path for s in item.sidecars] == ["max_run/checkpoints/epoch=1-step=8.metadata.yaml"]
    assert item.reclaimed_bytes == ckpt.stat().st_size + sidecar.stat().st_size
    assert plan.reclaimable_bytes == sum(i.reclaimed_bytes for i in plan.deleted)


def test_the_plan_round_trips_through_json(trained: Path) -> None:
    import json

    plan = plan_prune(str(trained), PruneOptions(filter="tiny"))
    again = PrunePlan.from_json(json.loads(json.dumps(plan.to_json())))
    assert again.to_json() == plan.to_json()


def test_run_folders() -> None:
    assert run_folder("a/b/checkpoints/x.ckpt") == "a/b"
    assert run_folder("a/b/x.ckpt") == "a/b"
    assert run_folder("x.ckpt") == ""
    assert run_folder("out/checkpoint-500") == "out"
