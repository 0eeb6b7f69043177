"""Session fixture: the writers' corpus (``keys_corpus.write_corpus``), written once."""

from __future__ import annotations

import pytest
from keys_corpus import Corpus, write_corpus


@pytest.fixture(scope="session")
def keys_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """``outputs/`` with one folder per writer, and the truth about its files."""
    root = tmp_path_factory.mktemp("keys") / "outputs"
    root.mkdir()
    return Corpus(root, write_corpus(root))
