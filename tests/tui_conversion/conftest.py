"""Fixtures for the conversion screen's tests: real trees (copied per test: conversion writes),
a private catalog cache, UTC as the local timezone (``created_at`` is rendered in local time) and
a fixed working directory so the root shows as ``outputs``.

The demo tree and ``in_demo_parent`` come from ``tests/conftest.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_builders import copy_to_workdir
from tui_conversion_helpers import write_tree

# Autouse: every test here gets a private cache and UTC as its local time.
from tui_pilot import private_cache_in_utc as private_cache_in_utc


@pytest.fixture(scope="session")
def small_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small legacy tree (``tui_conversion_helpers.write_tree``), written once."""
    return write_tree(tmp_path_factory.mktemp("conv-small"))


@pytest.fixture(scope="session")
def run_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Hydra run of twelve checkpoints and nothing else (for cancelling midway)."""
    return write_tree(tmp_path_factory.mktemp("conv-run"), run_checkpoints=12, extras=False)


@pytest.fixture
def small_tree(small_tree_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the small tree; the cwd is its parent, so the root is ``outputs``."""
    return copy_to_workdir(small_tree_template, tmp_path, monkeypatch)


@pytest.fixture
def run_tree(run_tree_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the twelve-checkpoint run."""
    return copy_to_workdir(run_tree_template, tmp_path, monkeypatch)
