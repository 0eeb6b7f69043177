"""The fuzz budget: one hypothesis run in CI, rounds until ``FUZZ_MINUTES`` is spent with
``make fuzz``.

The ``ci`` profile (``tests/conftest.py``) gives each run a small fixed-seed budget; the ``fuzz``
profile gives random seeds and a round of examples, and :func:`run_rounds` repeats rounds until the
test's share of ``FUZZ_MINUTES`` (split evenly over the ``fuzz``-marked tests) is used up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

FUZZ_TESTS = 6
"""How many ``fuzz``-marked tests share ``FUZZ_MINUTES`` (``test_hardening_fuzz.py``)."""


def fuzz_seconds() -> float:
    """This test's share of ``FUZZ_MINUTES`` (0 outside ``make fuzz``)."""
    try:
        minutes = float(os.environ.get("FUZZ_MINUTES") or 0)
    except ValueError:
        minutes = 0.0
    return max(0.0, minutes) * 60 / FUZZ_TESTS


def fuzz_timeout() -> int:
    """A pytest-timeout for one fuzz test: its share plus room for the last round."""
    return int(fuzz_seconds()) + 300


def run_rounds(test: Callable[[], None]) -> int:
    """Run a ``@given`` test once, or in rounds until this test's share of time is spent.

    Returns the number of examples run (also printed under ``make fuzz``: see with ``-rP``).
    """
    examples = 0
    original: Callable[..., None] = test.hypothesis.inner_test  # type: ignore[attr-defined]

    def counted(*args: Any, **kwargs: Any) -> None:
        nonlocal examples
        examples += 1
        original(*args, **kwargs)

    # hypothesis calls whatever inner_test is when the run starts (the hook pytest-trio uses).
    test.hypothesis.inner_test = counted  # type: ignore[attr-defined]
    budget = fuzz_seconds()
    end = time.monotonic() + budget
    rounds = 0
    while True:
        test()
        rounds += 1
        if time.monotonic() >= end:
            break
    if budget:
        print(f"{examples} examples in {rounds} rounds")
    return examples
