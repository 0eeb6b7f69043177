"""The sidecar documents ckpt-tui writes: built from known values and their provenance.

One builder serves every writer (``convert`` and the training callback): it writes only what a
source said. A field no source knew is left out (never ``"unknown"``, never a schema default such
as ``mode: max``) and listed in the ``ckpt_tui`` block's ``unknown``, with each written field's
provenance beside it. The document is checked against ``CheckpointMetadataV1`` but never replaced
by the model's dump, which would add the schema's defaults as if a source had said them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ckpt_tui.io.atomic import atomic_write_text
from ckpt_tui.io.safe_yaml import MAX_SIDECAR_BYTES, dump_yaml, read_bounded_text
from ckpt_tui.io.text import escape_surrogates
from ckpt_tui.model.placeholders import SCHEMA_VERSION, known
from ckpt_tui.sidecar.files import find_sidecar, parse_sidecar_text, sidecar_path_for

if TYPE_CHECKING:
    from ckpt_tui.model.schema import CkptTuiBlock

REQUIRED_KEYS = frozenset(("exp_name", "created_at", "training.epoch", "training.global_step"))
"""Keys the schema requires and that no ``ckpt_tui`` block may excuse: without them nothing is
written."""
_LAYOUT = ("training", "model", "metrics", "checkpointing")
"""The blocks of a sidecar in the reference's order; ``training``, ``model`` and ``metrics``
are required (``metrics`` may be empty: all its fields are optional)."""
_OPTIONAL_BLOCKS = ("checkpointing",)
"""Blocks left out when no source knew any of their fields."""

TRAINING_WRITER = "MetadataCallback"
"""The last word of ``ckpt_tui.written_by`` in sidecars written during training."""

VIA_SIDECAR = re.compile(r" \(via sidecar, (?:converted|written during training) [^()]*\)$")
"""The suffix :func:`via_sidecar` adds to a provenance (stripped when a sidecar is rewritten,
so a value keeps its first origin)."""


def build_document(
    checkpoint_path: str,
    values: Mapping[str, Any],
    provenance: Mapping[str, str],
    *,
    written_by: str,
    written_at: str,
    validate: bool = True,
) -> tuple[dict[str, Any], list[str]]:
    """The sidecar document for ``checkpoint_path``, and the key paths no source knew.

    ``values`` maps key paths (``model.encoder.model_name``) to what a source said; ``None``,
    ``""`` or a placeholder such as ``"unknown"`` (outside the required keys) means the writer
    looked and no source knew it: the key is left out and listed in the ``ckpt_tui`` block's
    ``unknown``. ``provenance`` maps key paths to where their value came
    from (a stale ``via sidecar`` suffix is dropped). Raises ``ValueError`` when no valid metadata
    can be built (a required field no source knew, or a value the schema refuses).
    ``validate=False`` leaves the check against the schema to the caller
    (:func:`validate_document`, before anything is written), so the building needs no pydantic.
    """
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "checkpoint_path": checkpoint_path,
        "exp_name": None,  # set below (required), here for the reference's key order
        "created_at": None,
    }
    for block in _LAYOUT:
        document[block] = {}
    origins: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in values.items():
        if value is None or value == "" or (key not in REQUIRED_KEYS and known(value) is None):
            if key in REQUIRED_KEYS:
                raise ValueError(f"no source knows the {key}; a sidecar needs it")
            unknown.append(key)
            continue
        _put(document, key, value)
        origin = provenance.get(key)
        if origin:
            origins[key] = VIA_SIDECAR.sub("", origin)
    for key in REQUIRED_KEYS:
        if key not in values:
            raise ValueError(f"no source knows the {key}; a sidecar needs it")
    for block in _OPTIONAL_BLOCKS:
        if not document[block]:
            del document[block]
    document["ckpt_tui"] = {
        "written_by": written_by,
        "written_at": written_at,
        "unknown": unknown,
        "provenance": origins,
    }
    # YAML (UTF-8) cannot hold lone surrogates (odd file names): escape them before validating.
    document = _utf8_safe(document)
    if validate:
        validate_document(document)
    return document, unknown


def with_checkpoint_path(document: Mapping[str, Any], checkpoint_path: str) -> dict[str, Any]:
    """A copy of a built ``document`` describing ``checkpoint_path`` (a link to its file)."""
    copy = dict(document)
    copy["checkpoint_path"] = _utf8_safe(checkpoint_path)
    return copy


def write_document(document: Mapping[str, Any], ckpt_path: Path) -> Path:
    """Write a built ``document`` as the sidecar of ``ckpt_path``, atomically; its path.

    Raises ``OSError`` when the folder cannot be written; the checkpoint is never touched.
    """
    target = sidecar_path_for(Path(ckpt_path))
    atomic_write_text(target, dump_yaml(dict(document)))
    return target


def read_document(ckpt_path: Path) -> dict[str, Any] | None:
    """The document of ``ckpt_path``'s sidecar as written (no schema defaults added), or
    ``None`` when it has none or it is not valid. Read only with the safe YAML readers."""
    path, _ = find_sidecar(Path(ckpt_path))
    if path is None:
        return None
    try:
        data = parse_sidecar_text(read_bounded_text(str(path), MAX_SIDECAR_BYTES))
        if not isinstance(data, dict):
            return None
        validate_document(data)
    except (ValueError, OSError):  # UnsafeDocumentError and a too-large number are ValueErrors
        return None
    return data


def via_sidecar(block: CkptTuiBlock, origin: str) -> str:
    """``origin`` as read back from a sidecar ckpt-tui wrote: who wrote it, and when.

    ``checkpoint epoch (via sidecar, converted 2026-12-07)`` for ``convert``;
    ``trainer current_epoch (via sidecar, written during training 2026-12-07)`` for the
    training callback.
    """
    how = "written during training" if written_during_training(block) else "converted"
    return f"{origin} (via sidecar, {how} {block.written_at[:10]})"


def written_during_training(block: CkptTuiBlock) -> bool:
    """Whether the training callback (not ``convert``) wrote the sidecar of ``block``."""
    return block.written_by.rsplit(" ", 1)[-1] == TRAINING_WRITER


def _put(document: dict[str, Any], key: str, value: Any) -> None:
    """Set the dotted ``key`` (``model.encoder.model_name``) in ``document``."""
    *parents, last = key.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def validate_document(data: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the field when ``data`` is not valid ``CheckpointMetadataV1``."""
    from pydantic import ValidationError

    from ckpt_tui.model.schema import CheckpointMetadataV1

    try:
        CheckpointMetadataV1.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where}: {first['msg']}" if where else first["msg"]) from exc


def _utf8_safe(value: Any) -> Any:
    """``value`` with lone surrogates in its strings written as backslash escapes.

    A file name that is not UTF-8 reaches Python as lone surrogates (``os.fsdecode``), and so may
    a string in a hostile checkpoint; YAML (UTF-8) cannot hold them, so the sidecar records
    ``inv\\xffalid`` for the byte 0xff, as the rest of ckpt-tui shows it.
    """
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, dict):
        return {_utf8_safe(key): _utf8_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_utf8_safe(item) for item in value]
    return value
