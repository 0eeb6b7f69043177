"""CatalogState: the one merge of a streamed build's updates, on real builds of real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ckpt_tui.catalog.api import CatalogState, CatalogUpdate, build_catalog, iter_catalog


@pytest.fixture
def mixed_tree(tmp_path: Path, write_checkpoint, write_sidecar) -> Path:
    root = tmp_path / "outputs"
    for index in range(6):
        ckpt = write_checkpoint(root / "run" / "checkpoints" / f"epoch={index}.ckpt")
        if index % 2 == 0:
            write_sidecar(ckpt, exp_name="with-sidecar")
    return root


def _json(entries: object) -> list[dict[str, object]]:
    return [entry.to_json() for entry in entries]  # type: ignore[attr-defined]


def test_applying_a_build_gives_its_last_entries_in_walk_order(mixed_tree: Path) -> None:
    updates = list(iter_catalog(mixed_tree, use_cache=False))
    state = CatalogState()
    for update in updates:
        state.apply(update)
    last: dict[str, object] = {}
    for update in updates:
        for entry in update.entries:
            last[entry.checkpoint_path] = entry
    assert state.finished and len(state) == 6
    # the slow tier's replacements win, and keep the place of the entry they replace
    assert _json(state.ordered()) == _json(last.values())
    assert [e.checkpoint_path for e in state.by_path()] == sorted(last)
    assert (state.done, state.total) == (updates[-1].done, updates[-1].total) == (3, 3)
    assert _json(build_catalog(mixed_tree, use_cache=False).entries) == _json(state.ordered())


def test_take_passes_each_change_on_once(mixed_tree: Path) -> None:
    source, target = CatalogState(), CatalogState()
    taken: list[CatalogUpdate] = []
    for update in iter_catalog(mixed_tree, use_cache=False):
        source.apply(update)
        if source.has_news or update.final:
            taken.append(source.take())
    assert taken[-1].final and not any(update.final for update in taken[:-1])
    assert not source.has_news and source.take().entries == []
    for update in taken:
        target.apply(update)
    assert _json(target.ordered()) == _json(source.ordered())
    # coalesced: the fast-tier entry and its slow-tier replacement travel together when taken
    # together, so no path appears twice in one taken update
    for update in taken:
        paths = [entry.checkpoint_path for entry in update.entries]
        assert len(paths) == len(set(paths))


def test_a_rescan_replaces_changed_entries_and_removes_the_missing(
    mixed_tree: Path, write_checkpoint
) -> None:
    state = CatalogState()
    for update in iter_catalog(mixed_tree):
        state.apply(update)
    first = dict(state.entries)

    # An unchanged tree: every entry comes again, equal, so nothing changes.
    state.start()
    assert [state.apply(update) for update in iter_catalog(mixed_tree)] == [False] * len(
        list(iter_catalog(mixed_tree))
    )
    assert dict(state.entries) == first

    folder = mixed_tree / "run" / "checkpoints"
    (folder / "epoch=1.ckpt").unlink()
    write_checkpoint(folder / "epoch=9.ckpt", kind="bare")
    state.start()
    updates = list(iter_catalog(mixed_tree))
    changes = [state.apply(update) for update in updates[:-1]]
    # until the build is final, a missing checkpoint may still be coming: it stays
    assert "run/checkpoints/epoch=1.ckpt" in state
    assert state.apply(updates[-1]) or any(changes)
    assert "run/checkpoints/epoch=1.ckpt" not in state
    assert "run/checkpoints/epoch=9.ckpt" in state
    assert len(state) == 6


def test_removal_alone_is_a_change(tmp_path: Path, mixed_tree: Path) -> None:
    state = CatalogState()
    for update in iter_catalog(mixed_tree):
        state.apply(update)
    shutil.rmtree(mixed_tree / "run")
    (mixed_tree / "run").mkdir()
    state.start()
    assert [state.apply(update) for update in iter_catalog(mixed_tree)][-1] is True
    assert len(state) == 0 and state.by_path() == []


def test_scan_issues_belong_to_the_current_build(tmp_path: Path, write_checkpoint) -> None:
    root = tmp_path / "outputs"
    write_checkpoint(root / "run" / "last.ckpt")
    (root / "run" / "up").symlink_to(root)  # a link loop: reported, never followed
    state = CatalogState()
    for update in iter_catalog(root):
        state.apply(update)
    issues = list(state.scan_issues)
    assert [issue.code for issue in issues] == ["scan.link-loop"]
    state.start()
    assert state.scan_issues == [] and not state.finished
    for update in iter_catalog(root):
        state.apply(update)
    assert state.scan_issues == issues
