"""Catalog entries as plain data: the round trip the cache relies on, and the type guard."""

from __future__ import annotations

import json
import math

import pytest

from ckpt_tui.model.entry import FIELD_NAMES, CheckpointCatalogEntry, Issue, checked_values


def full_entry() -> CheckpointCatalogEntry:
    return CheckpointCatalogEntry(
        checkpoint_path="run/checkpoints/epoch=3.ckpt",
        format="lightning",
        exp_name="run",
        architecture="dbnet",
        epoch=0,
        global_step=12,
        hmean=0.5,
        monitor="val/hmean",
        monitor_mode="max",
        monitor_value=0.5,
        size_bytes=10,
        source="sidecar",
        provenance={"epoch": "sidecar training.epoch"},
        issues=[Issue(severity="warning", code="x.y", message="careful")],
        additional_metrics={"val/loss": 0.25},
        save_last="link",
        details={"hyper_parameters": {"lr": 0.001}},
    )


def test_round_trip_through_json_keeps_every_field() -> None:
    entry = full_entry()
    data = json.loads(
        json.dumps({**entry.to_dict(exclude_defaults=True), "details": entry.details})
    )
    assert CheckpointCatalogEntry.from_dict(data) == entry


def test_to_json_is_the_contract_order_with_display_name() -> None:
    data = full_entry().to_json()
    assert list(data)[:5] == ["checkpoint_path", "file_name", "format", "exp_name", "display_name"]
    assert data["file_name"] == data["checkpoint_path"].rpartition("/")[2]
    assert data["issues"] == [{"severity": "warning", "code": "x.y", "message": "careful"}]


@pytest.mark.parametrize(
    ("field", "value"),
    [("epoch", "3"), ("epoch", 3.5), ("hmean", "0.5"), ("source", "guess"),
     ("monitor_mode", "up"), ("provenance", {"epoch": 3}), ("exp_name", None), ("nope", 1),
     ("format", "pickle"), ("format", None)],
)  # fmt: skip
def test_wrong_types_are_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises((TypeError, ValueError), match=field):
        CheckpointCatalogEntry.from_dict({"checkpoint_path": "a.ckpt", field: value})


def test_ints_widen_to_float_and_non_finite_floats_are_unknown() -> None:
    values = checked_values({"hmean": 1, "monitor_value": math.nan, "validation_loss": math.inf})
    assert values == {"hmean": 1.0, "monitor_value": None, "validation_loss": None}
    assert type(values["hmean"]) is float


def test_bool_is_not_an_int_and_issue_severity_is_checked() -> None:
    with pytest.raises(TypeError, match="epoch"):
        checked_values({"epoch": True})
    with pytest.raises(ValueError, match="severity"):
        Issue(severity="fatal", code="c", message="m")  # type: ignore[arg-type]


def test_from_row_is_positional_and_still_checks_types() -> None:
    entry = full_entry()
    row = [getattr(entry, name) for name in FIELD_NAMES]
    assert CheckpointCatalogEntry.from_row(list(row)) == entry
    row[FIELD_NAMES.index("hmean")] = 1  # an int where a float is due: widened
    assert CheckpointCatalogEntry.from_row(list(row)).hmean == 1.0
    row[FIELD_NAMES.index("epoch")] = "3"
    with pytest.raises(TypeError, match="epoch"):
        CheckpointCatalogEntry.from_row(list(row))
    with pytest.raises(ValueError):
        CheckpointCatalogEntry.from_row(row[:-1])  # a field short
