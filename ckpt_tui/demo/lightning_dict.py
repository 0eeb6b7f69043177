"""Build the dict Lightning 2.x writes to a checkpoint, as real torch objects.

The keys, their order and their nesting mirror what ``Trainer.fit`` with a ``ModelCheckpoint``
wrote under lightning 2.6.6 (checked against a real run): ``epoch``, ``global_step``,
``pytorch-lightning_version``, ``state_dict``, ``loops``, ``callbacks`` (scores as 0-dim float32
tensors), ``optimizer_states`` and ``lr_schedulers`` (SGD/Adam/AdamW and CosineAnnealingLR, with
torch 2.x's keys), then the hyper-parameters and any keys the LightningModule added in
``on_save_checkpoint`` (``cleval_metrics``). torch is imported here only inside functions.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ckpt_tui.demo import networks
from ckpt_tui.demo.simulate import Saved
from ckpt_tui.demo.spec import Run, optimizer_kwargs

VAL_BATCHES = 25
"""Validation batches per run of the validation loop."""


def state_key(run: Run) -> str:
    """The ``callbacks`` key of the run's ModelCheckpoint (Lightning's ``state_key``)."""
    cfg = run.checkpointing
    if cfg.every_n_epochs is None and cfg.every_n_train_steps is None:
        epochs, steps = 1, 0
    else:
        epochs, steps = cfg.every_n_epochs or 0, cfg.every_n_train_steps or 0
    args = {
        "monitor": cfg.monitor,
        "mode": cfg.mode,
        "every_n_train_steps": steps,
        "every_n_epochs": epochs,
        "train_time_interval": None,
    }
    return f"ModelCheckpoint{args!r}"


def _progress(n: int, *, started: bool = True, processed: bool = True) -> dict[str, int]:
    out = {"ready": n, "completed": n}
    if started:
        out["started"] = n
    if processed:
        out["processed"] = n
    return out


def _batch_progress(total: int, current: int, last: bool | None) -> dict[str, Any]:
    out: dict[str, Any] = {"total": _progress(total), "current": _progress(current)}
    if last is not None:
        out["is_last_batch"] = last
    return out


def loops(saved: Saved, run: Run, scheduler_steps: int) -> dict[str, Any]:
    """Lightning's ``loops`` entry at the moment ``saved`` was written."""
    point, spe = saved.point, run.steps_per_epoch
    in_epoch = point.step - point.epoch * spe
    opt = {
        "step": {
            "total": _progress(point.step, started=False, processed=False),
            "current": _progress(in_epoch, started=False, processed=False),
        },
        "zero_grad": {
            "total": _progress(point.step, processed=False),
            "current": _progress(in_epoch, processed=False),
        },
    }
    epochs = {
        "ready": point.epoch + 1,
        "completed": point.epoch,
        "started": point.epoch + 1,
        "processed": point.epoch + 1 if point.end_of_epoch else point.epoch,
    }
    idle = _batch_progress(0, 0, False)
    return {
        "fit_loop": {
            "state_dict": {},
            "epoch_loop.state_dict": {"_batches_that_stepped": point.step},
            "epoch_loop.batch_progress": _batch_progress(point.step, in_epoch, point.end_of_epoch),
            "epoch_loop.scheduler_progress": {
                "total": _progress(scheduler_steps, started=False, processed=False),
                "current": _progress(
                    1 if point.end_of_epoch else 0, started=False, processed=False
                ),
            },
            "epoch_loop.automatic_optimization.state_dict": {},
            "epoch_loop.automatic_optimization.optim_progress": {"optimizer": opt},
            "epoch_loop.manual_optimization.state_dict": {},
            "epoch_loop.manual_optimization.optim_step_progress": {
                "total": _progress(0, started=False, processed=False),
                "current": _progress(0, started=False, processed=False),
            },
            "epoch_loop.val_loop.state_dict": {},
            "epoch_loop.val_loop.batch_progress": _batch_progress(VAL_BATCHES, VAL_BATCHES, True),
            "epoch_progress": {"total": dict(epochs), "current": dict(epochs)},
        },
        "validate_loop": {"state_dict": {}, "batch_progress": idle},
        "test_loop": {"state_dict": {}, "batch_progress": _batch_progress(0, 0, False)},
        "predict_loop": {"state_dict": {}, "batch_progress": _batch_progress(0, 0, None)},
    }


