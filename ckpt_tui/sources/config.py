"""The config tier: find a checkpoint's training config and read the fields the catalog needs.

Search order (the reference's), first readable mapping wins; ``D`` is the checkpoint's folder:

1. sidecar configs ``<stem>.config.json``, ``.config.yaml``, ``.config.yml``,
   ``.resolved.config.json`` in ``D``;
2. ``.hydra/config.yaml`` two levels up from the file (``D/..``), then three (``D/../..``);
3. ``config.yaml`` or ``hparams.yaml`` in ``D``, then in ``D/..`` (Lightning's
   ``lightning_logs/version_N/hparams.yaml``).

:func:`read_config_fields` works on plain data, so a checkpoint's ``hyper_parameters`` are read
the same way (provenance ``checkpoint hyper_parameters ...``). A ``_target_`` class path is never
an architecture. Values written as Hydra interpolations (``${exp_name}``) are followed within the
same document when they point at a plain value; anything else is unknown.
"""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ckpt_tui.io.safe_yaml import MAX_CONFIG_BYTES, MAX_INT, UnsafeDocumentError, load_document
from ckpt_tui.model.entry import Issue
from ckpt_tui.model.placeholders import known
from ckpt_tui.sources.merge import TierResult

SIDECAR_CONFIG_SUFFIXES: tuple[str, ...] = (
    ".config.json",
    ".config.yaml",
    ".config.yml",
    ".resolved.config.json",
)
"""``<stem><suffix>`` next to the checkpoint is its own config."""

HYDRA_LABEL = "hydra config"
SIDECAR_CONFIG_LABEL = "sidecar config"
HPARAMS_LABEL = "checkpoint hyper_parameters"

# (field, key paths tried in order); component_overrides win over the model's defaults.
_NAME_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "backbone",
        ("model.component_overrides.encoder.model_name", "model.encoder.model_name"),
    ),
    ("decoder", ("model.component_overrides.decoder.name", "model.decoder.name")),
    ("head", ("model.component_overrides.head.name", "model.head.name")),
    ("loss", ("model.component_overrides.loss.name", "model.loss.name")),
    ("exp_name", ("exp_name",)),
    ("monitor", ("callbacks.model_checkpoint.monitor",)),
)
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")


@dataclass(frozen=True)
class ConfigCandidate:
    """One place a config may be, in search order."""

    path: str
    """Absolute path."""
    label: str
    """Provenance label, e.g. ``hydra config``."""


def folder_candidates(folder: str) -> list[ConfigCandidate]:
    """The folder-level candidates for checkpoints in ``folder`` (steps 2 and 3), in order."""
    parent = os.path.dirname(folder)
    grandparent = os.path.dirname(parent)
    out = [
        ConfigCandidate(os.path.join(parent, ".hydra", "config.yaml"), HYDRA_LABEL),
        ConfigCandidate(os.path.join(grandparent, ".hydra", "config.yaml"), HYDRA_LABEL),
    ]
    for where in (folder, parent):
        out.append(ConfigCandidate(os.path.join(where, "config.yaml"), "config.yaml"))
        out.append(ConfigCandidate(os.path.join(where, "hparams.yaml"), "hparams.yaml"))
    return out


def sidecar_config_names(stem: str) -> list[str]:
    """File names of the checkpoint's own configs (step 1), in order."""
    return [stem + suffix for suffix in SIDECAR_CONFIG_SUFFIXES]


