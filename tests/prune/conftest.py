"""Fixtures for the prune tests: one real Lightning tree per session (``prune_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prune_helpers import copy_tree, train_tree


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's Lightning tree: never changed by a test (copy it with ``tree``)."""
    return train_tree(tmp_path_factory.mktemp("trained") / "outputs")


@pytest.fixture
def tree(trained: Path, tmp_path: Path) -> Path:
    """A private copy of the Lightning tree that the test may prune."""
    return copy_tree(trained, tmp_path / "outputs")
