"""The metadata callback's logic, free of any Lightning import.

``ckpt_tui.callbacks.MetadataCallback`` is this class mixed with Lightning's ``Callback`` (from
``lightning.pytorch`` and/or ``pytorch_lightning``); keeping the logic here means importing and
type-checking it never needs Lightning.

Flow: ``setup`` wraps every ModelCheckpoint of the trainer (see :mod:`ckpt_tui.callbacks.hooks`).
After a ModelCheckpoint wrote a file, the sidecar is built from the trainer's state *at that
moment* (the same epoch, step and ``callback_metrics`` that went into the file) and handed to a
background writer (:mod:`ckpt_tui.callbacks.writer`), so the fsyncs never stall training. If the
file is not on disk yet (an asynchronous CheckpointIO), the sidecar waits and is queued from a
later hook. Links get a copy of their target's sidecar; removed checkpoints lose theirs. Only
global rank 0 writes; ``teardown`` waits for every write; a failure is one warning, never an
exception.
"""

from __future__ import annotations

import os
import time
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from ckpt_tui import __version__
from ckpt_tui.callbacks import hooks
from ckpt_tui.callbacks.metrics import MetricKeys, build_metrics, scalar_metrics
from ckpt_tui.callbacks.model_info import (
    ModelKeys,
    model_values,
    model_values_for,
    names_from_hparams,
)
from ckpt_tui.callbacks.run_info import (
    Known,
    checkpointing_values,
    exp_name_and_source,
    hydra_config_path,
    position_values,
    run_values,
)
from ckpt_tui.callbacks.writer import SidecarWriter
from ckpt_tui.io.text import iso_local_time
from ckpt_tui.sidecar.document import (
    TRAINING_WRITER,
    build_document,
    read_document,
    with_checkpoint_path,
)
from ckpt_tui.sidecar.files import sidecar_candidates

Document = dict[str, Any]
"""A sidecar document as written (see ``ckpt_tui.sidecar.document.build_document``)."""

#: How many (save, sidecar) timings are kept for diagnostics and the benchmark.
TIMINGS_KEPT = 10_000


class MetadataCallbackWarning(UserWarning):
    """A sidecar could not be written or removed; training goes on."""


class SaveTiming(NamedTuple):
    """What one checkpoint save cost, as seen from the training loop."""

    save: float
    """Seconds ModelCheckpoint spent writing the checkpoint."""
    sidecar: float
    """Seconds the training loop spent on its sidecar (build + queue; the write is off-loop)."""


@dataclass
class _Pending:
    path: Path
    document: Document


def _is_local(filepath: str) -> bool:
    return "://" not in filepath or filepath.startswith("file://")


def _local_path(filepath: str) -> Path:
    return Path(filepath.removeprefix("file://"))


def _is_global_zero(trainer: Any) -> bool:
    return bool(getattr(trainer, "is_global_zero", True))


