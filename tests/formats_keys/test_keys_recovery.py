"""The share of the fields the corpus's files hold that the catalog recovers, and none wrong."""

from __future__ import annotations

from keys_corpus import Corpus
from keys_recovery import measure

from ckpt_tui import build_catalog


def test_at_least_90_percent_of_the_fields_are_recovered_none_wrong(keys_corpus: Corpus) -> None:
    entries = [
        entry.to_dict() for entry in build_catalog(keys_corpus.root, use_cache=False).entries
    ]
    result = measure(entries, keys_corpus.expected)
    print(f"\nfield recovery over {len(keys_corpus.expected)} files: {result.line()}")
    for miss in result.missed:
        print(f"  missed: {miss}")
    assert result.wrong == []
    assert result.ratio >= 0.9, result.missed
