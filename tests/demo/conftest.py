"""Session fixtures for the demo tree tests: two trees from seed 0, and what torch reads in them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ckpt_tui.demo import DemoSummary, write_demo_tree

LOAD_FACTS = Path(__file__).with_name("demo_load_facts.py")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """The demo tree written once for the session (seed 0)."""
    return write_demo_tree(tmp_path_factory.mktemp("demo") / "tree", seed=0)


@pytest.fixture(scope="session")
def demo_twin(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """A second tree from the same seed, in another folder."""
    return write_demo_tree(tmp_path_factory.mktemp("demo_twin") / "elsewhere", seed=0)


@pytest.fixture(scope="session")
def facts(demo: DemoSummary) -> dict[str, dict[str, Any]]:
    """What ``torch.load(weights_only=False)`` finds in each demo checkpoint, by relative path.

    Loaded in a subprocess: these are our own trusted files, and the package itself never loads
    anything unsafely.
    """
    paths = [str(p) for p in demo.checkpoints]
    done = subprocess.run(
        [sys.executable, str(LOAD_FACTS), str(demo.root), *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return loaded
