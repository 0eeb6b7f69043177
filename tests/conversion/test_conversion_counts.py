"""The one count model: every candidate is in exactly one state, before a run and after it."""

from __future__ import annotations

from pathlib import Path

from conversion_helpers import write_planned

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.convert.counts import count_conversion, reason_kind
from ckpt_tui.convert.plan import plan_conversion
from ckpt_tui.sidecar.files import sidecar_path_for


def test_states_add_up_before_and_after_a_run(legacy_tree: Path) -> None:
    entries = build_catalog(legacy_tree, use_cache=False).entries
    with_sidecar = next(e for e in entries if e.checkpoint_path.endswith("epoch=0-step=0.ckpt"))
    sidecar_path_for(Path(with_sidecar.abs_path)).write_text("exp_name: theirs\n")
    plan = plan_conversion(entries)
    actions = {Path(i.checkpoint).name: i.action for i in plan.items}
    assert actions == {
        "best-hmean-0.8920.ckpt": "write", "epoch=0-step=0.ckpt": "skip",
        "epoch=4-step=420.ckpt": "write", "epoch=9-step=930.ckpt": "write",
        "zero.ckpt": "impossible",
    }  # fmt: skip
    names = [Path(i.checkpoint).name for i in plan.items]
    chosen = [names.index("epoch=4-step=420.ckpt"), names.index("epoch=9-step=930.ckpt")]
    before = count_conversion(plan.items, chosen)
    assert (before.candidates, before.selectable, before.selected) == (5, 3, 2)
    assert before.states == {"write": 2, "not selected": 1, "skip": 1, "can't convert": 1}
    assert before.reasons == {
        "skip": {"sidecar exists": 1}, "can't convert": {"file is empty (0 bytes)": 1},
    }  # fmt: skip

    # Between the plan and the run, a sidecar appears for one of the chosen.
    sidecar_path_for(plan.items[chosen[1]].checkpoint).write_text("exp_name: theirs\n")
    run = write_planned(type(plan)([plan.items[i] for i in chosen]))
    results = {chosen[r.index]: r for r in run.reports}
    after = count_conversion(plan.items, chosen, results, ran=True)
    assert after.states == {
        "written": 1, "skipped": 1, "not selected": 1, "skip": 1, "can't convert": 1,
    }  # fmt: skip
    assert after.reasons["skipped"] == {"a sidecar appeared": 1}
    assert sum(after.states.values()) == after.candidates == 5

    cancelled = count_conversion(plan.items, chosen, {}, ran=True)
    assert cancelled.states["not run"] == 2


def test_reason_kinds_drop_the_particulars() -> None:
    assert reason_kind("sidecar exists: epoch=4.metadata.yaml") == "sidecar exists"
    assert reason_kind("outside ROOT through a link") == "outside ROOT through a link"
    assert len(reason_kind("x" * 300)) == 48
