"""The schema's fast path agrees with pydantic: whatever it accepts, pydantic accepts identically.

``fast_validate`` may say "not sure" (``None``) as often as it likes, but when it answers, its
answer must be exactly ``CheckpointMetadataV1.model_validate(data).to_yaml_dict()`` — same keys,
same order, same types. And it must answer for the plain sidecars that writers produce, or it
would be no fast path at all.
"""

from __future__ import annotations

import copy
import math
from datetime import date, datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from reference_sidecar import REFERENCE_YAML

from ckpt_tui.io.safe_yaml import dump_yaml, parse_yaml
from ckpt_tui.model.schema import (
    CheckpointingConfig,
    CheckpointMetadataV1,
    DecoderInfo,
    EncoderInfo,
    HeadInfo,
    LossInfo,
    MetricsInfo,
    ModelInfo,
    TrainingInfo,
)
from ckpt_tui.sidecar import schema_fast
from ckpt_tui.sidecar.schema_fast import fast_sidecar, fast_validate

REJECTED = "rejected by pydantic"


def pydantic_answer(data: Any) -> Any:
    try:
        return CheckpointMetadataV1.model_validate(data).to_yaml_dict()
    except ValidationError:
        return REJECTED


def assert_agrees(data: Any) -> dict[str, Any] | None:
    """The fast answer, after checking it against pydantic (repr: order and int/float too)."""
    before = copy.deepcopy(data)
    fast = fast_validate(data)
    assert data == before, "fast_validate changed its input"
    if fast is not None:
        assert repr(fast) == repr(pydantic_answer(data)), data
    return fast


def reference() -> dict[str, Any]:
    data = parse_yaml(REFERENCE_YAML)
    assert isinstance(data, dict)
    return data


MINIMAL: dict[str, Any] = {
    "checkpoint_path": "outputs/run/checkpoints/epoch=0-step=0.ckpt",
    "exp_name": "run",
    "created_at": "2025-10-18T14:32:15Z",
    "training": {"epoch": 0, "global_step": 0},
    "model": {"architecture": "dbnet", "encoder": {"model_name": "resnet18"}},
    "metrics": {},
}


def test_tables_mirror_the_models_field_for_field_in_order() -> None:
    pairs: list[tuple[type[BaseModel], list[schema_fast.Field]]] = [
        (CheckpointMetadataV1, schema_fast.SCHEMA_FIELDS),
        (TrainingInfo, schema_fast.TRAINING),
        (ModelInfo, schema_fast.MODEL),
        (EncoderInfo, schema_fast.ENCODER),
        (DecoderInfo, schema_fast.DECODER),
        (HeadInfo, schema_fast.HEAD),
        (LossInfo, schema_fast.LOSS),
        (MetricsInfo, schema_fast.METRICS),
        (CheckpointingConfig, schema_fast.CHECKPOINTING),
    ]
    for model, table in pairs:
        assert [name for name, _, _ in table] == list(model.model_fields), model.__name__


@pytest.mark.parametrize(
    "data",
    [reference(), MINIMAL, CheckpointMetadataV1.model_validate(MINIMAL).to_yaml_dict()],
    ids=["reference example", "minimal", "dumped minimal"],
)
def test_plain_sidecars_take_the_fast_path(data: dict[str, Any]) -> None:
    assert assert_agrees(data) is not None
    # and so does the same document after a trip through the YAML the writers use
    assert assert_agrees(parse_yaml(dump_yaml(data))) is not None


def test_a_yaml_timestamp_is_dumped_as_pydantic_dumps_it() -> None:
    data = {**MINIMAL, "created_at": datetime(2025, 10, 18, 14, 32, tzinfo=timezone.utc)}
    assert assert_agrees(data) is not None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("training", "epoch"), -1),
        (("training", "epoch"), True),
        (("training", "epoch"), 3.0),
        (("training", "epoch"), "3"),
        (("training", "max_epochs"), 0),
        (("training", "training_phase"), "testing"),
        (("metrics", "hmean"), 1.5),
        (("metrics", "hmean"), math.nan),
        (("metrics", "hmean"), "0.5"),
        (("metrics", "validation_loss"), -0.1),
        (("metrics", "additional_metrics"), {"x": "high"}),
        (("checkpointing",), {"mode": "best"}),
        (("checkpointing",), {"save_last": "yes"}),
        (("checkpointing",), {"save_top_k": -2}),
        (("created_at",), "yesterday"),
        (("created_at",), date(2025, 10, 18)),
        (("schema_version",), "2.0"),
        (("schema_version",), 1.0),
        (("exp_name",), None),
        (("exp_name",), "bad \udcff name"),
        (("model", "encoder"), "resnet18"),
        (("model", "encoder", "pretrained"), 1),
        (("model", "encoder", "frozen"), "no"),
        (("model", "decoder", "in_channels"), (1, 2)),
        (("model", "head", "params"), {"when": date(2025, 1, 1)}),
        (("model", "loss", "params"), {"weight": math.inf}),
        (("hydra_config_path",), 3),
    ],
)
def test_unusual_or_invalid_values_are_left_to_pydantic(path: tuple[str, ...], value: Any) -> None:
    data = copy.deepcopy(reference())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert assert_agrees(data) is None


