"""Process-wide runtime settings of the ckpt-tui program (its entry points apply them; the
library never changes them for its callers)."""

from __future__ import annotations

import gc

COLLECTOR_THRESHOLDS = (10_000, 10, 10)
"""The garbage collector's thresholds for the program (Python's are 700, 10, 10). A catalog
build allocates a few containers per entry and next to no cycles; with Python's thresholds the
youngest generation is collected every 700 allocations and, as a large catalog grows, the whole
heap is walked again and again for garbage that is not there."""


def tune_collector() -> None:
    """Apply :data:`COLLECTOR_THRESHOLDS` to this process."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
