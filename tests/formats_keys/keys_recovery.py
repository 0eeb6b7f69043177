"""Field recovery over the writers' corpus: fields the files hold, recovered, and wrong.

``test_keys_recovery.py`` builds the corpus (``conftest.keys_tree``), measures it with
:func:`measure` and prints the figure (``pytest -s``); a truth key ``additional_metrics.NAME``
stands for one metric of ``additional_metrics``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CHECKED_FIELDS = (
    "architecture", "backbone", "epoch", "global_step", "monitor", "monitor_mode",
    "monitor_value", "max_epochs", "created_at",
)  # fmt: skip
"""The fields compared with the truth. ``created_at`` counts only when the file holds it (else
it is the file's mtime, which is not a value read from the file)."""


@dataclass
class Recovery:
    """Counts over a corpus."""

    held: int = 0
    recovered: int = 0
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Recovered / held."""
        return self.recovered / self.held if self.held else 1.0

    def line(self) -> str:
        """The figure as one line."""
        return (
            f"{self.recovered}/{self.held} fields recovered ({self.ratio:.0%}), "
            f"{len(self.wrong)} wrong"
        )


def same(value: Any, truth: Any) -> bool:
    """Equal, floats to 4 significant digits (file names round them)."""
    if isinstance(truth, float) and isinstance(value, (int, float)):
        return math.isclose(value, truth, rel_tol=1e-4)
    return bool(value == truth)


def measure(
    entries: list[Mapping[str, Any]], expected: Mapping[str, Mapping[str, Any]]
) -> Recovery:
    """Compare ``entries`` (entry dicts, with ``provenance``) with ``expected`` (relative path →
    field → true value). A value not in ``expected`` that is not the file's mtime is wrong."""
    result = Recovery()
    by_path = {entry["checkpoint_path"]: entry for entry in entries}
    for path, truth in expected.items():
        entry = by_path.get(path)
        result.held += len(truth)
        if entry is None:
            result.missed += [f"{path}: not listed"]
            continue
        metrics = entry.get("additional_metrics") or {}
        for name in [n for n in truth if n.startswith("additional_metrics.")]:
            value = metrics.get(name.partition(".")[2])
            if value is None:
                result.missed.append(f"{path}: {name}")
            elif same(value, truth[name]):
                result.recovered += 1
            else:
                result.wrong.append(f"{path}: {name} = {value!r}, truly {truth[name]!r}")
        for name in CHECKED_FIELDS:
            value = entry.get(name)
            if name in truth:
                if value is None:
                    result.missed.append(f"{path}: {name}")
                elif same(value, truth[name]):
                    result.recovered += 1
                else:
                    result.wrong.append(f"{path}: {name} = {value!r}, truly {truth[name]!r}")
            elif value is not None and not (
                name == "created_at" and entry["provenance"].get(name) == "file mtime"
            ):
                result.wrong.append(f"{path}: {name} = {value!r}, the file holds none")
    return result
