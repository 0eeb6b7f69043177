"""The tree fingerprint behind live updates: the scan's own walk gives the poll's baseline.

The poll (``tree_fingerprint``) and the scan (``iter_catalog(fingerprint=...)``) must agree on an
unchanged tree, or every poll would rescan; and every change the scan did not see, made anywhere
in the tree at any time during or after the scan, must change the fingerprint.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from catalog_helpers import write_text

from ckpt_tui.catalog.api import iter_catalog
from ckpt_tui.catalog.fingerprint import TreeFingerprint, tree_fingerprint

WriteCheckpoint = Callable[..., Path]


@pytest.fixture
def tree(
    tmp_path: Path, write_checkpoint: WriteCheckpoint, write_sidecar: Callable[..., Path]
) -> Path:
    """Three runs: sidecars, a Hydra config, hparams, a link and a nested layout."""
    root = tmp_path / "outputs"
    for run in ("a", "b", "c"):
        for epoch in range(3):
            ckpt = write_checkpoint(root / run / "checkpoints" / f"epoch={epoch}.ckpt")
            if run == "a":
                write_sidecar(ckpt)
    write_text(root / "b" / ".hydra" / "config.yaml", "model:\n  architecture: dbnet\n")
    write_text(root / "c" / "hparams.yaml", "lr: 0.1\n")
    (root / "a" / "checkpoints" / "last.ckpt").symlink_to("epoch=2.ckpt")
    write_checkpoint(root / "a" / "checkpoints" / "bare.pt", "bare")  # another size
    write_checkpoint(root / "c" / "checkpoints" / "inner" / "checkpoints" / "deep.ckpt", "bare")
    return root


def scan_fingerprint(root: Path, *, use_cache: bool = True) -> int:
    fingerprint = TreeFingerprint()
    updates = list(iter_catalog(root, use_cache=use_cache, fingerprint=fingerprint))
    assert updates[-1].final
    return fingerprint.value()


@pytest.mark.parametrize("use_cache", [True, False])
def test_the_scan_and_the_poll_agree_on_an_unchanged_tree(tree: Path, use_cache: bool) -> None:
    assert scan_fingerprint(tree, use_cache=use_cache) == tree_fingerprint(tree)
    assert scan_fingerprint(tree) == tree_fingerprint(tree)  # and again, from the cache


def test_a_relative_root_gives_the_same_fingerprint(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree.parent)
    assert tree_fingerprint("outputs") == scan_fingerprint(tree)


def touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


CHANGES: dict[str, Callable[[Path, WriteCheckpoint], object]] = {
    "a checkpoint three folders deep": lambda root, write: write(
        root / "b" / "checkpoints" / "x" / "y" / "z" / "new.ckpt"
    ),
    "a checkpoint removed": lambda root, _: (root / "b" / "checkpoints" / "epoch=1.ckpt").unlink(),
    "a checkpoint rewritten": lambda root, _: touch_later(
        root / "c" / "checkpoints" / "epoch=0.ckpt"
    ),
    "a sidecar edited": lambda root, _: touch_later(
        root / "a" / "checkpoints" / "epoch=0.metadata.yaml"
    ),
    "a sidecar added": lambda root, _: write_text(
        root / "b" / "checkpoints" / "epoch=0.metadata.yaml", "schema_version: '1.0'\n"
    ),
    "a Hydra config edited": lambda root, _: write_text(
        root / "b" / ".hydra" / "config.yaml", "model:\n  architecture: pan\n"
    ),
    "an hparams file removed": lambda root, _: (root / "c" / "hparams.yaml").unlink(),
    "a link retargeted": lambda root, _: (
        (root / "a" / "checkpoints" / "last.ckpt").unlink(),
        (root / "a" / "checkpoints" / "last.ckpt").symlink_to("bare.pt"),
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_shows(tree: Path, write_checkpoint: WriteCheckpoint, change: str) -> None:
    before = scan_fingerprint(tree)
    CHANGES[change](tree, write_checkpoint)
    assert tree_fingerprint(tree) != before


def test_a_change_during_the_scan_to_a_folder_it_already_read_shows(
    tree: Path, write_checkpoint: WriteCheckpoint
) -> None:
    fingerprint = TreeFingerprint()
    updates = iter_catalog(tree, use_cache=False, fingerprint=fingerprint)
    first = next(updates)
    assert first.entries
    # The first update's folder has been read: change a checkpoint in it, then let the scan end.
    touch_later(tree / first.entries[0].checkpoint_path)
    for _ in updates:
        pass
    assert tree_fingerprint(tree) != fingerprint.value()
