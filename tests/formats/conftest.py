"""Session fixtures: one tree of real checkpoints in every format beyond Lightning.

Written once per session by the real libraries (``formats_writers``); the Trainer run takes a
few seconds, the rest well under one. Tests copy what they change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from formats_writers import write_formats_tree


@pytest.fixture(scope="session")
def formats_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``outputs/`` with every format beyond Lightning (:func:`write_formats_tree`)."""
    return write_formats_tree(tmp_path_factory.mktemp("formats") / "outputs")
