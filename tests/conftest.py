"""Project-wide test settings: the hypothesis profiles.

- ``ci`` (the default): fixed seeds (``derandomize``), a small budget, no deadline (a 2-core CI
  machine must not turn a slow example into a failure).
- ``fuzz`` (``make fuzz``, ``--hypothesis-profile=fuzz``): random seeds, rounds of 2,000 examples;
  the ``fuzz``-marked tests repeat rounds until their share of ``FUZZ_MINUTES`` is used up
  (``tests/hardening/hardening_fuzzing.py``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=2_000,  # one round; the fuzz tests repeat rounds until their time is spent
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")
