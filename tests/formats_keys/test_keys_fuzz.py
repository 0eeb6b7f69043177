"""Any plain data under the known keys: no exception, and every value fits its entry field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ckpt_tui.model.entry import checked_values
from ckpt_tui.reader import CheckpointInspection
from ckpt_tui.sources.checkpoint import tier_from_inspection
from ckpt_tui.sources.known_keys import known_key_details

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["resnet50", "top1", "loss", "Mon Dec  7 20:00:00 2026", "20261207_200000",
                     "model = dict(type='X', backbone=dict(type='ResNet', depth=50))",
                     "best_bbox_mAP_epoch_3.pth", "12", "-1", "1e3", "nan"]),
)  # fmt: skip
_KEYS = st.sampled_from(
    ["epoch", "iter", "model", "eval_metric", "epochs", "hook_msgs", "best_score", "best_ckpt",
     "config", "cfg", "time", "runtime_info", "x"]
)  # fmt: skip
_PLAIN = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=20,
)
_COMMON = st.dictionaries(
    st.sampled_from(
        ["epoch", "arch", "best_acc1", "best_prec1", "metric", "version", "args", "meta",
         "message_hub"]
    ),
    _PLAIN,
    max_size=8,
)  # fmt: skip
_METADATA = st.none() | st.dictionaries(
    st.sampled_from(["epoch", "global_step", "step", "arch", "val_acc", "val_loss", "best_x"]),
    st.text(max_size=25) | st.sampled_from(["3", "0.5", "inf", "99999999999999999999", " 7 "]),
)


@given(common=_COMMON, metadata=_METADATA, name=st.sampled_from(["iter_8.pth", "epoch_3.pth"]))
def test_any_plain_data_gives_typed_values(
    common: dict[str, Any], metadata: dict[str, str] | None, name: str
) -> None:
    inspection = CheckpointInspection(path=Path("/nonexistent") / name)
    inspection.common_keys = common
    inspection.safetensors_metadata = metadata
    tier = tier_from_inspection(inspection)
    fields = {k: v for k, v in tier.values.items() if k not in ("safety", "unsafe_globals")}
    checked_values(fields)  # raises when a value does not fit its field
    assert set(tier.values) == set(tier.provenance)
    epoch = tier.values.get("epoch")
    assert epoch is None or 0 <= epoch <= 10_000_000
    known_key_details(inspection)