@pytest.mark.parametrize("missing", ["checkpoint_path", "exp_name", "training", "model", "metrics"])
def test_a_missing_required_field_is_left_to_pydantic(missing: str) -> None:
    data = {key: value for key, value in MINIMAL.items() if key != missing}
    assert assert_agrees(data) is None


def test_non_mappings_and_self_references_are_left_to_pydantic() -> None:
    for data in (None, [], "text", 3):
        assert assert_agrees(data) is None
    looped: dict[str, Any] = copy.deepcopy(MINIMAL)
    looped["model"]["head"] = {"params": {}}
    looped["model"]["head"]["params"]["self"] = looped["model"]["head"]["params"]
    assert fast_validate(looped) is None


def test_checkpointing_given_is_what_the_file_sets() -> None:
    data = {**MINIMAL, "checkpointing": {"monitor": "val/hmean", "save_top_k": 3, "extra": 1}}
    valid = fast_sidecar(data)
    assert valid is not None
    fields_set = CheckpointMetadataV1.model_validate(data).checkpointing.model_fields_set
    assert valid.checkpointing_given == fields_set == {"monitor", "save_top_k"}
    plain = fast_sidecar(MINIMAL)
    assert plain is not None and plain.checkpointing_given == frozenset()


# Values pydantic might coerce, refuse or keep: every type the YAML loaders can produce, and more.
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([2**63, -(2**63), 10**30, 0.0, 0.5, 1.0, 1.5, -0.5, math.inf, math.nan]),
    st.floats(),
    st.sampled_from(["", "unknown", "link", "min", "max", "1.0", "true", "3", "0.5", "training"]),
    st.sampled_from(["2025-10-18", "2025-10-18T14:32:15Z", "now", "bad \udcff", "é ✓"]),
    st.text(max_size=8),
    st.just(datetime(2025, 1, 1, tzinfo=timezone.utc)),
    st.just(date(2025, 1, 1)),
    st.just(b"bytes"),
    st.just((1, 2)),
    st.lists(st.integers(min_value=-2, max_value=2), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b", 1]), st.none() | st.floats() | st.text(max_size=3)),
)


def _paths(data: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    if isinstance(data, dict):
        for key, value in data.items():
            paths.append((*prefix, key))
            paths.extend(_paths(value, (*prefix, key)))
    return paths


BASE_PATHS = _paths(reference()) + _paths(MINIMAL)


@settings(max_examples=400)
@given(
    base=st.sampled_from(["reference", "minimal"]),
    edits=st.lists(
        st.tuples(st.sampled_from(BASE_PATHS), st.sampled_from(["set", "delete"]), ODD_VALUES),
        max_size=4,
    ),
)
def test_fast_answers_equal_pydantic_on_mutated_documents(
    base: str, edits: list[tuple[tuple[str, ...], str, Any]]
) -> None:
    data = copy.deepcopy(reference() if base == "reference" else MINIMAL)
    for path, action, value in edits:
        target = data
        for key in path[:-1]:
            if not isinstance(target, dict) or not isinstance(target.get(key), dict):
                break
            target = target[key]
        else:
            if action == "delete":
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
    assert_agrees(data)


@settings(max_examples=200)
@given(
    epoch=st.integers(min_value=0, max_value=10**6),
    step=st.integers(min_value=0, max_value=10**9),
    metrics=st.dictionaries(
        st.sampled_from(["hmean", "precision", "recall"]),
        st.floats(min_value=0, max_value=1) | st.integers(min_value=0, max_value=1),
    ),
    # no lone surrogates: pydantic-core refuses them (the unusual-values test covers that)
    names=st.lists(
        st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12),
        min_size=3,
        max_size=3,
    ),
    mode=st.sampled_from(["min", "max"]),
    save_last=st.sampled_from([True, False, "link", None]),
)
def test_every_plain_valid_document_takes_the_fast_path(
    epoch: int,
    step: int,
    metrics: dict[str, float],
    names: list[str],
    mode: str,
    save_last: bool | str | None,
) -> None:
    data = {
        **MINIMAL,
        "exp_name": names[0],
        "training": {"epoch": epoch, "global_step": step},
        "model": {"architecture": names[1], "encoder": {"model_name": names[2]}},
        "metrics": metrics,
        "checkpointing": {"monitor": "val/hmean", "mode": mode, "save_last": save_last},
    }
    expected = pydantic_answer(data)
    fast = assert_agrees(data)
    if expected != REJECTED:
        assert fast is not None, data
