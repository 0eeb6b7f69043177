"""Project-wide test settings: a private catalog cache per test, the hypothesis profiles, and
the demo tree every folder reads (written once per session).

- ``ci`` (the default): fixed seeds (``derandomize``), a small budget, no deadline (a 2-core CI
  machine must not turn a slow example into a failure).
- ``fuzz`` (``make fuzz``, ``--hypothesis-profile=fuzz``): random seeds, rounds of 2,000 examples;
  the ``fuzz``-marked tests repeat rounds until their share of ``FUZZ_MINUTES`` is used up
  (``tests/hardening/hardening_fuzzing.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
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


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Each test gets its own cache folder (also for its subprocesses) and an empty memory layer,
    so no test reads another's cache or writes to the user's ~/.cache."""
    from ckpt_tui.catalog import cache

    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("CKPT_TUI_CACHE_DIR", str(folder))
    cache.clear_memory()
    yield folder
    cache.clear_memory()


@pytest.fixture
def cache_folder(_private_cache: Path) -> Path:
    """This test's persistent cache folder."""
    return _private_cache


@pytest.fixture(scope="session")
def demo_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's demo tree (``ckpt-tui demo``), written once per session: ``.../outputs``.

    Tests only read it; a test that changes a tree works on a copy (``tree_builders``)."""
    from ckpt_tui.demo import write_demo_tree

    dest = tmp_path_factory.mktemp("demo") / "outputs"
    write_demo_tree(dest)
    return dest


@pytest.fixture
def in_demo_parent(demo_tree_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from the demo tree's parent so the app shows the root as ``outputs``."""
    monkeypatch.chdir(demo_tree_template.parent)
    return Path("outputs")
