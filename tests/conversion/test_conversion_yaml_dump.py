"""``dump_yaml``'s fast path writes exactly what ``yaml.dump`` writes, or steps aside."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckpt_tui.io.safe_yaml import _dump_simple, dump_yaml, parse_yaml
from ckpt_tui.model.schema import CheckpointMetadataV1


def reference_dump(data: Any) -> str:
    """What ``dump_yaml`` wrote before its fast path: libyaml's safe dumper, block style."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(
        data, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return text


def same_as_reference(data: Any) -> None:
    """``dump_yaml(data)`` writes what ``yaml.dump`` writes, or raises as it raises."""
    try:
        expected = reference_dump(data)
    except Exception as exc:  # e.g. a lone surrogate: YAML cannot hold it
        with pytest.raises(type(exc)):
            dump_yaml(data)
        return
    assert dump_yaml(data) == expected


# Pieces that stress the quoting rules: indicators, resolvable words, numbers, timestamps,
# document markers, spaces, quotes, non-ASCII and surrogates.
tricky_text = st.lists(
    st.sampled_from(
        [
            "a", "Z", "_", "val", "/", ".", "..", "-", "+", "=", "~", ":", "::", "#", "@", "!",
            "&", "*", "%", "|", ">", "?", ",", "[", "]", "{", "}", "'", '"', "`", "\\", " ", "\t",
            "\n", "0", "1", "12", "0x1F", "0o7", "1_000", "1.5", "1e5", "1.0e-05", ".inf",
            ".nan", "yes", "No", "ON", "off", "true", "null", "Null", "~", "<<", "y", "n",
            "2024-01-02", "2024-01-02T03:04:05+00:00", "12:30", "---", "...", "é", "日本",
            "\udcff", "\x85", "\u2028", "\ufeff",
        ]
    ),
    max_size=5,
).map("".join)  # fmt: skip
simple_text = st.from_regex(r"[A-Za-z0-9_./][A-Za-z0-9_./=+~:-]{0,30}", fullmatch=True)
texts = st.one_of(simple_text, tricky_text)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e-3, max_value=1e-3),
    st.sampled_from([0.0, -0.0, 1e16, 1e-05, 123456789.0, 0.1 + 0.2]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
keys = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_./-]{0,20}", fullmatch=True),
    texts,
    st.text(min_size=60, max_size=140, alphabet="ab_"),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=30,
)

# Sidecar-like documents, mostly inside the fast path's subset (strings that read back as other
# types must come out quoted).
resolvable = st.sampled_from(
    ["yes", "No", "null", "true", "1.5", "12", "0x1F", "1_000", "12:30", "2024-01-02",
     "2024-01-02T03:04:05+00:00", ".inf", ".NaN", "1.0e-05", "y", "n", "0o17", "+1"]
)  # fmt: skip
simple_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    simple_text,
    resolvable,
)
simple_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_./-]{0,20}", fullmatch=True)
sidecar_like = st.recursive(
    st.dictionaries(simple_keys, simple_scalars, max_size=5),
    lambda children: st.dictionaries(
        simple_keys,
        st.one_of(children, simple_scalars, st.lists(simple_scalars, max_size=4)),
        min_size=1,
        max_size=5,
    ),
    max_leaves=30,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(sidecar_like)
def test_sidecar_like_documents_are_byte_identical(data: dict[str, Any]) -> None:
    same_as_reference(data)


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, documents, max_size=6))
def test_fast_path_is_byte_identical_to_yaml_dump(data: dict[str, Any]) -> None:
    same_as_reference(data)


@settings(max_examples=100)
@given(documents)
def test_any_document_dumps_as_yaml_dump_does(data: Any) -> None:
    same_as_reference(data)


@settings(max_examples=100)
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), scalars, min_size=1))
def test_what_the_fast_path_writes_reads_back_equal(data: dict[str, Any]) -> None:
    text = _dump_simple(data)
    if text is not None:
        back = parse_yaml(text)
        assert back.keys() == data.keys()
        for key, value in data.items():
            if isinstance(value, float) and value != value:
                continue  # the fast path never writes nan; yaml.dump writes .nan
            assert back[key] == value and type(back[key]) is type(value), key


def test_a_shared_object_goes_to_yaml_dump_for_its_anchor() -> None:
    shared = {"a": 1}
    data = {"x": shared, "y": shared}
    assert _dump_simple(data) is None
    assert "&id001" in dump_yaml(data) and dump_yaml(data) == reference_dump(data)


def test_real_sidecars_take_the_fast_path() -> None:
    metadata = CheckpointMetadataV1.model_validate(
        {
            "checkpoint_path": "2025-10-18/14-32-15/checkpoints/epoch=4-step=420.ckpt",
            "exp_name": "dbnet-resnet18",
            "created_at": "2025-10-18T14:40:02+02:00",
            "training": {"epoch": 4, "global_step": 420, "max_epochs": 20},
            "model": {
                "architecture": "dbnet",
                "encoder": {"model_name": "resnet18"},
                "decoder": {"name": "pan_decoder", "in_channels": [64, 128, 256, 512]},
                "head": {"name": "db_head"},
                "loss": {"name": "db_loss"},
            },
            "metrics": {
                "hmean": 0.8920,
                "precision": 0.9,
                "recall": 1e-05,
                "additional_metrics": {"val/loss": 0.25, "lr-AdamW": 0.001},
            },
            "checkpointing": {"monitor": "val/hmean", "mode": "max", "save_top_k": 3},
            "hydra_config_path": "2025-10-18/14-32-15/.hydra/config.yaml",
        }
    )
    data = metadata.to_yaml_dict()
    fast = _dump_simple(data)
    assert fast is not None, "a usual sidecar must not need yaml.dump"
    assert fast == reference_dump(data)
    assert "created_at: '2025-10-18T14:40:02+02:00'" in fast  # a timestamp stays a string
    assert CheckpointMetadataV1.model_validate(parse_yaml(fast)) == metadata
