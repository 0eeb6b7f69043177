"""Fixtures for the prune screen's tests: the demo tree (real torch files, ``last.ckpt`` links,
``-v1`` restarts), copied per test since pruning deletes; a private cache; UTC local time; the
tree's parent as the working directory, so the root shows as ``outputs``.

The demo tree's session template comes from ``tests/conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_builders import copy_to_workdir

# Autouse: every test here gets a private cache and UTC as its local time.
from tui_pilot import private_cache_in_utc as private_cache_in_utc


@pytest.fixture
def demo(demo_tree_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo tree; the cwd is its parent."""
    return copy_to_workdir(demo_tree_template, tmp_path, monkeypatch)
