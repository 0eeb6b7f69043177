"""The prune rules on entries alone (no files): rankings, recency, ties, unknown values."""

from __future__ import annotations

from typing import Any

import pytest

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.prune.rules import RankingError, check_by, decide, ranking_for, recency_order


def entry(name: str, **values: Any) -> CheckpointCatalogEntry:
    return CheckpointCatalogEntry(checkpoint_path=f"run/checkpoints/{name}", **values)


def kept(decisions: list[Any]) -> set[str]:
    return {d.entry.file_name for d in decisions if d.keep}


def test_numbers_are_compared_as_numbers_not_text() -> None:
    # "checkpoint-10000" sorts before "checkpoint-9" as text: the step decides here.
    entries = [entry(f"checkpoint-{s}.pt", global_step=s, hmean=0.5) for s in (9, 10000, 500)]
    assert [e.global_step for e in recency_order(entries)] == [10000, 500, 9]
    _, decisions = decide(entries, keep_best=0, keep_last=1)
    # Equal values: the more recent is the experiment's best too.
    assert kept(decisions) == {"checkpoint-10000.pt"}


def test_a_step_known_only_to_some_is_not_used() -> None:
    entries = [
        entry("a.ckpt", global_step=100, epoch=1, mtime=10.0, hmean=0.1),
        entry("b.ckpt", global_step=None, epoch=9, mtime=20.0, hmean=0.2),
    ]
    assert [e.file_name for e in recency_order(entries)] == ["b.ckpt", "a.ckpt"]


def test_the_monitor_mode_decides_the_best() -> None:
    entries = [
        entry(
            f"e{i}.ckpt",
            epoch=i,
            global_step=i,
            monitor="val/loss",
            monitor_mode="min",
            monitor_value=v,
        )
        for i, v in enumerate((0.5, 0.2, 0.3))
    ]
    ranking = ranking_for(None, entries)
    assert (ranking.label, ranking.mode) == ("val/loss", "min")
    _, decisions = decide(entries, keep_best=1, keep_last=0)
    assert kept(decisions) == {"e1.ckpt"}


def test_without_a_monitor_hmean_ranks_and_unknown_values_stay() -> None:
    entries = [
        entry("a.ckpt", epoch=0, hmean=0.9),
        entry("b.ckpt", epoch=1),
        entry("c.ckpt", epoch=2, hmean=0.1),
        entry("d.ckpt", epoch=3, hmean=0.2),
    ]
    ranking, decisions = decide(entries, keep_best=1, keep_last=1)
    assert ranking.label == "hmean"
    assert kept(decisions) == {"a.ckpt", "b.ckpt", "d.ckpt"}
    why = {d.entry.file_name: d.reasons for d in decisions}
    assert why["b.ckpt"] == ["ranking value unknown (hmean)"]
    assert why["c.ckpt"] == ["older than the last 1", "not among the 1 best by hmean"]


@pytest.mark.parametrize(
    ("by", "label", "mode"),
    [
        ("epoch", "epoch", "max"),
        ("ep", "epoch", "max"),
        ("global_step", "step", "max"),
        ("validation_loss", "val_loss", "min"),
        ("val/loss", "val/loss", "min"),
        ("val/acc", "val/acc", "max"),
        ("val/acc:min", "val/acc", "min"),
        ("value", "val/hmean", "max"),
    ],
)
def test_by_names_fields_metrics_and_modes(by: str, label: str, mode: str) -> None:
    entries = [entry("a.ckpt", monitor="val/hmean", monitor_mode="max", monitor_value=0.5)]
    ranking = ranking_for(by, entries)
    assert (ranking.label, ranking.mode) == (label, mode)


def test_by_an_additional_metric() -> None:
    entries = [entry(f"{n}.ckpt", epoch=i, additional_metrics={"val/acc": v})
               for i, (n, v) in enumerate((("a", 0.9), ("b", 0.1), ("c", 0.5)))]  # fmt: skip
    _, decisions = decide(entries, keep_best=1, keep_last=0, by="val/acc")
    assert kept(decisions) == {"a.ckpt"}


def test_a_bad_by_is_refused() -> None:
    with pytest.raises(RankingError):
        check_by("two words")
