"""What the reader reports about one checkpoint (plain dataclasses, no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ckpt_tui.model.entry import Issue

Format = Literal["zip", "legacy", "safetensors", "unknown"]
Verdict = Literal["safe", "unsafe", "code", "unreadable"]
Mode = Literal["min", "max"]


@dataclass(slots=True)
class TensorInfo:
    """One tensor of the weights, described without loading it."""

    dtype: str
    """torch dtype name without ``torch.``: ``float32``, ``bfloat16``, ``int8``, ..."""
    shape: tuple[int, ...]
    """Sizes per dimension; ``()`` for a 0-dim tensor."""
    numel: int
    """Number of elements."""
    nbytes: int
    """``numel`` times the element size."""
    storage_key: str | None
    """Storage the tensor views (zip member ``data/<key>``); ``None`` for safetensors."""


@dataclass
class ModelCheckpointState:
    """The state Lightning's ``ModelCheckpoint`` callback saved into the file."""

    state_key: str
    """Its key in ``checkpoint["callbacks"]``, e.g. ``ModelCheckpoint{'monitor': ...}``."""
    monitor: str | None
    """Metric it monitored, e.g. ``val/hmean``."""
    mode: Mode | None
    """From the state key's ``'mode'`` (or from the scores when the key has none)."""
    current_score: float | None
    """The monitored value at the time this file was saved."""
    best_model_score: float | None
    """Best value seen so far."""
    best_k_models: dict[str, float]
    """Path → score of the top-k checkpoints at save time."""
    best_model_path: str | None
    """Path of the best checkpoint at save time (on the training machine)."""
    last_model_path: str | None
    """Path of ``last.ckpt`` at save time."""
    dirpath: str | None
    """Folder the callback wrote to (on the training machine)."""


@dataclass
class CheckpointInspection:
    """Everything the safe reader recovered from one file (see ``inspect_checkpoint``)."""

    path: Path
    """The file inspected."""
    format: Format = "unknown"
    """Container format: torch zip, torch legacy, safetensors, or not recognised."""
    epoch: int | None = None
    """Lightning's ``epoch`` (0 is a real epoch)."""
    global_step: int | None = None
    """Lightning's ``global_step``."""
    lightning_version: str | None = None
    """``pytorch-lightning_version``."""
    weights_key: str | None = None
    """Where the weights are: ``state_dict``, ``model_state_dict``, ``model``, ``""`` (the file is
    a bare state dict) or ``None`` (not found)."""
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    """The weights' tensors, keys as in the file."""
    parameter_count: int = 0
    """Sum of ``numel`` over ``tensors`` (buffers included, as in a state dict)."""
    tensor_bytes: int = 0
    """Sum of ``nbytes`` over ``tensors``."""
    hyper_parameters: dict[str, Any] | None = None
    """``hyper_parameters`` as plain data (OmegaConf, Namespace, AttributeDict unwrapped)."""
    datamodule_hyper_parameters: dict[str, Any] | None = None
    """``datamodule_hyper_parameters`` as plain data."""
    checkpoint_callbacks: list[ModelCheckpointState] = field(default_factory=list)
    """Every ModelCheckpoint state in ``callbacks``."""
    monitor: str | None = None
    """The monitored metric of the main ModelCheckpoint."""
    monitor_mode: Mode | None = None
    """Whether that metric is minimised or maximised."""
    monitor_value: float | None = None
    """This file's own score: its entry in best_k_models, else current_score."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Scalar metrics: ``hmean``/``precision``/``recall`` when the monitor names them, the
    scalars of ``cleval_metrics``, and the monitor under its own name."""
    cleval_metrics: dict[str, Any] | None = None
    """``cleval_metrics`` as plain data, when present."""
    optimizer: str | None = None
    """Optimizer class name, when the file tells it (``AdamW``, ``SGD``, ``Adam/AdamW``, ...)."""
    learning_rate: float | None = None
    """The first parameter group's learning rate at save time."""
    learning_rates: list[float | None] = field(default_factory=list)
    """Every parameter group's learning rate at save time, in group order (``None`` where a
    group's ``lr`` is not a number)."""
    safetensors_metadata: dict[str, str] | None = None
    """A safetensors file's ``__metadata__``."""
    common_keys: dict[str, Any] = field(default_factory=dict)
    """Common top-level keys of checkpoints written outside Lightning (``arch``, ``best_acc1``,
    ``best_prec1``, ``metric``, ``version``, ``args``, ``meta``, ``message_hub``, ``epoch``), as
    plain data:
    see :mod:`ckpt_tui.reader.common_keys`."""
    safety: Verdict = "safe"
    """What ``torch.load`` of the file would do: ``safe``, ``unsafe``, ``code`` or ``unreadable``
    (the entry's ``safety``; the reader never answers ``unchecked``)."""
    unsafe_globals: list[str] = field(default_factory=list)
    """Every ``module.name`` outside the allowlist, from every pickle of the file."""
    code_archive: str | None = None
    """``TorchScript`` or ``torch.export`` when the file is an archive that holds code."""
    archive_extra: dict[str, Any] | None = None
    """A code archive's ``extra/`` files: JSON as plain data, else text."""
    archive_contents: dict[str, Any] | None = None
    """What a code archive carries as plain data: its parameters', buffers' and constants'
    names, shapes and dtypes, and (``torch.export``) its program's metadata."""
    issues: list[Issue] = field(default_factory=list)
    """Errors (the file is broken; ``security.unsafe-global``), warnings (``security.code``),
    notes."""
    bytes_read: int = 0
    """Bytes read from the file."""
    unknown_globals: list[str] = field(default_factory=list)
    """Other classes/functions the pickle names (not imported; shown for ``show``)."""

    @property
    def entry_format(self) -> str | None:
        """The entry's ``format`` word for this file (``None`` when it was not recognised)."""
        if self.code_archive is not None:
            return "torchscript" if self.code_archive == "TorchScript" else "exported-program"
        if self.lightning_version is not None:
            return "lightning"
        return {"zip": "torch", "legacy": "torch-legacy", "safetensors": "safetensors"}.get(
            self.format
        )

    @property
    def has_errors(self) -> bool:
        """Whether any issue is an error."""
        return any(issue.severity == "error" for issue in self.issues)
