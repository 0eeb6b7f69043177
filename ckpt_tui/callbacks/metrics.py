"""Turn ``trainer.callback_metrics`` into a sidecar's ``metrics`` block.

Names are matched exactly (configurable), never by substring: the reference's first-match search
picked per-batch values such as ``val/hmean_step``. Every other finite scalar is kept by its logged
name in ``additional_metrics``. Nothing here imports torch: tensors are read by duck typing.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Logged names that are training position, not metrics (they live in ``training``).
POSITION_KEYS = frozenset({"epoch", "step"})


@dataclass(frozen=True)
class MetricKeys:
    """The exact logged names of the metrics that have their own sidecar field."""

    hmean: str = "val/hmean"
    """Name of the harmonic-mean metric."""
    precision: str = "val/precision"
    """Name of the precision metric."""
    recall: str = "val/recall"
    """Name of the recall metric."""
    validation_loss: str = "val/loss"
    """Name of the validation loss."""

    def fields(self) -> tuple[tuple[str, str], ...]:
        """``(sidecar field, logged name)`` pairs."""
        return (
            ("hmean", self.hmean),
            ("precision", self.precision),
            ("recall", self.recall),
            ("validation_loss", self.validation_loss),
        )


def to_float(value: Any) -> float | None:
    """A finite float from a Python number or a one-element tensor/array; else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        numel = getattr(value, "numel", None)
        item = getattr(value, "item", None)
        if not callable(item):
            return None
        try:
            if callable(numel) and numel() != 1:
                return None
            raw = item()
        except (RuntimeError, ValueError, TypeError):
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            return None
        number = float(raw)
        if str(getattr(value, "dtype", "")) in _SINGLE_OR_LESS:
            number = shortest_float32(number)
    # NaN/inf would not survive the YAML/JSON round trip as numbers, and mean "not known".
    return number if math.isfinite(number) else None


_SINGLE_OR_LESS = frozenset({"torch.float32", "torch.float16", "torch.bfloat16", "float32"})


def _as_float32(number: float) -> float:
    value: float = struct.unpack("f", struct.pack("f", number))[0]
    return value


def shortest_float32(number: float) -> float:
    """The shortest decimal that is the same float32 as ``number``.

    Lightning logs Python floats as float32 tensors, so ``0.8`` comes back as
    ``0.800000011920929``; this gives ``0.8`` again without losing any float32 precision.
    """
    if not math.isfinite(number) or abs(number) > 3.4e38:
        return number
    single = _as_float32(number)
    for digits in range(1, 10):
        candidate = float(f"{single:.{digits}g}")
        if _as_float32(candidate) == single:
            return candidate
    return number


def scalar_metrics(callback_metrics: Mapping[str, Any]) -> dict[str, float]:
    """Every finite scalar of ``callback_metrics`` as a float, by its logged name."""
    scalars: dict[str, float] = {}
    for name, value in callback_metrics.items():
        number = to_float(value)
        if number is not None:
            scalars[str(name)] = number
    return scalars


def _in_range(field: str, value: float) -> bool:
    if field == "validation_loss":
        return value >= 0.0
    return 0.0 <= value <= 1.0


#: Provenance of every logged value: Lightning's ``trainer.callback_metrics``.
CALLBACK_METRICS = "callback_metrics"


def build_metrics(
    scalars: Mapping[str, float], keys: MetricKeys, monitor: str | None
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """The ``metrics`` block for one checkpoint as sidecar key paths → values (``None``: not
    logged), their provenance (``callback_metrics val/hmean``), and notes on values that did not
    fit a field.

    A named metric outside its field's range (say hmean logged in percent) stays in
    ``additional_metrics`` instead of making the sidecar invalid. The monitored value is always
    in ``additional_metrics`` under the monitor's name too, so a reader finds it by
    ``checkpointing.monitor`` whatever the configured names are.
    """
    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    used: set[str] = set()
    notes: list[str] = []
    for field, name in keys.fields():
        key = f"metrics.{field}"
        values[key] = None
        value = scalars.get(name)
        if value is None:
            continue
        if _in_range(field, value):
            values[key] = value
            provenance[key] = f"{CALLBACK_METRICS} {name}"
            used.add(name)
        else:
            notes.append(
                f"{name}={value} is out of range for metrics.{field}; kept in additional_metrics"
            )
    additional = {
        name: value
        for name, value in scalars.items()
        if name not in used and name not in POSITION_KEYS
    }
    if monitor is not None and monitor in scalars:
        additional[monitor] = scalars[monitor]
    if additional:  # none logged is not a fact worth a key
        values["metrics.additional_metrics"] = additional
        provenance["metrics.additional_metrics"] = CALLBACK_METRICS
    return values, provenance, notes