class ConfigStore:
    """Reads each config file once per build (thread-safe); stat signatures for the cache."""

    def __init__(self, root: str) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._stats: dict[str, os.stat_result | None] = {}
        self._docs: dict[str, tuple[Mapping[str, Any] | None, Issue | None]] = {}

    def stat(self, path: str) -> os.stat_result | None:
        """``os.stat(path)`` remembered; ``None`` when missing or not a regular file."""
        with self._lock:
            if path in self._stats:
                return self._stats[path]
        try:
            info: os.stat_result | None = os.stat(path)
        except OSError:
            info = None
        if info is not None and not stat.S_ISREG(info.st_mode):
            info = None  # a FIFO named config.yaml must never be opened
        with self._lock:
            self._stats[path] = info
        return info

    def signature(self, paths: list[str]) -> str:
        """A string that changes when any of ``paths`` appears, disappears or changes."""
        parts = []
        for path in paths:
            info = self.stat(path)
            if info is not None:
                parts.append(f"{path}:{info.st_size}:{info.st_mtime_ns}")
        return "|".join(parts)

    def load(self, path: str) -> tuple[Mapping[str, Any] | None, Issue | None]:
        """The config at ``path`` as a mapping, or ``None`` with an issue saying why."""
        with self._lock:
            if path in self._docs:
                return self._docs[path]
        result: tuple[Mapping[str, Any] | None, Issue | None]
        if self.stat(path) is None:
            result = (None, None)
        else:
            try:
                data = load_document(Path(path), MAX_CONFIG_BYTES)
            except (UnsafeDocumentError, OSError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                result = (None, _warning("config.unreadable", f"{self._show(path)}: {reason}"))
            else:
                if isinstance(data, Mapping):
                    result = (data, None)
                else:
                    message = f"{self._show(path)}: not a mapping"
                    result = (None, _warning("config.not-mapping", message))
        with self._lock:
            self._docs[path] = result
        return result

    def _show(self, path: str) -> str:
        return os.path.relpath(path, self._root).replace(os.sep, "/")


def find_config(
    candidates: list[ConfigCandidate], store: ConfigStore
) -> tuple[ConfigCandidate | None, Mapping[str, Any] | None, list[Issue]]:
    """The first candidate that reads as a mapping, its data, and issues from those that failed."""
    issues: list[Issue] = []
    for candidate in candidates:
        data, issue = store.load(candidate.path)
        if issue is not None:
            issues.append(issue)
        if data is not None:
            return candidate, data, issues
    return None, None, issues


def read_config_fields(data: Mapping[str, Any], label: str) -> TierResult:
    """Read the catalog's fields from a config's plain data; provenance ``"<label> <key path>"``.

    Reads ``model.architecture``/``model.architectures``, the encoder/decoder/head/loss names
    (``model.component_overrides`` first), ``trainer.max_epochs``,
    ``callbacks.model_checkpoint.{monitor, mode, save_top_k, save_last}``, ``exp_name`` and
    ``logger.wandb.id``. Unknown or placeholder values are left out.
    """
    tier = TierResult(kind="config")
    for key in ("model.architecture", "model.architectures"):
        tier.put("architecture", _architecture(_get(data, key), data), f"{label} {key}")
    for field_name, keys in _NAME_FIELDS:
        for key in keys:
            tier.put(field_name, _text(_get(data, key), data), f"{label} {key}")
    max_epochs = _integer(_get(data, "trainer.max_epochs"), data)
    tier.put(
        "max_epochs",
        max_epochs if max_epochs is not None and max_epochs >= 1 else None,
        f"{label} trainer.max_epochs",
    )
    mode = _text(_get(data, "callbacks.model_checkpoint.mode"), data)
    tier.put(
        "monitor_mode",
        mode.lower() if mode and mode.lower() in ("min", "max") else None,
        f"{label} callbacks.model_checkpoint.mode",
    )
    top_k = _integer(_get(data, "callbacks.model_checkpoint.save_top_k"), data)
    tier.put(
        "save_top_k",
        top_k if top_k is not None and top_k >= -1 else None,
        f"{label} callbacks.model_checkpoint.save_top_k",
    )
    save_last = _resolve(_get(data, "callbacks.model_checkpoint.save_last"), data)
    tier.put(
        "save_last",
        save_last if isinstance(save_last, bool) or save_last == "link" else None,
        f"{label} callbacks.model_checkpoint.save_last",
    )
    wandb_id = _resolve(_get(data, "logger.wandb.id"), data)
    if isinstance(wandb_id, int) and not isinstance(wandb_id, bool):
        wandb_id = str(wandb_id)
    tier.put("wandb_run_id", _text(wandb_id, data), f"{label} logger.wandb.id")
    return tier


def _get(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _resolve(value: Any, data: Mapping[str, Any], depth: int = 0) -> Any:
    """Follow ``${a.b}`` to a plain value in the same document; other interpolations → None."""
    if not isinstance(value, str) or "${" not in value:
        return value
    match = _INTERPOLATION.fullmatch(value.strip())
    if match is None or depth >= 8:
        return None
    return _resolve(_get(data, match.group(1)), data, depth + 1)


def _text(value: Any, data: Mapping[str, Any]) -> str | None:
    value = known(_resolve(value, data))
    return value.strip() if isinstance(value, str) and value.strip() else None


def _integer(value: Any, data: Mapping[str, Any]) -> int | None:
    # A checkpoint's hyper_parameters come from a pickle, which may hold any integer: one over
    # MAX_INT could be neither cached nor printed (Python refuses over 4,300 digits).
    value = _resolve(value, data)
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_INT:
        value = int(value)
    if isinstance(value, int) and abs(value) <= MAX_INT:
        return value
    return None


def _architecture(value: Any, data: Mapping[str, Any]) -> str | None:
    # Seen in real configs: a name, a list of names, or a group node with a name. A group node's
    # `_target_` is a class path ("ocr.models.OCRModel"): never an architecture.
    value = _resolve(value, data)
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str)), None)
    if isinstance(value, Mapping):
        for key in ("name", "architecture"):
            candidate = _text(value.get(key), data)
            if candidate:
                return candidate
        return None
    return _text(value, data)


def _warning(code: str, message: str) -> Issue:
    return Issue(severity="warning", code=code, message=message)
