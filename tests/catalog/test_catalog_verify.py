"""The safety verdict belongs to the file: a sidecar's entry starts unchecked, verification reads
the file and keeps every value the sidecar gave."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.verify import verify_entries
from ckpt_tui.model.schema import (
    CheckpointMetadataV1,
    EncoderInfo,
    MetricsInfo,
    ModelInfo,
    TrainingInfo,
)
from ckpt_tui.sidecar.files import save_metadata


@pytest.fixture(scope="module")
def verdict_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    root = tmp_path_factory.mktemp("verdicts")
    plain = {"epoch": 3, "state_dict": {"w": torch.zeros(2, 2)}}
    torch.save(plain, root / "clean.ckpt")
    # A real pickle naming os.system: torch.load(weights_only=False) would resolve it.
    torch.save(
        {"epoch": 4, "state_dict": {"w": torch.zeros(2)}, "hook": os.system}, root / "bad.ckpt"
    )
    for name, epoch in (("clean", 3), ("bad", 4)):
        save_metadata(
            CheckpointMetadataV1(
                checkpoint_path=f"{name}.ckpt",
                exp_name="verdicts",
                created_at="2026-12-07T10:00:00+00:00",
                training=TrainingInfo(epoch=epoch, global_step=10),
                model=ModelInfo(architecture="dbnet", encoder=EncoderInfo(model_name="resnet18")),
                metrics=MetricsInfo(hmean=0.5),
            ),
            root / f"{name}.ckpt",
        )
    return root


def test_a_sidecar_entry_is_unchecked_until_its_file_is_read(verdict_tree: Path) -> None:
    catalog = build_catalog(verdict_tree, use_cache=False)
    by_name = {e.checkpoint_path: e for e in catalog.entries}
    assert {e.source for e in catalog.entries} == {"sidecar"}
    assert {e.safety for e in catalog.entries} == {"unchecked"}
    updates = list(verify_entries(catalog.entries))
    assert updates[-1].final and updates[-1].total == 2 and updates[-1].done == 2
    verified = {e.checkpoint_path: e for u in updates for e in u.entries}
    assert verified["clean.ckpt"].safety == "safe" and verified["clean.ckpt"].unsafe_globals == []
    bad = verified["bad.ckpt"]
    assert bad.safety == "unsafe" and "os.system" in bad.unsafe_globals
    assert any(issue.code.startswith("security.") for issue in bad.issues)
    # Every value the sidecar gave is unchanged; only the verdict is new.
    for path, entry in verified.items():
        before = by_name[path]
        assert (entry.epoch, entry.hmean, entry.source) == (before.epoch, before.hmean, "sidecar")


def test_verification_skips_what_is_already_known(verdict_tree: Path) -> None:
    catalog = build_catalog(verdict_tree, use_cache=False)
    first = [e for u in verify_entries(catalog.entries) for e in u.entries]
    again = list(verify_entries(first))
    assert again[-1].total == 0 and [e for u in again for e in u.entries] == []
