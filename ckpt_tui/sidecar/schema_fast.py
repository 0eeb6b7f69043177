"""The sidecar schema's fast path: the common, plain sidecar checked without pydantic.

:func:`fast_validate` returns exactly what ``CheckpointMetadataV1.model_validate(data)
.to_yaml_dict()`` returns, or ``None`` whenever the data is anything other than the plain shape
that writers produce (a wrong or unusual type, a value out of range, a missing field, a string
pydantic would coerce). ``None`` means "not sure", never "invalid": the caller then validates with
pydantic, which also words the errors. Nothing is ever accepted here that pydantic would refuse.

Why it exists: importing pydantic and building the models costs ~0.17 s, which the TUI's cold
start, a cold catalog build and every ``ckpt-tui convert`` would otherwise pay before their first
result. ``tests/foundation/test_foundation_schema_fast.py`` checks it against pydantic on
generated documents, valid and not.

The field table below mirrors :mod:`ckpt_tui.model.schema` field for field and in order (the order
of the dumped dict); a test fails when the two drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ckpt_tui.model.placeholders import SCHEMA_VERSION

__all__ = ["SCHEMA_FIELDS", "ValidSidecar", "fast_sidecar", "fast_validate"]

_INT_LIMIT = 2**63
"""Ints beyond 64 bits are left to pydantic (they are never real epochs or steps)."""
_MAX_DEPTH = 32
"""Nesting deeper than this in a free-form ``params`` dict is left to pydantic."""


class _Unsure(Exception):
    """Raised inside the checks: the data is not the plain shape; pydantic must decide."""


_UNSURE = _Unsure()
_REQUIRED = object()


def _text(value: Any) -> str:
    # pydantic-core refuses strings that are not valid UTF-8 (lone surrogates from odd names).
    if type(value) is not str or not (value.isascii() or _encodes(value)):
        raise _UNSURE
    return value


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _integer(value: Any, minimum: int) -> int:
    if type(value) is not int or not minimum <= value < _INT_LIMIT:
        raise _UNSURE
    return value


def _number(value: Any, minimum: float, maximum: float) -> float:
    if type(value) is int and -_INT_LIMIT < value < _INT_LIMIT:
        value = float(value)
    elif type(value) is not float or not math.isfinite(value):
        raise _UNSURE
    if not minimum <= value <= maximum:
        raise _UNSURE
    return value


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise _UNSURE
    return value


def _one_of(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if type(value) is not str or value not in allowed:
            raise _UNSURE
        return value

    return check


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else check(value)


def _int_list(value: Any) -> list[int]:
    if type(value) is not list:
        raise _UNSURE
    return [_integer(item, -_INT_LIMIT + 1) for item in value]


def _plain(value: Any, depth: int = 0) -> Any:
    """A copy of JSON-plain data (what ``model_dump(mode="json")`` leaves unchanged)."""
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is str:
        return _text(value)
    if kind is int:
        return _integer(value, -_INT_LIMIT + 1)
    if kind is float:
        if not math.isfinite(value):  # dumped as null in JSON mode
            raise _UNSURE
        return value
    if depth >= _MAX_DEPTH:
        raise _UNSURE
    if kind is list:
        return [_plain(item, depth + 1) for item in value]
    if kind is dict:
        return {_text(key): _plain(item, depth + 1) for key, item in value.items()}
    raise _UNSURE


def _params(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _UNSURE
    return dict(_plain(value))


def _float_map(value: Any) -> dict[str, float]:
    if type(value) is not dict:
        raise _UNSURE
    return {_text(key): _number(item, -math.inf, math.inf) for key, item in value.items()}


def _save_last(value: Any) -> Any:
    if value is None or type(value) is bool or (type(value) is str and value == "link"):
        return value
    raise _UNSURE


def _timestamp(value: Any) -> str:
    # The model's ``created_at`` validator: a datetime becomes its ISO string, a string must parse.
    if type(value) is datetime:
        return value.isoformat()
    text = _text(value)
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _UNSURE from None
    return text


Field = tuple[str, Callable[[Any], Any], Any]
"""``(name, check, default)``: ``default`` is ``_REQUIRED``, a plain value, or a callable that
makes a fresh default (``list``, ``dict``, a nested model's defaults)."""


def _fraction(value: Any) -> float | None:
    return None if value is None else _number(value, 0.0, 1.0)


ENCODER: list[Field] = [
    ("model_name", _text, _REQUIRED),
    ("pretrained", _boolean, True),
    ("frozen", _boolean, False),
]
DECODER: list[Field] = [
    ("name", _optional_text, None),
    ("in_channels", _int_list, list),
    ("inner_channels", _optional(lambda v: _integer(v, -_INT_LIMIT + 1)), None),
    ("output_channels", _optional(lambda v: _integer(v, -_INT_LIMIT + 1)), None),
    ("params", _params, dict),
]
HEAD: list[Field] = [
    ("name", _optional_text, None),
    ("in_channels", _optional(lambda v: _integer(v, -_INT_LIMIT + 1)), None),
    ("params", _params, dict),
]
LOSS: list[Field] = [("name", _optional_text, None), ("params", _params, dict)]
TRAINING: list[Field] = [
    ("epoch", lambda v: _integer(v, 0), _REQUIRED),
    ("global_step", lambda v: _integer(v, 0), _REQUIRED),
    ("training_phase", _one_of("training", "validation", "finetuning"), "training"),
    ("max_epochs", _optional(lambda v: _integer(v, 1)), None),
]
METRICS: list[Field] = [
    ("precision", _fraction, None),
    ("recall", _fraction, None),
    ("hmean", _fraction, None),
    ("validation_loss", _optional(lambda v: _number(v, 0.0, math.inf)), None),
    ("additional_metrics", _float_map, dict),
]
CHECKPOINTING: list[Field] = [
    ("monitor", _optional_text, None),
    ("mode", _one_of("min", "max"), "max"),
    ("save_top_k", lambda v: _integer(v, -1), 1),
    ("save_last", _save_last, None),
]


def _nested(table: list[Field]) -> Callable[[Any], dict[str, Any]]:
    return lambda value: _model(value, table)


def _defaults(table: list[Field]) -> Callable[[], dict[str, Any]]:
    return lambda: _model({}, table)


MODEL: list[Field] = [
    ("architecture", _text, _REQUIRED),
    ("encoder", _nested(ENCODER), _REQUIRED),
    ("decoder", _nested(DECODER), _defaults(DECODER)),
    ("head", _nested(HEAD), _defaults(HEAD)),
    ("loss", _nested(LOSS), _defaults(LOSS)),
]
SCHEMA_FIELDS: list[Field] = [
    ("schema_version", _one_of(SCHEMA_VERSION), SCHEMA_VERSION),
    ("checkpoint_path", _text, _REQUIRED),
    ("exp_name", _text, _REQUIRED),
    ("created_at", _timestamp, _REQUIRED),
    ("training", _nested(TRAINING), _REQUIRED),
    ("model", _nested(MODEL), _REQUIRED),
    ("metrics", _nested(METRICS), _REQUIRED),
    ("checkpointing", _nested(CHECKPOINTING), _defaults(CHECKPOINTING)),
    ("hydra_config_path", _optional_text, None),
    ("wandb_run_id", _optional_text, None),
]
"""``CheckpointMetadataV1``'s fields, in the model's order."""


def _model(value: Any, table: list[Field]) -> dict[str, Any]:
    """One model's dumped dict: fields in order, defaults filled in, ``None`` left out."""
    if type(value) is not dict:
        raise _UNSURE
    out: dict[str, Any] = {}
    for name, check, default in table:
        if name in value:
            result = check(value[name])
        elif default is _REQUIRED:
            raise _UNSURE
        else:
            result = default() if callable(default) else default
        if result is not None:
            out[name] = result
    return out


def fast_validate(data: object) -> dict[str, Any] | None:
    """``CheckpointMetadataV1.model_validate(data).to_yaml_dict()``, or ``None`` when unsure."""
    try:
        return _model(data, SCHEMA_FIELDS)
    except _Unsure:
        return None
    except RecursionError:  # a self-referencing dict (YAML aliases): pydantic reports it
        return None


@dataclass(frozen=True, slots=True)
class ValidSidecar:
    """A sidecar that passed the schema, as the plain data a sidecar holds."""

    data: dict[str, Any]
    """The validated document in ``to_yaml_dict()`` form (defaults filled in, no ``None``)."""
    checkpointing_given: frozenset[str]
    """The ``checkpointing`` fields the file itself set (the rest are the schema's defaults)."""


def fast_sidecar(data: object) -> ValidSidecar | None:
    """A :class:`ValidSidecar` for plain data, or ``None`` when pydantic must decide."""
    validated = fast_validate(data)
    if validated is None:
        return None
    assert isinstance(data, dict)  # fast_validate accepts nothing else
    return ValidSidecar(validated, given_fields(data.get("checkpointing"), CHECKPOINTING))


def given_fields(value: Any, table: list[Field]) -> frozenset[str]:
    """The names in ``table`` that the mapping ``value`` sets (pydantic's ``model_fields_set``)."""
    if type(value) is not dict:
        return frozenset()
    return frozenset(name for name, _, _ in table if name in value)
