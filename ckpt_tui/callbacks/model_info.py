"""The sidecar's ``model`` block: from the module's hyper-parameters, else from its state dict.

Hyper-parameters are read through exact, configurable key paths whose defaults fit Hydra layouts
(``model.encoder.model_name``). The reference read attributes that did not exist and wrote
"unknown" everywhere; here a name comes from the hyper-parameters, else from state-dict inference
(``ckpt_tui.sources.statedict``), and only a required name that no source knows is written as the
reference's "unknown" placeholder (readers map it back to ``None``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ckpt_tui.model.schema import (
    UNKNOWN,
    DecoderInfo,
    EncoderInfo,
    HeadInfo,
    LossInfo,
    ModelInfo,
)

_MISSING: Any = object()


@dataclass(frozen=True)
class ModelKeys:
    """Dotted key paths into ``pl_module.hparams`` for each model name."""

    architecture: str = "model.architecture"
    """Path of the architecture name."""
    encoder: str = "model.encoder.model_name"
    """Path of the encoder (backbone) name; its parent may hold ``pretrained`` and ``frozen``."""
    decoder: str = "model.decoder.name"
    """Path of the decoder name; its parent may hold ``in_channels``, ``inner_channels``..."""
    head: str = "model.head.name"
    """Path of the head name; its parent may hold ``in_channels``."""
    loss: str = "model.loss.name"
    """Path of the loss name."""


def _child(node: Any, key: str) -> Any:
    if isinstance(node, Mapping):
        try:
            return node.get(key, _MISSING)
        except Exception:  # an OmegaConf interpolation that does not resolve, for one
            return _MISSING
    # argparse.Namespace and the like: read the instance dict only, never run properties.
    attrs = getattr(node, "__dict__", None)
    if isinstance(attrs, dict) and key in attrs:
        return attrs[key]
    return _MISSING


def _walk(root: Any, path: str) -> Any:
    node = root
    for part in path.split("."):
        node = _child(node, part)
        if node is _MISSING:
            return _MISSING
    return node


def lookup(root: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``root``, or ``None``.

    When the path is not found at the top, it is tried once more under each top-level mapping:
    ``save_hyperparameters()`` in ``__init__(self, cfg)`` nests the whole config under ``cfg``.
    """
    if not path or root is None:
        return None
    found = _walk(root, path)
    if found is not _MISSING:
        return found
    if isinstance(root, Mapping):
        for key in list(root.keys()):
            nested = _child(root, str(key))
            if isinstance(nested, Mapping) or hasattr(nested, "__dict__"):
                found = _walk(nested, path)
                if found is not _MISSING:
                    return found
    return None


def _name(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        text = str(value).strip()
        return text or None
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int_list(value: Any) -> list[int] | None:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return None
    items = list(value)
    if all(_int(item) is not None for item in items):
        return items
    return None


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def _sibling(root: Any, path: str, key: str) -> Any:
    parent = _parent(path)
    return lookup(root, f"{parent}.{key}" if parent else key)


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


@dataclass
class ModelNames:
    """Names (and a few shapes) found for one model; ``None`` where not known."""

    architecture: str | None = None
    encoder: str | None = None
    decoder: str | None = None
    head: str | None = None
    loss: str | None = None
    encoder_extra: dict[str, Any] | None = None
    decoder_extra: dict[str, Any] | None = None
    head_extra: dict[str, Any] | None = None

    @property
    def complete(self) -> bool:
        """Whether both required names (architecture, encoder) are known."""
        return self.architecture is not None and self.encoder is not None


def names_from_hparams(hparams: Any, keys: ModelKeys) -> ModelNames:
    """Model names read from hyper-parameters through ``keys``."""
    return ModelNames(
        architecture=_name(lookup(hparams, keys.architecture)),
        encoder=_name(lookup(hparams, keys.encoder)),
        decoder=_name(lookup(hparams, keys.decoder)),
        head=_name(lookup(hparams, keys.head)),
        loss=_name(lookup(hparams, keys.loss)),
        encoder_extra=_drop_none(
            {
                "pretrained": _bool(_sibling(hparams, keys.encoder, "pretrained")),
                "frozen": _bool(_sibling(hparams, keys.encoder, "frozen")),
            }
        ),
        decoder_extra=_drop_none(
            {
                "in_channels": _int_list(_sibling(hparams, keys.decoder, "in_channels")),
                "inner_channels": _int(_sibling(hparams, keys.decoder, "inner_channels")),
                "output_channels": _int(_sibling(hparams, keys.decoder, "output_channels")),
            }
        ),
        head_extra=_drop_none({"in_channels": _int(_sibling(hparams, keys.head, "in_channels"))}),
    )


def names_from_state_dict(shapes: Mapping[str, Sequence[int]]) -> ModelNames | None:
    """Names inferred from parameter shapes by ``ckpt_tui.sources.statedict``, if available."""
    try:
        module = importlib.import_module("ckpt_tui.sources.statedict")
    except ImportError:
        return None
    infer = getattr(module, "infer_model_from_shapes", None)
    if not callable(infer):
        return None
    guess = infer(shapes)
    return ModelNames(
        architecture=_name(getattr(guess, "architecture", None)),
        encoder=_name(getattr(guess, "encoder", None)),
        decoder=_name(getattr(guess, "decoder", None)),
        head=_name(getattr(guess, "head", None)),
    )


def merge(first: ModelNames, fallback: ModelNames | None) -> ModelNames:
    """``first``'s names, with gaps filled from ``fallback``."""
    if fallback is None:
        return first
    return ModelNames(
        architecture=first.architecture or fallback.architecture,
        encoder=first.encoder or fallback.encoder,
        decoder=first.decoder or fallback.decoder,
        head=first.head or fallback.head,
        loss=first.loss or fallback.loss,
        encoder_extra=first.encoder_extra,
        decoder_extra=first.decoder_extra,
        head_extra=first.head_extra,
    )


def state_dict_shapes(module: Any) -> dict[str, tuple[int, ...]]:
    """Parameter and buffer shapes of a torch module, by state-dict key (no tensor data copied)."""
    return {str(key): tuple(value.shape) for key, value in module.state_dict().items()}


def build_model_info(names: ModelNames) -> ModelInfo:
    """The ``model`` block; a required name nobody knows is written as "unknown" (the schema)."""
    return ModelInfo(
        architecture=names.architecture or UNKNOWN,
        encoder=EncoderInfo(model_name=names.encoder or UNKNOWN, **(names.encoder_extra or {})),
        decoder=DecoderInfo(name=names.decoder, **(names.decoder_extra or {})),
        head=HeadInfo(name=names.head, **(names.head_extra or {})),
        loss=LossInfo(name=names.loss),
    )


def model_info_for(pl_module: Any, keys: ModelKeys) -> ModelInfo:
    """The ``model`` block for a LightningModule: hyper-parameters first, then its state dict."""
    names = names_from_hparams(getattr(pl_module, "hparams", None), keys)
    if not names.complete:
        names = merge(names, names_from_state_dict(state_dict_shapes(pl_module)))
    return build_model_info(names)