def _optimizer_and_scheduler(
    optimizer: str, lr: float, t_max: int, steps: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The param group of a torch 2.x optimizer and a CosineAnnealingLR's state after ``steps``.

    Written out rather than taken from real ``torch.optim`` objects: creating an optimizer
    imports ``torch._dynamo``, which costs seconds. Keys and values are those torch 2.13 gives
    (checked against real objects); the cosine closed form matches torch's to the last bit here.
    """
    eta_min = 1e-6
    current = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * steps / t_max)) / 2
    kwargs = optimizer_kwargs(optimizer)
    group: dict[str, Any] = {"lr": current}
    if optimizer == "SGD":
        group.update(
            momentum=kwargs["momentum"],
            dampening=0,
            weight_decay=kwargs["weight_decay"],
            nesterov=False,
            maximize=False,
            foreach=None,
            differentiable=False,
            fused=None,
        )
    else:
        group.update(
            betas=(0.9, 0.999),
            eps=1e-08,
            weight_decay=kwargs["weight_decay"],
            amsgrad=False,
            maximize=False,
            foreach=None,
            capturable=False,
            differentiable=False,
            fused=None,
            decoupled_weight_decay=optimizer == "AdamW",
        )
    group["initial_lr"] = lr
    scheduler = {
        "T_max": t_max,
        "eta_min": eta_min,
        "base_lrs": [lr],
        "last_epoch": steps,
        "_step_count": steps + 1,
        "_is_initial": False,
        "_get_lr_called_within_step": False,
        "_last_lr": [current],
    }
    return group, scheduler


# (scale, offset, absolute?) of the noise each kind of tensor is drawn from
_DRAW = {
    networks.WEIGHT: (0.05, 0.0, False),
    networks.BIAS: (0.01, 0.0, False),
    networks.BN_WEIGHT: (0.05, 1.0, False),
    networks.BN_BIAS: (0.01, 0.0, False),
    networks.BN_MEAN: (0.1, 0.0, False),
    networks.BN_VAR: (0.2, 1.0, True),
}


@dataclass
class Weights:
    """The tensors of a model and its optimizer at one moment of training."""

    state_dict: OrderedDict[str, Any]
    optimizer_state: dict[int, dict[str, Any]]
    params: int
    """How many parameters the optimizer holds (the frozen encoder's are not among them)."""


def weights(run: Run, step: int, seed: int) -> Weights:
    """Random but plausible weights for the run's model after ``step`` steps (same seed, same
    values). Every tensor owns its storage, as a trained module's tensors do (views of one
    buffer would be saved as one storage)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    tensors, encoder_count = networks.detector(run.model.encoder, run.model.decoder, run.model.head)
    drawn = [t for t in tensors if t.kind != networks.BN_COUNT]
    sizes = [math.prod(t.shape) for t in drawn]
    chunks = iter(torch.split(torch.randn(sum(sizes), generator=generator), sizes))
    count = torch.tensor(step, dtype=torch.int64)
    state_dict: OrderedDict[str, Any] = OrderedDict()
    for spec in tensors:
        if spec.kind == networks.BN_COUNT:
            state_dict[spec.key] = count.clone()
            continue
        scale, offset, absolute = _DRAW[spec.kind]
        noise = next(chunks).reshape(spec.shape)
        value = (noise.abs() if absolute else noise) * scale  # a new tensor with its own storage
        state_dict[spec.key] = value.add_(offset) if offset else value
    first = encoder_count if run.model.frozen_encoder else 0  # frozen: not in the optimizer
    params = [
        state_dict[spec.key]
        for i, spec in enumerate(tensors)
        if i >= first and spec.kind in networks.TRAINABLE
    ]
    state = _optimizer_state(run.optimizer, params, step, generator)
    return Weights(state_dict, state, len(params))


def checkpoint_dict(
    run: Run,
    saved: Saved,
    trained: Weights,
    *,
    hyper_parameters: Any,
    datamodule_hyper_parameters: Any = None,
) -> dict[str, Any]:
    """The full Lightning checkpoint dict for one saved file holding the ``trained`` weights."""
    point = saved.point
    scheduler_steps = point.epoch + 1 if point.end_of_epoch else point.epoch
    checkpoint: dict[str, Any] = {
        "epoch": point.epoch,
        "global_step": point.step,
        "pytorch-lightning_version": run.lightning_version,
        "state_dict": trained.state_dict,
        "loops": loops(saved, run, scheduler_steps),
    }
    if not run.checkpointing.save_weights_only:
        group, scheduler = _optimizer_and_scheduler(
            run.optimizer, run.lr, run.planned_epochs, scheduler_steps
        )
        checkpoint["callbacks"] = _callbacks(run, saved)
        group = {**group, "params": list(range(trained.params))}
        checkpoint["optimizer_states"] = [
            {"state": trained.optimizer_state, "param_groups": [group]}
        ]
        checkpoint["lr_schedulers"] = [dict(scheduler)]
    checkpoint["hparams_name"] = "config"
    checkpoint["hyper_parameters"] = hyper_parameters
    if _is_container(hyper_parameters):
        checkpoint["hparams_type"] = type(hyper_parameters)
    if datamodule_hyper_parameters is not None:
        checkpoint["datamodule_hparams_name"] = "config"
        checkpoint["datamodule_hyper_parameters"] = datamodule_hyper_parameters
        if _is_container(datamodule_hyper_parameters):
            checkpoint["datamodule_hparams_type"] = type(datamodule_hyper_parameters)
    if run.cleval:
        m = point.metrics
        checkpoint["cleval_metrics"] = {
            "precision": m["val/precision"],
            "recall": m["val/recall"],
            "hmean": m["val/hmean"],
        }
    return checkpoint


def _optimizer_state(
    optimizer: str, params: list[Any], step: int, generator: Any
) -> dict[int, dict[str, Any]]:
    """Each parameter's optimizer state, with the keys the real optimizer uses."""
    import torch

    sizes = [p.numel() for p in params]

    def draw(scale: float, absolute: bool = False) -> list[Any]:
        noise = torch.randn(sum(sizes), generator=generator)
        noise = (noise.abs() if absolute else noise) * scale
        return [
            c.reshape(p.shape).clone()
            for c, p in zip(torch.split(noise, sizes), params, strict=True)
        ]

    if optimizer == "SGD":
        return {i: {"momentum_buffer": m} for i, m in enumerate(draw(1e-3))}
    steps = torch.tensor(float(step))
    return {
        i: {"step": steps.clone(), "exp_avg": m, "exp_avg_sq": v}
        for i, (m, v) in enumerate(zip(draw(1e-3), draw(1e-6, absolute=True), strict=True))
    }


def _is_container(value: Any) -> bool:
    return type(value).__module__.startswith("omegaconf")


def _callbacks(run: Run, saved: Saved) -> dict[str, Any]:
    import torch

    shared: dict[float, Any] = {}

    def score(value: Any) -> Any:
        # Lightning keeps one tensor per score: best_model_score, current_score, kth_value and
        # best_k_models share objects, which torch.save then stores once.
        if value is None:
            return None
        if value not in shared:
            shared[value] = torch.tensor(float(value))
        return shared[value]

    state = dict(saved.callback)
    for name in ("best_model_score", "current_score", "kth_value"):
        state[name] = score(state[name])
    best_k = state["best_k_models"]
    assert isinstance(best_k, dict)
    state["best_k_models"] = {path: score(value) for path, value in best_k.items()}
    callbacks: dict[str, Any] = {}
    if saved.early_stopping is not None:
        es = dict(saved.early_stopping)
        es["best_score"] = torch.tensor(float(es["best_score"]))  # type: ignore[arg-type]
        callbacks["EarlyStopping{'monitor': 'val/hmean', 'mode': 'max'}"] = es
    callbacks[state_key(run)] = state  # Lightning orders ModelCheckpoint callbacks last
    return callbacks
