"""Fixtures for the TUI tests: a real tree written by torch, a private cache, a fixed cwd.

The tree itself is written by :func:`tui_helpers.write_tree`; the demo tree and
``in_demo_parent`` come from ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_helpers import MARKER, write_tree


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the catalog cache of the tests away from the user's."""
    old = os.environ.get("CKPT_TUI_CACHE_DIR")
    os.environ["CKPT_TUI_CACHE_DIR"] = str(tmp_path_factory.mktemp("tui-cache"))
    yield
    if old is None:
        os.environ.pop("CKPT_TUI_CACHE_DIR", None)
    else:
        os.environ["CKPT_TUI_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def tui_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's tree (``.../outputs``); the hostile file's marker lives beside it."""
    base = tmp_path_factory.mktemp("tui-tree")
    return write_tree(base, base / MARKER)


@pytest.fixture
def in_tree_parent(tui_tree: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work from the tree's parent so the app shows the root as ``outputs`` (deterministic)."""
    monkeypatch.chdir(tui_tree.parent)
    return Path("outputs")
