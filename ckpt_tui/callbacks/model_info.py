"""The sidecar's ``model`` block: from the module's hyper-parameters, else from its state dict.

Hyper-parameters are read through exact, configurable key paths whose defaults fit Hydra layouts
(``model.encoder.model_name``). The reference read attributes that did not exist and wrote
"unknown" everywhere; here a name comes from the hyper-parameters, else from state-dict inference
(``ckpt_tui.sources.statedict``), each with its provenance. A name no source knows stays ``None``:
the sidecar leaves it out and lists it in its ``ckpt_tui`` block's ``unknown``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ckpt_tui.model.placeholders import known

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
        return known(text) or None  # "unknown", "none": a placeholder, not a name
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


#: Provenance of the names inferred from a state dict.
STATE_DICT = "state dict inference"


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
    provenance: dict[str, str] = field(default_factory=dict)
    """Sidecar key path (``model.encoder.model_name``) → where its value came from."""

    @property
    def complete(self) -> bool:
        """Whether both required names (architecture, encoder) are known."""
        return self.architecture is not None and self.encoder is not None


_NAME_KEYS = {
    "architecture": "model.architecture",
    "encoder": "model.encoder.model_name",
    "decoder": "model.decoder.name",
    "head": "model.head.name",
    "loss": "model.loss.name",
}
"""ModelNames attribute → the sidecar key path of that name."""
_EXTRA_BLOCKS = {
    "encoder_extra": "model.encoder",
    "decoder_extra": "model.decoder",
    "head_extra": "model.head",
}
"""ModelNames attribute holding a block's other fields → that block's key path."""


def names_from_hparams(hparams: Any, keys: ModelKeys) -> ModelNames:
    """Model names read from hyper-parameters through ``keys``, with ``hparams <path>``
    provenance."""
    names = ModelNames(
        architecture=_name(lookup(hparams, keys.architecture)),
        encoder=_name(lookup(hparams, keys.encoder)),
        decoder=_name(lookup(hparams, keys.decoder)),
        head=_name(lookup(hparams, keys.head)),
        loss=_name(lookup(hparams, keys.loss)),
    )
    for attribute, key in _NAME_KEYS.items():
        if getattr(names, attribute) is not None:
            names.provenance[key] = f"hparams {getattr(keys, attribute)}"
    readers: dict[str, tuple[str, dict[str, Callable[[Any], Any]]]] = {
        "encoder_extra": (keys.encoder, {"pretrained": _bool, "frozen": _bool}),
        "decoder_extra": (
            keys.decoder,
            {"in_channels": _int_list, "inner_channels": _int, "output_channels": _int},
        ),
        "head_extra": (keys.head, {"in_channels": _int}),
    }
    for attribute, (path, fields) in readers.items():
        extra: dict[str, Any] = {}
        parent = _parent(path)
        for name, read in fields.items():
            value = read(_sibling(hparams, path, name))
            if value is not None:
                extra[name] = value
                where = f"{parent}.{name}" if parent else name
                names.provenance[f"{_EXTRA_BLOCKS[attribute]}.{name}"] = f"hparams {where}"
        setattr(names, attribute, extra)
    return names


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
    names = ModelNames(
        architecture=_name(getattr(guess, "architecture", None)),
        encoder=_name(getattr(guess, "encoder", None)),
        decoder=_name(getattr(guess, "decoder", None)),
        head=_name(getattr(guess, "head", None)),
    )
    for attribute, key in _NAME_KEYS.items():
        if getattr(names, attribute) is not None:
            names.provenance[key] = STATE_DICT
    return names


def merge(first: ModelNames, fallback: ModelNames | None) -> ModelNames:
    """``first``'s names, with gaps filled from ``fallback`` (and their provenance)."""
    if fallback is None:
        return first
    merged = ModelNames(
        encoder_extra=first.encoder_extra,
        decoder_extra=first.decoder_extra,
        head_extra=first.head_extra,
        provenance=dict(first.provenance),
    )
    for attribute, key in _NAME_KEYS.items():
        value = getattr(first, attribute)
        if value is None:
            value = getattr(fallback, attribute)
            if value is not None and key in fallback.provenance:
                merged.provenance[key] = fallback.provenance[key]
        setattr(merged, attribute, value)
    return merged


def state_dict_shapes(module: Any) -> dict[str, tuple[int, ...]]:
    """Parameter and buffer shapes of a torch module, by state-dict key (no tensor data copied)."""
    return {str(key): tuple(value.shape) for key, value in module.state_dict().items()}


#: Fields the callback looks for besides the names: listed as unknown when no source gave them.
SOUGHT_EXTRAS = ("model.encoder.pretrained", "model.encoder.frozen")


def model_values(names: ModelNames) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``model`` block as sidecar key paths → values (``None``: no source knew it), and
    their provenance. Nothing is filled in from the schema's defaults."""
    values: dict[str, Any] = {
        key: getattr(names, attribute) for attribute, key in _NAME_KEYS.items()
    }
    values.update(dict.fromkeys(SOUGHT_EXTRAS))
    for attribute, block in _EXTRA_BLOCKS.items():
        for name, value in (getattr(names, attribute) or {}).items():
            values[f"{block}.{name}"] = value
    return values, dict(names.provenance)


def model_values_for(pl_module: Any, keys: ModelKeys) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``model`` values of a LightningModule: hyper-parameters first, then its state dict."""
    names = names_from_hparams(getattr(pl_module, "hparams", None), keys)
    if not names.complete:
        names = merge(names, names_from_state_dict(state_dict_shapes(pl_module)))
    return model_values(names)
