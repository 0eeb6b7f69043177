"""Errors never stop training: a sidecar that cannot be written is one warning, nothing more.

We run as root here, and root ignores ``chmod``, so the failures are made real another way:

- a read-only checkpoint folder: a CheckpointIO plugin sets the folder immutable (``chattr +i``,
  which binds root too) right after each checkpoint lands, so the sidecar write that follows
  fails with EPERM exactly as in a read-only folder (skipped where ``chattr`` is unsupported);
- a sidecar name that is taken by a directory, so the atomic rename fails with EISDIR.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from callback_helpers import TinyModule, checkpoints_in, fit, sidecars_in
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from ckpt_tui.callbacks import MetadataCallback, MetadataCallbackWarning
from ckpt_tui.sidecar.files import read_sidecar

EPOCHS = 3


def _chattr(flag: str, path: Path) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    done = subprocess.run([chattr, flag, str(path)], capture_output=True, check=False)
    return done.returncode == 0


def chattr_immutable_works(folder: Path) -> bool:
    """Whether this filesystem and user can set (and clear) the immutable flag."""
    probe = folder / "probe"
    probe.mkdir()
    try:
        if not _chattr("+i", probe):
            return False
        try:
            (probe / "x").write_text("x")
        except PermissionError:
            return True
        return False
    finally:
        _chattr("-i", probe)
        shutil.rmtree(probe, ignore_errors=True)


class ReadOnlyAfterSaveIO(TorchCheckpointIO):
    """Saves normally, then makes the checkpoint folder immutable until the next save."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        folder = Path(path).parent
        if folder.exists():
            _chattr("-i", folder)
        super().save_checkpoint(checkpoint, path, storage_options)
        assert _chattr("+i", folder)


def fit_recording_warnings(
    root: Path, callbacks: list[Any], **kwargs: Any
) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer, _ = fit(root, callbacks, max_epochs=EPOCHS, **kwargs)
    ours = [str(w.message) for w in caught if issubclass(w.category, MetadataCallbackWarning)]
    return trainer, ours


@pytest.fixture(scope="module")
def read_only_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, Any, list[str]]]:
    root = tmp_path_factory.mktemp("read-only-run")
    if not chattr_immutable_works(root):
        pytest.skip("chattr +i is not supported here")
    folder = root / "checkpoints"
    checkpoint = ModelCheckpoint(dirpath=folder, save_top_k=-1)
    try:
        trainer, messages = fit_recording_warnings(
            root, [checkpoint, MetadataCallback()], plugins=[ReadOnlyAfterSaveIO()]
        )
        yield folder, trainer, messages
    finally:
        _chattr("-i", folder)


def test_read_only_folder_training_completes(read_only_run: tuple[Path, Any, list[str]]) -> None:
    folder, trainer, _ = read_only_run
    assert trainer.state.finished
    assert trainer.current_epoch == EPOCHS
    assert len(checkpoints_in(folder)) == EPOCHS


def test_read_only_folder_one_warning_per_checkpoint(
    read_only_run: tuple[Path, Any, list[str]],
) -> None:
    folder, _, messages = read_only_run
    assert len(messages) == EPOCHS
    for ckpt, message in zip(checkpoints_in(folder), sorted(messages), strict=True):
        assert str(ckpt) in message
        assert "Operation not permitted" in message
    assert sidecars_in(folder) == []
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module", params=[True, False], ids=["background", "inline"])
def blocked_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Any, list[str]]:
    root = tmp_path_factory.mktemp("blocked-run")
    folder = root / "checkpoints"
    blocker = folder / "ep1.metadata.yaml"
    blocker.mkdir(parents=True)
    (blocker / "keep").write_text("a directory where the sidecar should go\n")
    checkpoint = ModelCheckpoint(
        dirpath=folder, filename="ep{epoch}", auto_insert_metric_name=False, save_top_k=-1
    )
    callback = MetadataCallback(background_writes=request.param)
    trainer, messages = fit_recording_warnings(root, [checkpoint, callback])
    return folder, trainer, messages


def test_blocked_sidecar_is_one_warning_and_training_completes(
    blocked_run: tuple[Path, Any, list[str]],
) -> None:
    folder, trainer, messages = blocked_run
    assert trainer.state.finished
    assert trainer.current_epoch == EPOCHS
    assert [ckpt.name for ckpt in checkpoints_in(folder)] == ["ep0.ckpt", "ep1.ckpt", "ep2.ckpt"]
    assert len(messages) == 1
    assert str(folder / "ep1.ckpt") in messages[0]
    assert "Is a directory" in messages[0]
    # The other checkpoints got their sidecars, and nothing half-written was left behind.
    for name in ("ep0.ckpt", "ep2.ckpt"):
        assert read_sidecar(folder / name).metadata is not None
    assert (folder / "ep1.metadata.yaml" / "keep").exists()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


class CrashAtStep6(TinyModule):
    """Fails in the middle of epoch 1."""

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        if self.global_step == 6:
            raise RuntimeError("boom")
        return super().training_step(batch, batch_idx)


def test_a_crash_keeps_the_sidecars_already_due(tmp_path: Path) -> None:
    import lightning.pytorch as L

    folder = tmp_path / "checkpoints"
    checkpoint = ModelCheckpoint(dirpath=folder, save_top_k=-1)
    trainer = L.Trainer(
        max_epochs=3,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[checkpoint, MetadataCallback()],
    )
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(CrashAtStep6(None))
    assert [ckpt.name for ckpt in checkpoints_in(folder)] == ["epoch=0-step=4.ckpt"]
    metadata = read_sidecar(folder / "epoch=0-step=4.ckpt").metadata
    assert metadata is not None and metadata.training.global_step == 4
