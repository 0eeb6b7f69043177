"""Fixtures for the conversion screen's tests: real trees (copied per test: conversion writes),
a private catalog cache, UTC as the local timezone (``created_at`` is rendered in local time) and
a fixed working directory so the root shows as ``outputs``."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_conversion_helpers import write_tree


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A private cache per test, and UTC for the local time."""
    monkeypatch.setenv("CKPT_TUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def small_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small legacy tree (``tui_conversion_helpers.write_tree``), written once."""
    return write_tree(tmp_path_factory.mktemp("conv-small"))


@pytest.fixture(scope="session")
def run_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Hydra run of twelve checkpoints and nothing else (for cancelling midway)."""
    return write_tree(tmp_path_factory.mktemp("conv-run"), run_checkpoints=12, extras=False)


@pytest.fixture(scope="session")
def demo_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's demo tree (``ckpt_tui.demo``), written once; the snapshot only reads it."""
    from ckpt_tui.demo import write_demo_tree

    dest = tmp_path_factory.mktemp("conv-demo") / "outputs"
    write_demo_tree(dest)
    return dest


def _copy(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    shutil.copytree(template, work / "outputs", symlinks=True)
    monkeypatch.chdir(work)
    return Path("outputs")


@pytest.fixture
def small_tree(small_tree_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the small tree; the cwd is its parent, so the root is ``outputs``."""
    return _copy(small_tree_template, tmp_path, monkeypatch)


@pytest.fixture
def run_tree(run_tree_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the twelve-checkpoint run."""
    return _copy(run_tree_template, tmp_path, monkeypatch)


@pytest.fixture
def in_demo_parent(demo_tree: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from the demo tree's parent so the app shows the root as ``outputs``."""
    monkeypatch.chdir(demo_tree.parent)
    return Path("outputs")
