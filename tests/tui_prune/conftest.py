"""Fixtures for the prune screen's tests: the demo tree (real torch files, ``last.ckpt`` links,
``-v1`` restarts), copied per test since pruning deletes; a private cache; UTC local time; the
tree's parent as the working directory, so the root shows as ``outputs``."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CKPT_TUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's demo tree, written once."""
    from ckpt_tui.demo import write_demo_tree

    dest = tmp_path_factory.mktemp("prune-demo") / "outputs"
    write_demo_tree(dest)
    return dest


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo tree; the cwd is its parent."""
    work = tmp_path / "work"
    shutil.copytree(demo_template, work / "outputs", symlinks=True)
    monkeypatch.chdir(work)
    return Path("outputs")