class MetadataCallbackCore:
    """Write a ``<stem>.metadata.yaml`` sidecar for every checkpoint a ModelCheckpoint writes.

    Add it to the Trainer's callbacks, next to your ModelCheckpoint(s)::

        trainer = Trainer(callbacks=[ModelCheckpoint(...), MetadataCallback()])

    Each sidecar holds its own checkpoint's epoch, step and metrics (from
    ``trainer.callback_metrics`` when the file was written), the ModelCheckpoint's monitor/mode,
    and the model's names from ``pl_module.hparams`` (else inferred from the state dict). It
    states only what these sources said: a field none of them gave is left out and listed in
    the ``ckpt_tui`` block's ``unknown``, and the block records where each value came from.

    Args:
        hmean_key: logged name of the hmean metric (exact match).
        precision_key: logged name of precision.
        recall_key: logged name of recall.
        validation_loss_key: logged name of the validation loss.
        architecture_key: dotted path of the architecture name in ``pl_module.hparams``.
        encoder_key: dotted path of the encoder name.
        decoder_key: dotted path of the decoder name.
        head_key: dotted path of the head name.
        loss_key: dotted path of the loss name.
        exp_name: the experiment name; by default the hparams' ``exp_name_key``, else the
            logger's name, else the run folder's.
        exp_name_key: dotted path of the experiment name in ``pl_module.hparams``.
        training_phase: recorded as ``training.training_phase``; ``None`` (default): not
            recorded.
        background_writes: write sidecars from a background thread (default) so their fsyncs
            never stall training; ``False`` writes them inline.
    """

    def __init__(
        self,
        *,
        hmean_key: str = "val/hmean",
        precision_key: str = "val/precision",
        recall_key: str = "val/recall",
        validation_loss_key: str = "val/loss",
        architecture_key: str = "model.architecture",
        encoder_key: str = "model.encoder.model_name",
        decoder_key: str = "model.decoder.name",
        head_key: str = "model.head.name",
        loss_key: str = "model.loss.name",
        exp_name: str | None = None,
        exp_name_key: str = "exp_name",
        training_phase: Literal["training", "validation", "finetuning"] | None = None,
        background_writes: bool = True,
    ) -> None:
        super().__init__()
        self.metric_keys = MetricKeys(hmean_key, precision_key, recall_key, validation_loss_key)
        self.model_keys = ModelKeys(architecture_key, encoder_key, decoder_key, head_key, loss_key)
        self.exp_name = exp_name
        self.exp_name_key = exp_name_key
        self.training_phase = training_phase
        self.background_writes = background_writes
        self.timings: deque[SaveTiming] = deque(maxlen=TIMINGS_KEPT)
        """Per checkpoint saved: save time and the sidecar's cost to the training loop."""
        self.writer = SidecarWriter(background=background_writes)
        """Does the file work; its ``write_seconds`` holds each sidecar write's duration."""
        self._reset()

    def __getstate__(self) -> dict[str, Any]:
        # ddp_spawn pickles callbacks; a thread pool cannot be pickled, and a fresh one is made.
        state = self.__dict__.copy()
        state["writer"] = SidecarWriter(background=self.background_writes)
        return state

    def _reset(self) -> None:
        self._watched: list[Any] = []
        self._model: Known | None = None
        self._exp_names: dict[Path, tuple[str | None, str]] = {}
        self._hydra_paths: dict[Path, str | None] = {}
        self._last_written: dict[int, tuple[str, Document]] = {}
        self._pending: list[_Pending] = []
        self._noted: set[str] = set()

    # ----------------------------------------------------------------- Lightning hooks

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Start watching every ModelCheckpoint of ``trainer`` (fit only: nothing else saves)."""
        if stage != "fit":
            return
        self._reset()
        for checkpoint_cb in getattr(trainer, "checkpoint_callbacks", None) or ():
            missing = hooks.missing_methods(checkpoint_cb)
            if missing:
                self._warn_once(
                    f"unsupported:{id(checkpoint_cb)}",
                    f"ckpt-tui: cannot follow {type(checkpoint_cb).__name__} (no "
                    f"{', '.join(missing)}); its checkpoints get no sidecars",
                )
                continue
            hooks.patch(checkpoint_cb, self)
            self._watched.append(checkpoint_cb)

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        """Finish every sidecar, then put the ModelCheckpoints back as they were."""
        self._flush(final=True)
        self._report(self.writer.close())
        for checkpoint_cb in self._watched:
            if hooks.patched_by(checkpoint_cb) is self:
                hooks.unpatch(checkpoint_cb)
        self._watched = []

    def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
        """Queue sidecars whose checkpoint appeared since (asynchronous CheckpointIO) and report
        failed writes."""
        self._flush()

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Same as :meth:`on_train_batch_end`."""
        self._flush()

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Same as :meth:`on_train_batch_end`."""
        self._flush()

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        """Same as :meth:`on_train_batch_end`; the strategy has waited for async saves by now."""
        self._flush()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        """Training failed: finish the sidecars already queued (teardown will not run)."""
        self._report(self.writer.drain())

    # ----------------------------------------------------------------- observer (hooks.py)

    def checkpoint_saved(
        self, checkpoint_cb: Any, trainer: Any, filepath: str, save_seconds: float
    ) -> None:
        """Build the sidecar of the file ``checkpoint_cb`` just wrote, and write it."""
        if not self._active(checkpoint_cb, trainer):
            return
        try:
            started = time.perf_counter()
            path = _local_path(filepath)
            # A file saved again (last.ckpt, a reused name) supersedes any sidecar still waiting.
            self._pending = [item for item in self._pending if item.path != path]
            document = self._build(checkpoint_cb, trainer, path)
            self._last_written[id(checkpoint_cb)] = (os.path.abspath(path), document)
            if os.path.lexists(path):
                self.writer.write(document, path)
                self.timings.append(SaveTiming(save_seconds, time.perf_counter() - started))
            else:
                self._pending.append(_Pending(path, document))
        except Exception as exc:  # whatever failed, training must go on
            self._warn(f"ckpt-tui: no sidecar for {filepath}: {_reason(exc)}")

    def checkpoint_linked(
        self, checkpoint_cb: Any, trainer: Any, target: str, linkpath: str
    ) -> None:
        """Give the link ``linkpath`` a sidecar with its target's values."""
        if not self._active(checkpoint_cb, trainer):
            return
        try:
            link = _local_path(linkpath)
            if os.path.abspath(link) == os.path.abspath(_local_path(target)):
                return  # Lightning links nothing when both are the same file
            source = self._document_of(checkpoint_cb, trainer, _local_path(target))
            self.writer.write(with_checkpoint_path(source, str(link)), link)
        except Exception as exc:
            self._warn(f"ckpt-tui: no sidecar for link {linkpath}: {_reason(exc)}")

    def checkpoint_removed(self, checkpoint_cb: Any, trainer: Any, filepath: str) -> None:
        """Remove the sidecar(s) of a checkpoint that ModelCheckpoint deleted."""
        if not self._attached(trainer) or not _is_local(filepath):
            return
        path = _local_path(filepath)
        if os.path.lexists(path):
            return  # not actually gone (or already replaced): its sidecar still describes it
        self._pending = [item for item in self._pending if item.path != path]
        # Queued behind any write of the same sidecar, so the removal always comes last.
        self.writer.remove(dict.fromkeys(sidecar_candidates(path)))

    # ----------------------------------------------------------------- building

    def _attached(self, trainer: Any) -> bool:
        # Only rank 0 writes. Wrappers outlive a fit that crashed before teardown, so also check
        # that this callback is still one of the trainer's.
        callbacks = getattr(trainer, "callbacks", None) or ()
        return _is_global_zero(trainer) and any(callback is self for callback in callbacks)

    def _active(self, checkpoint_cb: Any, trainer: Any) -> bool:
        if not self._attached(trainer):
            return False
        dirpath = str(getattr(checkpoint_cb, "dirpath", "") or "")
        if dirpath and not _is_local(dirpath):
            self._warn_once(
                f"remote:{id(checkpoint_cb)}",
                f"ckpt-tui: sidecars are written for local folders only, not {dirpath}",
            )
            return False
        return True

    def _build(self, checkpoint_cb: Any, trainer: Any, path: Path) -> Document:
        pl_module = getattr(trainer, "lightning_module", None)
        monitor = getattr(checkpoint_cb, "monitor", None)
        scalars = scalar_metrics(getattr(trainer, "callback_metrics", None) or {})
        metric_values, metric_origins, notes = build_metrics(scalars, self.metric_keys, monitor)
        for note in notes:
            self._warn_once(f"range:{note.split('=')[0]}", f"ckpt-tui: {note}")
        if self._model is None:  # names don't change during a run: work them out once
            self._model = self._model_info(pl_module)
        folder = path.parent
        if folder not in self._exp_names:
            self._exp_names[folder] = exp_name_and_source(
                trainer, pl_module, folder, explicit=self.exp_name, hparams_key=self.exp_name_key
            )
        if folder not in self._hydra_paths:
            self._hydra_paths[folder] = hydra_config_path(folder)
        exp_name, exp_origin = self._exp_names[folder]
        now = iso_local_time()
        values, provenance = position_values(trainer, self.training_phase)
        values.update(exp_name=exp_name, created_at=now)
        provenance.update(exp_name=exp_origin, created_at="time of the save")
        for part_values, part_origins in (
            self._model,
            (metric_values, metric_origins),
            checkpointing_values(checkpoint_cb, monitor),
            run_values(trainer, self._hydra_paths[folder]),
        ):
            values.update(part_values)
            provenance.update(part_origins)
        document, _ = build_document(
            str(path), values, provenance, written_by=WRITTEN_BY, written_at=now
        )
        return document

    def _model_info(self, pl_module: Any) -> Known:
        try:
            return model_values_for(pl_module, self.model_keys)
        except Exception as exc:  # state-dict inference is a best effort: fall back to hparams
            self._warn_once("model-info", f"ckpt-tui: model inference failed: {_reason(exc)}")
            hparams = getattr(pl_module, "hparams", None)
            return model_values(names_from_hparams(hparams, self.model_keys))

    def _document_of(self, checkpoint_cb: Any, trainer: Any, target: Path) -> Document:
        # The link target is ModelCheckpoint's last saved file, whose document we just built; it
        # may be from an earlier epoch than now, so never rebuild it from the current state.
        last = self._last_written.get(id(checkpoint_cb))
        if last is not None and last[0] == os.path.abspath(target):
            return last[1]
        self._report(self.writer.drain())  # rare path: read what is on disk once it is there
        on_disk = read_document(target)
        if on_disk is not None:
            return on_disk
        return self._build(checkpoint_cb, trainer, target)

    def _flush(self, *, final: bool = False) -> None:
        if self._pending:
            still: list[_Pending] = []
            for item in self._pending:
                if os.path.lexists(item.path):
                    self.writer.write(item.document, item.path)
                elif final:
                    self._warn(
                        f"ckpt-tui: no sidecar for {item.path}: the checkpoint never appeared"
                    )
                else:
                    still.append(item)
            self._pending = still
        self._report(self.writer.take_errors())

    def _report(self, errors: list[str]) -> None:
        for message in errors:
            self._warn(message)

    # ----------------------------------------------------------------- warnings

    def _warn(self, message: str) -> None:
        warnings.warn(message, MetadataCallbackWarning, stacklevel=3)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self._warn(message)


WRITTEN_BY = f"ckpt-tui {__version__} {TRAINING_WRITER}"
"""The ``ckpt_tui.written_by`` of the sidecars the callback writes."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"
