"""Run-level facts for a sidecar: experiment name, planned epochs, Hydra config, W&B run id.

All of it is read without side effects: Hydra is consulted only when the program already imported
it, and a W&B run id only when the WandbLogger already started its run (reading
``WandbLogger.experiment`` would start one).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ckpt_tui.callbacks.model_info import lookup
from ckpt_tui.model.placeholders import known
from ckpt_tui.sources.path import CHECKPOINT_FOLDERS

#: How many folders above the checkpoint's a ``.hydra/config.yaml`` is looked for.
HYDRA_LOOKUP_LEVELS = 4


def max_epochs_of(trainer: Any) -> int | None:
    """The planned number of epochs, ``None`` when unlimited (``-1``/``None``) or unknown."""
    value = getattr(trainer, "max_epochs", None)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def hydra_output_dir() -> Path | None:
    """Hydra's runtime output folder when a Hydra app is running in this process, else ``None``."""
    module = sys.modules.get("hydra.core.hydra_config")
    if module is None:  # Hydra not imported, so certainly not running: don't import it
        return None
    hydra_config = getattr(module, "HydraConfig", None)
    try:
        if hydra_config is None or not hydra_config.initialized():
            return None
        output_dir = hydra_config.get().runtime.output_dir
    except Exception:  # a half-initialised or foreign Hydra: treat as not running
        return None
    return Path(output_dir) if output_dir else None


def _hydra_runtime_config() -> Path | None:
    module = sys.modules.get("hydra.core.hydra_config")
    output_dir = hydra_output_dir()
    if module is None or output_dir is None:
        return None
    try:
        subdir = module.HydraConfig.get().output_subdir
    except Exception:
        return None
    if not subdir:  # hydra.output_subdir=null: Hydra wrote no config
        return None
    candidate = output_dir / str(subdir) / "config.yaml"
    return candidate if candidate.is_file() else None


def hydra_config_path(checkpoint_dir: Path) -> str | None:
    """The run's Hydra ``config.yaml``: Hydra's output folder, else a ``.hydra`` upward lookup."""
    runtime = _hydra_runtime_config()
    if runtime is not None:
        return str(runtime.absolute())
    folder = checkpoint_dir.absolute()
    for candidate_dir in [folder, *folder.parents][: HYDRA_LOOKUP_LEVELS + 1]:
        candidate = candidate_dir / ".hydra" / "config.yaml"
        if candidate.is_file():
            return str(candidate)
    return None


def wandb_run_id(trainer: Any) -> str | None:
    """The id of a WandbLogger's run, only when that run was already started."""
    for logger in getattr(trainer, "loggers", None) or ():
        if type(logger).__name__ != "WandbLogger":
            continue
        # ``logger.experiment`` would call wandb.init(); ``_experiment`` is set only once it ran.
        run = getattr(logger, "_experiment", None)
        run_id = getattr(run, "id", None) if run is not None else None
        if isinstance(run_id, str) and run_id:
            return run_id
    return None


def run_folder_name(checkpoint_dir: Path) -> str | None:
    """The run's folder name: Hydra's output folder, else the checkpoint folder (or its parent)."""
    output_dir = hydra_output_dir()
    if output_dir is not None and output_dir.name:
        return output_dir.name
    folder = checkpoint_dir.absolute()
    if folder.name.lower() in CHECKPOINT_FOLDERS:  # the catalog's list: one run name
        folder = folder.parent
    return folder.name or None


def exp_name_of(
    trainer: Any, pl_module: Any, checkpoint_dir: Path, *, explicit: str | None, hparams_key: str
) -> str | None:
    """The experiment name: explicit, else hparams, else the logger's name, else the run folder
    (``None`` when none of them gives one)."""
    return exp_name_and_source(
        trainer, pl_module, checkpoint_dir, explicit=explicit, hparams_key=hparams_key
    )[0]


def exp_name_and_source(
    trainer: Any, pl_module: Any, checkpoint_dir: Path, *, explicit: str | None, hparams_key: str
) -> tuple[str | None, str]:
    """:func:`exp_name_of`, and where the name came from (its provenance)."""
    if explicit:
        return explicit, "MetadataCallback exp_name"
    value = lookup(getattr(pl_module, "hparams", None), hparams_key) if hparams_key else None
    if isinstance(value, str) and known(value.strip()):
        return value.strip(), f"hparams {hparams_key}"
    for logger in getattr(trainer, "loggers", None) or ():
        name = getattr(logger, "name", None)
        if isinstance(name, str) and known(name.strip()):
            return name.strip(), f"{type(logger).__name__} name"
    return run_folder_name(checkpoint_dir), "run folder name"


Known = tuple[dict[str, Any], dict[str, str]]
"""Sidecar key paths → values (``None``: no source knew it), and their provenance."""


def position_values(trainer: Any, training_phase: str | None) -> Known:
    """Where training is: epoch, step, planned epochs (and the phase, when one was given)."""
    values: dict[str, Any] = {
        "training.epoch": int(trainer.current_epoch),
        "training.global_step": int(trainer.global_step),
        "training.max_epochs": max_epochs_of(trainer),
    }
    provenance = {
        "training.epoch": "trainer current_epoch",
        "training.global_step": "trainer global_step",
        "training.max_epochs": "trainer max_epochs",
    }
    if training_phase is not None:
        values["training.training_phase"] = training_phase
        provenance["training.training_phase"] = "MetadataCallback training_phase"
    return values, provenance


def checkpointing_values(checkpoint_cb: Any, monitor: Any) -> Known:
    """The ``checkpointing`` settings ``checkpoint_cb`` really has, by sidecar key path.

    Without a monitor there is nothing to compare, so ``mode`` says nothing and is left out;
    ``save_last`` left unset (``None``) is left out too.
    """
    found: dict[str, Any] = {}
    if isinstance(monitor, str) and monitor:
        found["checkpointing.monitor"] = monitor
        mode = getattr(checkpoint_cb, "mode", None)
        if mode in ("min", "max"):
            found["checkpointing.mode"] = mode
    top_k = getattr(checkpoint_cb, "save_top_k", None)
    if isinstance(top_k, int) and not isinstance(top_k, bool):
        found["checkpointing.save_top_k"] = top_k
    save_last = getattr(checkpoint_cb, "save_last", None)
    if save_last is not None:
        found["checkpointing.save_last"] = save_last
    return found, {key: "ModelCheckpoint " + key.rpartition(".")[2] for key in found}


def run_values(trainer: Any, hydra_path: str | None) -> Known:
    """The run's Hydra config and W&B run id (``None`` where there is none)."""
    values = {"hydra_config_path": hydra_path, "wandb_run_id": wandb_run_id(trainer)}
    provenance = {
        "hydra_config_path": "the run's .hydra/config.yaml",
        "wandb_run_id": "WandbLogger run id",
    }
    return values, provenance
