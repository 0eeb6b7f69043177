"""Comparing checkpoints: what differs in metrics, training state, config and weights.

Built from the catalog's entries and the safe reader (never ``torch.load``, never a pickle run):
:func:`read_snapshot` reads one side, :func:`compare` lines two or more sides up as rows,
:func:`comparison_json` is the ``ckpt-tui diff --json`` document, and :func:`best_of_experiment`
picks what the TUI compares a lone checkpoint with.
"""

from __future__ import annotations

from ckpt_tui.compare.best import best_of_experiment
from ckpt_tui.compare.diff import (
    ABSENT,
    SECTIONS,
    TENSOR_PREFIX,
    Comparison,
    DiffRow,
    TensorShape,
    compare,
)
from ckpt_tui.compare.report import comparison_json
from ckpt_tui.compare.snapshot import CheckpointSnapshot, read_snapshot, snapshot_from

__all__ = [
    "ABSENT",
    "SECTIONS",
    "TENSOR_PREFIX",
    "CheckpointSnapshot",
    "Comparison",
    "DiffRow",
    "TensorShape",
    "best_of_experiment",
    "compare",
    "comparison_json",
    "read_snapshot",
    "snapshot_from",
]
