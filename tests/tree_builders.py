"""Building blocks for the test trees, shared by every test folder that writes one.

Hydra run configs (as text, so each folder keeps its own exact wording), tiny Lightning-style
checkpoints written by the real ``torch.save``, and copies of session-wide templates (a test that
changes a tree works on its own copy, so the template is written once per session).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: A CRAFT / VGG16-BN model block of a Hydra config, as both the TUI tree and the Hydra app use it.
CRAFT_MODEL_YAML = """\
model:
  architecture: craft
  encoder:
    model_name: vgg16_bn
  decoder:
    name: craft_decoder
  head:
    name: craft_head
  loss:
    name: craft_loss
"""

_DBNET_CONFIG = """\
exp_name: {exp_name}
model:
{target}  architecture: dbnet
  encoder:
    model_name: resnet18
  decoder:
    name: pan_decoder
  head:
    name: db_head
  loss:
    name: db_loss
trainer:
  max_epochs: 20
callbacks:
  model_checkpoint:
    monitor: val/hmean
    mode: max
    save_top_k: 3
    save_last: true
"""


def dbnet_hydra_config(exp_name: str, *, target: str | None = None) -> str:
    """A Hydra run's ``config.yaml`` for a DBNet / ResNet-18 run named ``exp_name``.

    ``target`` adds the model's ``_target_`` line (some trees name the class, some do not).
    """
    return _DBNET_CONFIG.format(
        exp_name=exp_name, target=f"  _target_: {target}\n" if target else ""
    )


def write_hydra_config(run: Path, text: str) -> Path:
    """Write ``run/.hydra/config.yaml`` (creating the folders) and return the run folder."""
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(text)
    return run


def save_lightning_checkpoint(
    path: Path,
    epoch: int,
    step: int,
    *,
    lightning_version: str = "2.4.0",
    weight_shape: tuple[int, ...] = (2, 4, 3, 3),
) -> None:
    """A tiny Lightning-style checkpoint (one zero head weight) written by the real torch.

    The version and the weight's shape are parameters: each tree's tests read them back.
    """
    import torch  # here, not at the top: importing this module must not import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "epoch": epoch,
            "global_step": step,
            "pytorch-lightning_version": lightning_version,
            "state_dict": {"model.head.binarize.0.weight": torch.zeros(*weight_shape)},
        },
        path,
    )


def copy_tree(source: Path, dest: Path) -> Path:
    """A copy of ``source`` at ``dest`` (links copied as links, times kept); returns ``dest``."""
    shutil.copytree(source, dest, symlinks=True)
    return dest


def copy_to_workdir(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of ``template`` at ``tmp_path/work/outputs``, with ``tmp_path/work`` as the
    working directory, so the app shows the root as ``outputs`` (snapshots stay deterministic).

    Returns the relative ``Path("outputs")``.
    """
    work = tmp_path / "work"
    copy_tree(template, work / "outputs")
    monkeypatch.chdir(work)
    return Path("outputs")
