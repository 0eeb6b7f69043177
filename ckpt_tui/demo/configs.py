"""The demo runs' configs: Hydra's composed config, its overrides and ``hydra.yaml``.

:func:`run_config` gives the config as Hydra saves it in ``.hydra/config.yaml`` (interpolations
such as ``${hydra:runtime.output_dir}`` left unresolved) or, with ``resolved=True``, as the
LightningModule stored it in ``hyper_parameters``. Pure data, no torch.
"""

from __future__ import annotations

from typing import Any

from ckpt_tui.demo.spec import DECODER_IN_CHANNELS, TARGETS, TRAIN_ROOT, Run, optimizer_kwargs

MODEL_TARGET = "ocr.models.architecture.OCRModel"
"""``model._target_``: a class, whose lower-cased name ("ocrmodel") is not an architecture."""


def _model(run: Run) -> dict[str, Any]:
    m = run.model
    encoder = {
        "_target_": "ocr.models.encoder.timm_backbone.TimmBackbone",
        "model_name": m.encoder,
        "pretrained": True,
        "frozen": m.frozen_encoder,
        "select_features": [1, 2, 3, 4],
    }
    decoder = {
        "_target_": TARGETS[m.decoder],
        "name": m.decoder,
        "in_channels": DECODER_IN_CHANNELS[m.encoder],
        "inner_channels": 256,
        "output_channels": 64,
    }
    head = {"_target_": TARGETS[m.head], "name": m.head, "in_channels": 256}
    if m.head == "db_head":
        head.update(upscale=4, k=50)
    loss: dict[str, Any] = {"_target_": TARGETS[m.loss], "name": m.loss}
    if m.loss == "db_loss":
        loss.update(negative_ratio=3.0, prob_map_loss_weight=5.0, thresh_map_loss_weight=10.0)
    model: dict[str, Any] = {"_target_": MODEL_TARGET}
    if run.arch_key == "component_overrides":
        # The architecture registry supplies the components; the run overrides them by name.
        model["architecture"] = m.architecture
        model["component_overrides"] = {
            "encoder": {"model_name": m.encoder, "pretrained": True},
            "decoder": {"name": m.decoder},
            "head": {"name": m.head},
            "loss": {"name": m.loss},
        }
    else:
        model[run.arch_key] = m.architecture
        model.update(encoder=encoder, decoder=decoder, head=head, loss=loss)
    model["optimizer"] = {
        "_target_": f"torch.optim.{run.optimizer}",
        "lr": run.lr,
        **optimizer_kwargs(run.optimizer),
    }
    model["scheduler"] = {
        "_target_": "torch.optim.lr_scheduler.CosineAnnealingLR",
        "T_max": run.planned_epochs,
        "eta_min": 1.0e-06,
    }
    return model


def _checkpoint_callback(run: Run, resolved: bool) -> dict[str, Any]:
    cfg = run.checkpointing
    dirpath = (
        f"{TRAIN_ROOT}/{run.folder}/{run.ckpt_dir}"
        if resolved
        else "${hydra:runtime.output_dir}/" + run.ckpt_dir.replace(run.exp_name, "${exp_name}")
    )
    filename = cfg.filename
    if filename and "20251009_015037" in filename and not resolved:
        filename = filename.replace("20251009_015037", "${now:%Y%m%d_%H%M%S}")
    callback: dict[str, Any] = {
        "_target_": "lightning.pytorch.callbacks.ModelCheckpoint",
        "dirpath": dirpath,
        "filename": filename,
        "monitor": cfg.monitor,
        "mode": cfg.mode,
        "save_top_k": cfg.save_top_k,
        "save_last": cfg.save_last,
        "auto_insert_metric_name": cfg.auto_insert_metric_name,
    }
    if cfg.save_weights_only:
        callback["save_weights_only"] = True
    if cfg.every_n_epochs:
        callback["every_n_epochs"] = cfg.every_n_epochs
    if cfg.every_n_train_steps:
        callback["every_n_train_steps"] = cfg.every_n_train_steps
    return callback


