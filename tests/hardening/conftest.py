"""Fixtures for the hardening tests: real torch files, a private cache, a marker that must never
appear, and the other suites' helper modules (``reader_pickles``, ``catalog_helpers``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent.parent
for _folder in ("reader", "catalog"):
    # Their helper modules have unique names; appended so nothing of ours is shadowed.
    if str(_TESTS / _folder) not in sys.path:
        sys.path.append(str(_TESTS / _folder))


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    """A path hostile payloads try to create; the test fails if it ever exists."""
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "code from a hostile input ran"


@pytest.fixture(scope="session")
def ckpt_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A small Lightning-style checkpoint written by the real ``torch.save``."""
    import torch

    path = tmp_path_factory.mktemp("torch") / "real.ckpt"
    torch.save(
        {
            "epoch": 3,
            "global_step": 120,
            "pytorch-lightning_version": "2.4.0",
            "state_dict": {"model.encoder.conv1.weight": torch.zeros(4, 3, 3, 3)},
            "hyper_parameters": {"lr": 0.001},
        },
        path,
    )
    return path.read_bytes()
