"""Everything around the checkpoints: sidecars, Hydra folders, Lightning logs and W&B runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from ckpt_tui.demo.configs import hydra_yaml, lightning_hparams, overrides, run_config
from ckpt_tui.demo.simulate import Point
from ckpt_tui.demo.spec import DECODER_IN_CHANNELS, Run
from ckpt_tui.io.safe_yaml import dump_yaml
from ckpt_tui.model.schema import (
    CheckpointingConfig,
    CheckpointMetadataV1,
    DecoderInfo,
    EncoderInfo,
    HeadInfo,
    LossInfo,
    MetricsInfo,
    ModelInfo,
    TrainingInfo,
)

TextFiles = dict[str, tuple[str, datetime]]
"""Path relative to the run folder → (content, mtime)."""


def sidecar(
    run: Run, point: Point, checkpoint_path: str, created: datetime
) -> CheckpointMetadataV1:
    """The sidecar a metadata callback would have written for the checkpoint saved at ``point``
    (at ``created``, its mtime): the same epoch, step and scores the checkpoint holds."""
    m, cfg, metrics = run.model, run.checkpointing, point.metrics
    return CheckpointMetadataV1(
        checkpoint_path=checkpoint_path,
        exp_name=run.exp_name,
        created_at=created.isoformat(),
        training=TrainingInfo(
            epoch=point.epoch,
            global_step=point.step,
            training_phase=run.training_phase,
            max_epochs=run.planned_epochs,
        ),
        model=ModelInfo(
            architecture=m.architecture,
            encoder=EncoderInfo(model_name=m.encoder, pretrained=True, frozen=m.frozen_encoder),
            decoder=DecoderInfo(
                name=m.decoder,
                in_channels=DECODER_IN_CHANNELS[m.encoder],
                inner_channels=256,
                output_channels=64,
            ),
            head=HeadInfo(name=m.head, in_channels=256),
            loss=LossInfo(name=m.loss),
        ),
        metrics=MetricsInfo(
            precision=metrics["val/precision"],
            recall=metrics["val/recall"],
            hmean=metrics["val/hmean"],
            validation_loss=metrics["val/loss"],
            additional_metrics={"train/loss": metrics["train/loss"]},
        ),
        checkpointing=CheckpointingConfig(
            monitor=cfg.monitor,
            mode=cfg.mode,
            save_top_k=cfg.save_top_k,
            save_last=cfg.save_last,
        ),
        hydra_config_path=f"{run.folder}/.hydra/config.yaml" if run.config == "hydra" else None,
        wandb_run_id=run.wandb_id,
    )


def run_files(run: Run, points: list[Point]) -> TextFiles:
    """The non-checkpoint files of a run folder, by the run's config style."""
    start = run.attempts[0].start
    files: TextFiles = {}
    if run.config == "hydra":
        files[".hydra/config.yaml"] = (dump_yaml(run_config(run, resolved=False)), start)
        files[".hydra/overrides.yaml"] = (dump_yaml(overrides(run)), start)
        files[".hydra/hydra.yaml"] = (dump_yaml(hydra_yaml(run)), start)
        files["train.log"] = (_train_log(run, points), points[-1].when)
    elif run.config == "plain":
        files["config.yaml"] = (dump_yaml(run_config(run, resolved=True)), start)
    elif run.config == "lightning_logs":
        files["hparams.yaml"] = (dump_yaml(lightning_hparams(run)), start)
        files["metrics.csv"] = (_metrics_csv(points), points[-1].when)
    if run.wandb_folder and run.wandb_id:
        files.update(_wandb(run, points))
    return files


def _train_log(run: Run, points: list[Point]) -> str:
    stamp = "%Y-%m-%d %H:%M:%S,000"
    lines = [f"[{run.attempts[0].start.strftime(stamp)}][__main__][INFO] - exp_name={run.exp_name}"]
    for point in points:
        lines.append(
            f"[{point.when.strftime(stamp)}][ocr.lightning_modules][INFO] - epoch {point.epoch} "
            f"step {point.step}: val/hmean={point.metrics['val/hmean']:.4f}"
        )
    return "\n".join(lines) + "\n"


def _metrics_csv(points: list[Point]) -> str:
    rows = ["epoch,step,train/loss,val/hmean,val/loss,val/precision,val/recall"]
    for p in points:
        m = p.metrics
        rows.append(
            f"{p.epoch},{p.step - 1},{m['train/loss']},{m['val/hmean']},{m['val/loss']},"
            f"{m['val/precision']},{m['val/recall']}"
        )
    return "\n".join(rows) + "\n"


def wandb_run_folder(run: Run) -> str:
    """``wandb/run-<start>-<id>``, relative to the run folder."""
    start = run.attempts[0].start + timedelta(seconds=10)
    return f"wandb/run-{start.strftime('%Y%m%d_%H%M%S')}-{run.wandb_id}"


def _wandb(run: Run, points: list[Point]) -> TextFiles:
    folder = wandb_run_folder(run)
    start, end = run.attempts[0].start + timedelta(seconds=10), points[-1].when
    last = points[-1]
    config = {
        "_wandb": {
            "value": {"python_version": "3.11.9", "cli_version": "0.18.5", "framework": "lightning"}
        },
        "exp_name": {"value": run.exp_name},
        "model": {"value": run_config(run, resolved=True)["model"]},
    }
    summary = {
        **{k: v for k, v in last.metrics.items()},
        "epoch": last.epoch,
        "trainer/global_step": last.step,
        "_step": last.step,
        "_runtime": int((end - start).total_seconds()),
    }
    return {
        f"{folder}/files/config.yaml": (dump_yaml(config), start),
        f"{folder}/files/wandb-summary.json": (json.dumps(summary, indent=1) + "\n", end),
        f"{folder}/files/requirements.txt": (
            "lightning==2.6.6\ntorch==2.5.1\ntimm==1.0.11\n",
            start,
        ),
        f"{folder}/files/output.log": (
            f"Epoch {last.epoch}: val/hmean {last.metrics['val/hmean']}\n",
            end,
        ),
        f"{folder}/logs/debug.log": (f"wandb run {run.wandb_id} started\n", start),
        "wandb/debug.log": (f"wandb run {run.wandb_id} started\n", start),
    }
