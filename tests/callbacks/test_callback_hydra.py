"""Hydra: the shipped ``configs/callbacks/metadata.yaml`` instantiates the callback, and inside a
real Hydra app the sidecars point at Hydra's own run config."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import hydra.utils
import pytest
from callback_helpers import assert_one_sidecar_each, checkpoints_in
from omegaconf import OmegaConf
from tree_builders import CRAFT_MODEL_YAML

from ckpt_tui.sidecar.files import read_sidecar

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "callbacks" / "metadata.yaml"

APP = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import hydra
    import lightning.pytorch as L
    import torch
    from hydra.core.hydra_config import HydraConfig
    from lightning.pytorch.callbacks import ModelCheckpoint


    class Module(L.LightningModule):
        def __init__(self, cfg):
            super().__init__()
            self.save_hyperparameters(cfg)
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            loss = self.layer(batch[0]).pow(2).mean()
            self.log("train/loss", loss)
            return loss

        def validation_step(self, batch, batch_idx):
            self.log("val/hmean", 0.5 + 0.1 * self.current_epoch)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)


    def loader():
        data = torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=2)


    @hydra.main(config_path="conf", config_name="config", version_base=None)
    def main(cfg):
        callbacks = [hydra.utils.instantiate(node) for node in cfg.callbacks.values()]
        # Checkpoints outside the run folder: only Hydra itself can say where its config is.
        dirpath = Path(cfg.checkpoint_dir)
        callbacks.append(ModelCheckpoint(dirpath=dirpath, monitor="val/hmean", mode="max"))
        trainer = L.Trainer(
            max_epochs=2, accelerator="cpu", devices=1, logger=False, callbacks=callbacks,
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
            default_root_dir=HydraConfig.get().runtime.output_dir,
        )
        trainer.fit(Module(cfg), loader(), loader())


    main()
    """
)

ROOT_CONFIG = f"""\
defaults:
  - callbacks: metadata
  - _self_
exp_name: hydra-exp
checkpoint_dir: ???
{CRAFT_MODEL_YAML}"""


def test_config_instantiates_a_lightning_callback() -> None:
    lightning = pytest.importorskip("lightning.pytorch")
    callback = hydra.utils.instantiate(OmegaConf.load(CONFIG).metadata)
    assert type(callback).__name__ == "MetadataCallback"
    assert isinstance(callback, lightning.Callback)
    assert callback.metric_keys.hmean == "val/hmean"
    assert callback.model_keys.encoder == "model.encoder.model_name"
    assert callback.exp_name is None


def test_config_overrides_reach_the_callback() -> None:
    config = OmegaConf.load(CONFIG)
    config.metadata.hmean_key = "val/f1"
    config.metadata.exp_name = "named"
    callback = hydra.utils.instantiate(config.metadata)
    assert callback.metric_keys.hmean == "val/f1"
    assert callback.exp_name == "named"


@pytest.fixture(scope="module")
def hydra_app_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hydra-app")
    (root / "conf" / "callbacks").mkdir(parents=True)
    (root / "conf" / "callbacks" / "metadata.yaml").write_text(CONFIG.read_text())
    (root / "conf" / "config.yaml").write_text(ROOT_CONFIG)
    (root / "app.py").write_text(APP)
    run_dir = root / "outputs" / "run-1"
    checkpoint_dir = root / "elsewhere" / "ckpts"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            str(root / "app.py"),
            f"hydra.run.dir={run_dir}",
            f"checkpoint_dir={checkpoint_dir}",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir, checkpoint_dir


def test_hydra_app_sidecars(hydra_app_run: tuple[Path, Path]) -> None:
    run_dir, checkpoint_dir = hydra_app_run
    assert_one_sidecar_each(checkpoint_dir)
    for ckpt in checkpoints_in(checkpoint_dir):
        metadata = read_sidecar(ckpt).metadata
        assert metadata is not None
        assert metadata.hydra_config_path == str(run_dir / ".hydra" / "config.yaml")
        # Names and exp_name from the Hydra config the module saved as its hparams.
        assert metadata.exp_name == "hydra-exp"
        assert metadata.model.architecture == "craft"
        assert metadata.model.encoder.model_name == "vgg16_bn"
        assert metadata.model.decoder.name == "craft_decoder"
        assert metadata.model.head.name == "craft_head"
        assert metadata.model.loss.name == "craft_loss"
        assert metadata.training.max_epochs == 2
        assert metadata.checkpointing.monitor == "val/hmean"


def test_docs_snippet_is_the_tested_config() -> None:
    doc = (REPO / "docs" / "hydra-callback.md").read_text()
    after_marker = doc.split("<!-- hydra-snippet:", 1)[1]
    snippet = after_marker.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert snippet == CONFIG.read_text()
