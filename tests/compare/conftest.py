"""Session-scoped real checkpoints for the comparison tests (see ``compare_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_helpers import Payload, fit_run, save_plain


@pytest.fixture(scope="session")
def lightning_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two real Lightning checkpoints whose encoders differ (conv vs mlp), one per run."""
    root = tmp_path_factory.mktemp("compare-lightning") / "outputs"
    return fit_run(root / "conv_run", "conv"), fit_run(root / "mlp_run", "mlp")


@pytest.fixture(scope="session")
def resaved(lightning_pair: tuple[Path, Path]) -> tuple[Path, Path, str]:
    """The conv checkpoint re-saved beside itself with one tensor reshaped and ``lr`` changed;
    (original, copy, reshaped key)."""
    import torch

    original = lightning_pair[0]
    data = torch.load(original, weights_only=True, map_location="cpu")
    key = "head.weight"
    data["state_dict"][key] = data["state_dict"][key].reshape(4, 8)
    data["hyper_parameters"]["lr"] = 0.5
    copy = original.with_name("resaved.ckpt")
    torch.save(data, copy)
    return original, copy, key


@pytest.fixture(scope="session")
def omegaconf_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same hyper-parameters as an OmegaConf DictConfig and as a plain dict."""
    from omegaconf import OmegaConf

    values = {"model": {"encoder": {"model_name": "resnet18", "channels": [64, 128]}}, "lr": 0.1}
    root = tmp_path_factory.mktemp("compare-omegaconf") / "outputs"
    return (
        save_plain(root / "omega" / "checkpoints" / "a.ckpt", OmegaConf.create(values)),
        save_plain(root / "plain" / "checkpoints" / "b.ckpt", values),
    )


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A checkpoint whose pickle would create a marker file if loaded unsafely, a harmless
    twin of it, and the marker's path; (hostile, twin, marker)."""
    root = tmp_path_factory.mktemp("compare-hostile") / "outputs"
    marker = root / "PWNED"
    hparams = {"lr": 0.1}
    twin = save_plain(root / "run" / "checkpoints" / "twin.ckpt", hparams)
    bad = save_plain(root / "run" / "checkpoints" / "bad.ckpt", hparams, payload=Payload(marker))
    return bad, twin, marker
