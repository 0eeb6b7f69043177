"""``ckpt-tui show`` on real checkpoints: the entry, its provenance and the file's details."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


class Payload:
    """Pickles as a call to os.system that would create a marker file if ever loaded unsafely."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from omegaconf import OmegaConf

    root = tmp_path_factory.mktemp("show") / "dbnet_resnet18_run"
    checkpoints = root / "checkpoints"
    checkpoints.mkdir(parents=True)
    hparams = OmegaConf.create(
        {"model": {"architecture": "dbnet", "encoder": {"model_name": "resnet18"}}}
    )
    torch.save(
        {
            "epoch": 0,
            "global_step": 7,
            "pytorch-lightning_version": "2.6.6",
            "state_dict": {"model.head.binarize.0.weight": torch.zeros(4, 8, 3, 3)},
            "hyper_parameters": hparams,
        },
        checkpoints / "epoch=0-step=7.ckpt",
    )
    marker = root / "PWNED"
    torch.save({"epoch": 1, "global_step": 9, "extra": Payload(marker)}, checkpoints / "evil.ckpt")
    return root


def show(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "show", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_show_json_has_the_entry_and_the_details(run_folder: Path) -> None:
    result = show(str(run_folder / "checkpoints" / "epoch=0-step=7.ckpt"), "--json", "--no-cache")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["epoch"] == 0 and data["global_step"] == 7
    assert data["architecture"] == "dbnet"
    assert data["provenance"]["architecture"].startswith("checkpoint hyper_parameters")
    assert data["details"]["hyper_parameters"]["model"]["encoder"]["model_name"] == "resnet18"
    assert data["details"]["state_dict"]["parameter_count"] == 4 * 8 * 3 * 3


def test_show_reports_the_danger_and_never_runs_it(run_folder: Path) -> None:
    result = show(str(run_folder / "checkpoints" / "evil.ckpt"), "--no-cache")
    assert not (run_folder / "PWNED").exists()
    assert "os.system" in result.stdout
    assert "weights_only=False" in result.stdout


def test_show_usage_errors(tmp_path: Path) -> None:
    assert show(str(tmp_path / "missing.ckpt")).returncode == 2
    (tmp_path / "notes.txt").write_text("x")
    result = show(str(tmp_path / "notes.txt"))
    assert result.returncode == 1  # shown, with the error: it is no checkpoint
    assert "neither a torch zip" in result.stdout
