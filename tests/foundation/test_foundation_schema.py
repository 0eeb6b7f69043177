"""The sidecar schema, its constraints and the display string."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_sidecar import REFERENCE_YAML

from ckpt_tui.io.safe_yaml import parse_yaml
from ckpt_tui.model.entry import CheckpointCatalog, CheckpointCatalogEntry
from ckpt_tui.model.schema import CheckpointMetadataV1, known
from ckpt_tui.sidecar.files import parse_metadata


def reference_data() -> dict[str, Any]:
    data = parse_yaml(REFERENCE_YAML)
    assert isinstance(data, dict)
    return data


def test_reference_example_validates_with_every_field() -> None:
    metadata = CheckpointMetadataV1.model_validate(reference_data())
    assert metadata.training.epoch == 10
    assert metadata.model.encoder.model_name == "resnet50"
    assert metadata.model.decoder.in_channels == [256, 512, 1024, 2048]
    assert metadata.metrics.hmean == pytest.approx(0.843)
    assert metadata.checkpointing.save_top_k == 3


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("training", "epoch"), -1, "training.epoch"),
        (("training", "global_step"), -5, "training.global_step"),
        (("training", "max_epochs"), 0, "training.max_epochs"),
        (("metrics", "hmean"), 1.5, "metrics.hmean"),
        (("metrics", "precision"), -0.1, "metrics.precision"),
        (("metrics", "validation_loss"), -1.0, "metrics.validation_loss"),
        (("checkpointing", "mode"), "best", "checkpointing.mode"),
        (("checkpointing", "save_top_k"), -2, "checkpointing.save_top_k"),
        (("created_at",), "yesterday", "created_at"),
        (("training", "epoch"), "ten", "training.epoch"),
        (("model", "encoder"), "resnet50", "model.encoder"),
    ],
)
def test_constraint_violations_name_the_field(
    path: tuple[str, ...], value: Any, field: str
) -> None:
    data = reference_data()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    metadata, issues = parse_metadata(data, source="x.metadata.yaml")
    assert metadata is None
    assert any(field in issue.message and issue.severity == "error" for issue in issues), issues


def test_epoch_zero_is_valid() -> None:
    data = reference_data()
    data["training"]["epoch"] = 0
    metadata, issues = parse_metadata(data, source="x")
    assert metadata is not None and metadata.training.epoch == 0
    assert issues == []


def test_other_schema_version_warns_but_loads() -> None:
    data = reference_data()
    data["schema_version"] = "2.0"
    metadata, issues = parse_metadata(data, source="x")
    assert metadata is not None
    assert [issue.severity for issue in issues] == ["warning"]
    assert "schema_version" in issues[0].message


def test_known_maps_placeholders_to_none() -> None:
    assert known("unknown") is None
    assert known("Unknown ") is None
    assert known("") is None
    assert known("resnet50") == "resnet50"
    assert known(0) == 0


def entry(**fields: Any) -> CheckpointCatalogEntry:
    return CheckpointCatalogEntry(checkpoint_path="a/b.ckpt", **fields)


def test_display_option_matches_the_reference() -> None:
    text = entry(
        architecture="dbnet",
        backbone="resnet50",
        exp_name="exp_name",
        epoch=10,
        hmean=0.843,
        precision=0.854,
        recall=0.832,
        created_at="2025-10-18T14:32:15",
    ).to_display_option()
    expected = "dbnet · resnet50 · exp_name (ep10 • hmean 0.843 • prec 0.854 • rec 0.832 • "
    assert text == expected + "20251018_1432)"


def test_display_option_truncates_long_names_and_skips_repeats_and_unknowns() -> None:
    long_name = "dbnet-resnet50-pan-20251018-long"
    assert entry(exp_name=long_name).to_display_option() == long_name[:20] + "..."
    assert entry(exp_name="x" * 23).to_display_option() == "x" * 23
    assert (
        entry(architecture="dbnet", exp_name="dbnet", epoch=0).to_display_option() == "dbnet (ep0)"
    )
    assert entry(backbone="resnet18", exp_name="ResNet18").to_display_option() == "resnet18"


def test_entry_json_has_exactly_the_contract_fields_in_order() -> None:
    data = entry(architecture="dbnet", abs_path="/x/a/b.ckpt", decoder="pan").to_json()
    assert list(data) == [
        "checkpoint_path", "file_name", "format", "exp_name", "display_name", "architecture",
        "backbone", "epoch",
        "global_step", "hmean", "precision", "recall", "monitor", "monitor_mode", "monitor_value",
        "created_at", "size_bytes", "source", "sidecar_path", "config_path", "safety",
        "unsafe_globals", "provenance", "issues",
    ]  # fmt: skip
    assert data["epoch"] is None and data["architecture"] == "dbnet"
    # Not read yet is "unchecked", never a guess of "safe".
    assert data["safety"] == "unchecked" and data["unsafe_globals"] == []
    # What wrote it is "unknown" until the file is read (a closed set, not a placeholder).
    assert data["format"] == "unknown"


def test_catalog_counts_coverage() -> None:
    catalog = CheckpointCatalog(
        root="/r", entries=[entry(source="sidecar"), entry(source="path"), entry(source="config")]
    )
    assert catalog.total_count == 3
    assert catalog.metadata_available_count == 1
    assert catalog.metadata_coverage_percent == pytest.approx(100 / 3)
    assert CheckpointCatalog(root="/r").metadata_coverage_percent == 0.0


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
fractions = st.none() | st.floats(min_value=0.0, max_value=1.0)
metadata_strategy = st.builds(
    CheckpointMetadataV1,
    checkpoint_path=names,
    exp_name=names,
    created_at=st.datetimes().map(lambda moment: moment.isoformat()),
    training=st.fixed_dictionaries(
        {
            "epoch": st.integers(0, 10**6),
            "global_step": st.integers(0, 10**9),
            "training_phase": st.sampled_from(["training", "validation", "finetuning"]),
            "max_epochs": st.none() | st.integers(1, 10**4),
        }
    ),
    model=st.fixed_dictionaries(
        {
            "architecture": names,
            "encoder": st.fixed_dictionaries(
                {"model_name": names, "pretrained": st.booleans(), "frozen": st.booleans()}
            ),
            "decoder": st.fixed_dictionaries(
                {"name": st.none() | names, "in_channels": st.lists(st.integers(1, 4096))}
            ),
        }
    ),
    metrics=st.fixed_dictionaries(
        {
            "precision": fractions,
            "recall": fractions,
            "hmean": fractions,
            "validation_loss": st.none() | st.floats(min_value=0.0, max_value=1e6),
            "additional_metrics": st.dictionaries(names, st.floats(-1e6, 1e6), max_size=3),
        }
    ),
    checkpointing=st.fixed_dictionaries(
        {
            "monitor": st.none() | names,
            "mode": st.sampled_from(["min", "max"]),
            "save_top_k": st.integers(-1, 100),
            "save_last": st.none() | st.booleans() | st.just("link"),
        }
    ),
    hydra_config_path=st.none() | names,
    wandb_run_id=st.none() | names,
)


@settings(max_examples=150, deadline=None)
@given(metadata_strategy)
def test_random_valid_metadata_round_trips_through_yaml(metadata: CheckpointMetadataV1) -> None:
    from ckpt_tui.io.safe_yaml import dump_yaml

    again, issues = parse_metadata(parse_yaml(dump_yaml(metadata.to_yaml_dict())), source="x")
    assert issues == []
    assert again == metadata
