"""Sorting (core): every column, both directions, nulls last, stable."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ckpt_tui.catalog.sort import SORT_FIELDS, resolve_sort_field, sort_entries
from ckpt_tui.model.entry import CheckpointCatalogEntry


def entry(path: str, **fields: object) -> CheckpointCatalogEntry:
    return CheckpointCatalogEntry(checkpoint_path=path, **fields)  # type: ignore[arg-type]


A = entry("a.ckpt", exp_name="beta", hmean=0.7, epoch=0, created_at="2025-01-02T00:00:00Z")
B = entry("b.ckpt", exp_name="Alpha", hmean=None, epoch=3, created_at=None)
C = entry("c.ckpt", exp_name="gamma", hmean=0.9, epoch=None, created_at="2025-01-01T23:00:00-02:00")
D = entry("d.ckpt", exp_name="", hmean=0.7, epoch=1, created_at="2025-01-01T00:00:00+00:00")
ALL = [A, B, C, D]


def paths(entries: list[CheckpointCatalogEntry]) -> list[str]:
    return [e.checkpoint_path[0] for e in entries]


def test_numbers_with_nulls_last_in_both_directions() -> None:
    assert paths(sort_entries(ALL, "hmean")) == ["a", "d", "c", "b"]
    assert paths(sort_entries(ALL, "hmean", descending=True)) == ["c", "a", "d", "b"]
    assert paths(sort_entries(ALL, "epoch")) == ["a", "d", "b", "c"]  # epoch 0 is a value
    assert paths(sort_entries(ALL, "epoch", descending=True)) == ["b", "d", "a", "c"]


def test_text_is_case_insensitive_and_empty_is_null() -> None:
    assert paths(sort_entries(ALL, "experiment")) == ["b", "a", "c", "d"]
    assert paths(sort_entries(ALL, "experiment", descending=True)) == ["c", "a", "b", "d"]


def test_created_compares_instants_across_time_zones() -> None:
    # C is 2025-01-02T01:00Z, after A (2025-01-02T00:00Z).
    assert paths(sort_entries(ALL, "created")) == ["d", "a", "c", "b"]
    assert paths(sort_entries(ALL, "created", descending=True)) == ["c", "a", "d", "b"]


def test_stable_for_equal_keys_in_both_directions() -> None:
    # A and D share hmean 0.7: their input order is kept either way.
    assert paths(sort_entries([D, A], "hmean")) == ["d", "a"]
    assert paths(sort_entries([D, A], "hmean", descending=True)) == ["d", "a"]


def test_aliases_and_unknown_fields() -> None:
    assert resolve_sort_field("Global_Step") == "step"
    assert resolve_sort_field("prec") == "precision"
    with pytest.raises(KeyError, match="unknown sort field 'colour'"):
        sort_entries(ALL, "colour")


@pytest.mark.parametrize("field", sorted(SORT_FIELDS))
def test_every_field_sorts_a_mixed_list(field: str) -> None:
    for descending in (False, True):
        result = sort_entries(ALL, field, descending)
        assert sorted(paths(result)) == ["a", "b", "c", "d"]


@given(
    st.lists(st.one_of(st.none(), st.floats(0, 1, allow_nan=False)), max_size=30),
    st.booleans(),
)
def test_nulls_last_and_order_property(values: list[float | None], descending: bool) -> None:
    entries = [entry(f"{i:03d}.ckpt", hmean=v) for i, v in enumerate(values)]
    result = sort_entries(entries, "hmean", descending)
    known = [e.hmean for e in result if e.hmean is not None]
    assert all(e.hmean is None for e in result[len(known) :])
    assert known == sorted(known, reverse=descending)
    # Stability: among equal values, input order is kept.
    for a, b in itertools.pairwise(result):
        if a.hmean == b.hmean:
            assert a.checkpoint_path < b.checkpoint_path
