"""The comparison of two or more checkpoint snapshots, as rows grouped in sections.

Each :class:`DiffRow` holds one value per side (:data:`ABSENT` where a side has no such key);
a row *differs* when its values are not all equal. Sections, in order:

- ``safety``: the verdict and the unsafe globals of each file;
- ``metrics``: hmean, precision, recall, validation loss, the monitor and its value, and every
  additional metric;
- ``training``: epoch, step, planned epochs, container format, Lightning version;
- ``model``: architecture, encoder, decoder, head, loss;
- ``config``: the configuration flattened to dotted keys (``model.encoder.model_name``);
- ``weights``: tensor count, parameters, bytes, dtypes, parameters per top-level module, the
  optimizer and its learning rates, then one row per tensor whose presence, shape or dtype
  differs.

Values are compared as plain data, so an OmegaConf config and the same values in a dict
compare equal (the reader unwraps OmegaConf containers).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ckpt_tui.compare.flatten import flatten, ordered_union
from ckpt_tui.compare.snapshot import CheckpointSnapshot
from ckpt_tui.sources.details import top_level_module

SECTIONS: Final = ("safety", "metrics", "training", "model", "config", "weights")
"""The sections of a comparison, in the order they are shown."""

Change = Literal["same", "changed", "added", "removed"]
"""A row between two sides: ``added`` is only in the second, ``removed`` only in the first."""


class _Absent:
    """The value of a key a side does not have (unlike ``None``: a known-unknown value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()
"""A side that has no such key."""

TENSOR_PREFIX: Final = "tensor "
"""Key prefix of the per-tensor rows in the ``weights`` section."""


@dataclass(frozen=True, slots=True)
class TensorShape:
    """A tensor's structure as compared: dtype and shape (never its data)."""

    dtype: str
    shape: tuple[int, ...]

    def __str__(self) -> str:
        return f"{self.dtype} [{', '.join(map(str, self.shape))}]"


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One compared value: its section, its key and one value per side."""

    section: str
    key: str
    values: tuple[Any, ...]

    @property
    def differs(self) -> bool:
        """Whether the sides' values are not all equal (a missing key counts as a value)."""
        first = self.values[0]
        return any(not _equal(first, other) for other in self.values[1:])

    @property
    def change(self) -> Change:
        """For two sides: how the second differs from the first."""
        a, b = self.values[0], self.values[-1]
        if a is ABSENT and b is not ABSENT:
            return "added"
        if b is ABSENT and a is not ABSENT:
            return "removed"
        return "changed" if self.differs else "same"


@dataclass(slots=True)
class Comparison:
    """Two or more snapshots and the rows that compare them."""

    sides: list[CheckpointSnapshot]
    rows: list[DiffRow] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        """Whether no row differs."""
        return not any(row.differs for row in self.rows)

    def section(self, name: str, *, only_differences: bool = False) -> list[DiffRow]:
        """The rows of section ``name``, optionally only those that differ."""
        return [
            row
            for row in self.rows
            if row.section == name and (row.differs or not only_differences)
        ]

    def differences(self) -> dict[str, int]:
        """How many rows differ, per section (every section listed)."""
        counts = Counter(row.section for row in self.rows if row.differs)
        return {name: counts.get(name, 0) for name in SECTIONS}


def _equal(a: Any, b: Any) -> bool:
    if a is ABSENT or b is ABSENT:
        return a is b
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # True == 1 in Python; a flag and a count are not the same setting
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN: the same unknown number on both sides is no difference
    return bool(a == b)


def compare(sides: Sequence[CheckpointSnapshot]) -> Comparison:
    """Compare ``sides`` (two or more snapshots, in column order)."""
    if len(sides) < 2:
        raise ValueError("a comparison needs at least two checkpoints")
    comparison = Comparison(list(sides))
    rows = comparison.rows
    rows += _field_rows("safety", sides, _safety)
    rows += _field_rows("metrics", sides, _metrics)
    rows += _field_rows("training", sides, _training)
    rows += _field_rows("model", sides, _model)
    rows += _mapping_rows("config", [flatten(s.config) if s.config else {} for s in sides])
    rows += _field_rows("weights", sides, _weights_summary)
    rows += _tensor_rows(sides)
    return comparison


def _mapping_rows(section: str, maps: list[dict[str, Any]]) -> list[DiffRow]:
    keys = ordered_union(maps)
    return [DiffRow(section, key, tuple(m.get(key, ABSENT) for m in maps)) for key in keys]


def _field_rows(
    section: str,
    sides: Sequence[CheckpointSnapshot],
    fields: Callable[[CheckpointSnapshot], dict[str, Any]],
) -> list[DiffRow]:
    return _mapping_rows(section, [fields(side) for side in sides])


def _safety(side: CheckpointSnapshot) -> dict[str, Any]:
    entry = side.entry
    return {"safety": entry.safety, "unsafe_globals": list(entry.unsafe_globals)}


def _metrics(side: CheckpointSnapshot) -> dict[str, Any]:
    entry = side.entry
    values: dict[str, Any] = {
        name: getattr(entry, name)
        for name in (
            "hmean", "precision", "recall", "validation_loss",
            "monitor", "monitor_mode", "monitor_value",
        )
    }  # fmt: skip
    for name, value in sorted(entry.additional_metrics.items()):
        values[f"additional_metrics.{name}"] = value
    return values


def _training(side: CheckpointSnapshot) -> dict[str, Any]:
    entry = side.entry
    return {
        "epoch": entry.epoch,
        "global_step": entry.global_step,
        "max_epochs": entry.max_epochs,
        "format": side.format,
        "lightning_version": side.lightning_version,
    }


def _model(side: CheckpointSnapshot) -> dict[str, Any]:
    entry = side.entry
    return {
        "architecture": entry.architecture,
        "backbone": entry.backbone,
        "decoder": entry.decoder,
        "head": entry.head,
        "loss": entry.loss,
    }


def _weights_summary(side: CheckpointSnapshot) -> dict[str, Any]:
    tensors = side.tensors.values()
    dtypes = Counter(info.dtype for info in tensors)
    values: dict[str, Any] = {
        "weights_key": side.weights_key,
        "tensors": len(side.tensors),
        "parameter_count": sum(info.numel for info in tensors),
        "tensor_bytes": sum(info.nbytes for info in tensors),
        "dtypes": dict(sorted(dtypes.items())),
        "optimizer": side.optimizer,
        "learning_rates": list(side.learning_rates),
    }
    modules: Counter[str] = Counter()
    for key, info in side.tensors.items():
        modules[top_level_module(key)] += info.numel
    for name in sorted(modules):
        values[f"modules.{name}"] = modules[name]
    return values


def _tensor_rows(sides: Sequence[CheckpointSnapshot]) -> Iterable[DiffRow]:
    """One row per tensor whose presence, dtype or shape differs between the sides."""
    keys = ordered_union([side.tensors for side in sides])
    for key in keys:
        values = tuple(
            ABSENT if info is None else TensorShape(info.dtype, info.shape)
            for info in (side.tensors.get(key) for side in sides)
        )
        row = DiffRow("weights", TENSOR_PREFIX + key, values)
        if row.differs:
            yield row
