"""Fixtures for the MetadataCallback tests (helpers live in ``callback_helpers``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from callback_helpers import CheckpointTruth


@pytest.fixture(scope="session")
def truth() -> Iterator[CheckpointTruth]:
    """The session's checkpoint reader (see :class:`CheckpointTruth`)."""
    reader = CheckpointTruth()
    yield reader
    reader.close()