def run_config(run: Run, *, resolved: bool) -> dict[str, Any]:
    """The run's composed config (Hydra's ``config.yaml``, or the resolved ``hyper_parameters``)."""
    out_dir = f"{TRAIN_ROOT}/{run.folder}" if resolved else "${hydra:runtime.output_dir}"
    root = TRAIN_ROOT if resolved else "${paths.root_dir}"
    config: dict[str, Any] = {
        "exp_name": run.exp_name,
        "seed": 42,
        "paths": {"root_dir": TRAIN_ROOT, "output_dir": out_dir},
        "dataset": {
            "name": "receipts_v2",
            "train_dir": f"{root}/data/receipts_v2/train",
            "val_dir": f"{root}/data/receipts_v2/val",
            "image_size": 1024,
            "batch_size": 8,
            "num_workers": 8,
        },
        "model": _model(run),
        "trainer": {
            "accelerator": "gpu",
            "devices": 1,
            "max_epochs": run.planned_epochs,
            "precision": 32,
            "gradient_clip_val": 5.0,
            "log_every_n_steps": 50,
            "check_val_every_n_epoch": None if run.val_check_interval else 1,
        },
        "callbacks": {"model_checkpoint": _checkpoint_callback(run, resolved)},
    }
    if run.val_check_interval:
        config["trainer"]["val_check_interval"] = run.val_check_interval
    callbacks = config["callbacks"]
    if run.early_stopping:
        callbacks["early_stopping"] = {
            "_target_": "lightning.pytorch.callbacks.EarlyStopping",
            "monitor": "val/hmean",
            "mode": "max",
            "patience": 20,
        }
    callbacks["lr_monitor"] = {
        "_target_": "lightning.pytorch.callbacks.LearningRateMonitor",
        "logging_interval": "step",
    }
    if (
        run.config == "hydra"
        and set(run.sidecars.values()) == {"stem"}
        and "last.ckpt" in run.sidecars
    ):
        # This run trained with the metadata callback, which wrote a sidecar for every file.
        callbacks["metadata"] = {
            "_target_": "ocr.lightning_modules.callbacks.metadata_callback.MetadataCallback"
        }
    if run.wandb_id:
        config["logger"] = {
            "wandb": {
                "_target_": "lightning.pytorch.loggers.WandbLogger",
                "project": "ocr-text-detection",
                "name": run.exp_name if resolved else "${exp_name}",
                "id": run.wandb_id,
                "offline": False,
            }
        }
    return config


def lightning_hparams(run: Run) -> dict[str, Any]:
    """``hyper_parameters`` of a run with no Hydra (Lightning's ``hparams.yaml`` holds the same)."""
    config = run_config(run, resolved=True)
    if run.config == "lightning_logs":
        # A bare Trainer script: no experiment name, no callbacks or logger in its hparams.
        return {"model": config["model"], "trainer": config["trainer"]}
    return config


def datamodule_hparams(run: Run) -> dict[str, Any]:
    """``datamodule_hyper_parameters`` for the runs whose DataModule saved its own."""
    return dict(run_config(run, resolved=True)["dataset"])


def overrides(run: Run) -> list[str]:
    """Hydra's ``overrides.yaml``: the command-line overrides of the run."""
    items = [f"exp_name={run.exp_name}"]
    if run.arch_key != "component_overrides":
        items.append(f"model/encoder={run.model.encoder}")
    items.append(f"trainer.max_epochs={run.planned_epochs}")
    if run.wandb_id:
        items.append(f"logger.wandb.id={run.wandb_id}")
    return items


def hydra_yaml(run: Run) -> dict[str, Any]:
    """A trimmed Hydra 1.3 ``hydra.yaml`` (run dir, job, runtime and choices)."""
    run_dir = (
        "outputs/${exp_name}_${now:%Y%m%d}"
        if not run.folder.split("/")[0].startswith("20")
        else "outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}"
    )
    return {
        "hydra": {
            "run": {"dir": run_dir},
            "sweep": {
                "dir": "multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}",
                "subdir": "${hydra.job.num}",
            },
            "mode": "RUN",
            "searchpath": [],
            "output_subdir": ".hydra",
            "overrides": {"hydra": ["hydra.mode=RUN"], "task": overrides(run)},
            "job": {
                "name": "train",
                "chdir": None,
                "override_dirname": ",".join(overrides(run)),
                "id": "???",
                "num": "???",
                "config_name": "train",
                "env_set": {},
                "env_copy": [],
            },
            "runtime": {
                "version": "1.3.2",
                "version_base": "1.3",
                "cwd": TRAIN_ROOT,
                "config_sources": [
                    {"path": "hydra.conf", "schema": "pkg", "provider": "hydra"},
                    {"path": f"{TRAIN_ROOT}/configs", "schema": "file", "provider": "main"},
                ],
                "output_dir": f"{TRAIN_ROOT}/{run.folder}",
                "choices": {
                    "model/encoder": run.model.encoder,
                    "model/decoder": run.model.decoder,
                    "model/head": run.model.head,
                    "trainer": "default",
                    "hydra/job_logging": "default",
                },
            },
            "verbose": False,
        }
    }
