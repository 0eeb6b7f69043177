"""Planning a conversion: what sidecar each checkpoint would get, from what the catalog knows.

:func:`plan_item` works out exactly what would be written for one entry (a valid
``CheckpointMetadataV1`` as plain data, plus the fields no source knew), or why nothing can be.
The documents are validated with pydantic's ``CheckpointMetadataV1``, as every sidecar read is.
Writing is :mod:`ckpt_tui.convert.write`'s job,
and :mod:`ckpt_tui.convert.engine` runs the two for the CLI and the TUI alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ckpt_tui import __version__
from ckpt_tui.catalog.verify import ReadVerdict, read_verdict, with_verdict
from ckpt_tui.io.safe_yaml import dump_yaml
from ckpt_tui.io.text import iso_local_time
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.sidecar.document import build_document, validate_document
from ckpt_tui.sidecar.files import find_sidecars, sidecar_path_for, stem_shared_on_disk
from ckpt_tui.sources.sidecar import SIDECAR_FIELDS

if TYPE_CHECKING:
    from ckpt_tui.model.schema import CheckpointMetadataV1

Action = Literal["write", "replace", "skip", "impossible"]
Outcome = Literal["written", "skipped", "failed"]


@dataclass(eq=False)
class ConversionItem:
    """What the conversion would do for one checkpoint."""

    entry: CheckpointCatalogEntry
    """The merged catalog entry the metadata is built from."""
    checkpoint: Path
    """The checkpoint file (never modified)."""
    target: Path
    """The sidecar that would be written (``<stem>.metadata.yaml``)."""
    action: Action
    """``write`` (no sidecar yet), ``replace`` (``--force``), ``skip`` or ``impossible``."""
    data: dict[str, Any] | None = None
    """The validated sidecar document (``CheckpointMetadataV1.to_yaml_dict()`` form); ``None``
    when it cannot be built. Plain data: building it needs no pydantic (see ``metadata``)."""
    unknown_fields: list[str] = field(default_factory=list)
    """Key paths no source knew: left out of the sidecar and listed in its ``ckpt_tui`` block."""
    reason: str = ""
    """Why the item is skipped or impossible."""
    stem_shared: bool = False
    """Whether another checkpoint in the folder has the same stem (then each has its own
    ``<name>.metadata.yaml``)."""
    write_root: str | None = None
    """The real root writes must stay within (checked again just before writing); ``None``:
    anywhere (``--write-outside-root``, or a plan made without a root)."""
    rendered: bytes | None = field(default=None, repr=False)
    """The YAML of ``data``, once :meth:`render` made it (where it was planned)."""

    @property
    def safety(self) -> str:
        """The checkpoint's safety verdict (read while planning when the entry had none)."""
        return self.entry.safety

    @property
    def unsafe_globals(self) -> list[str]:
        """The globals that make it ``unsafe``."""
        return self.entry.unsafe_globals

    @cached_property
    def metadata(self) -> CheckpointMetadataV1 | None:
        """The metadata to write as a model; ``None`` when it cannot be built (imports pydantic)."""
        if self.data is None:
            return None
        from ckpt_tui.model.schema import CheckpointMetadataV1

        return CheckpointMetadataV1.model_validate(self.data)

    def preview_yaml(self) -> str:
        """The exact YAML that would be written (empty when nothing would be)."""
        return dump_yaml(self.data) if self.data is not None else ""

    def payload(self) -> bytes:
        """The exact bytes that would be written (empty when nothing would be)."""
        if self.rendered is not None:
            return self.rendered
        return self.preview_yaml().encode("utf-8")

    def render(self) -> None:
        """Render the YAML now (:meth:`payload` then returns it as it is)."""
        self.rendered = self.payload() if self.data is not None else None


@dataclass
class ConversionPlan:
    """Every item of one conversion."""

    items: list[ConversionItem]
    """One item per candidate checkpoint."""


WRITTEN_BY = f"ckpt-tui {__version__} convert"
"""The ``ckpt_tui.written_by`` of the sidecars conversion writes."""


def sidecar_data_from_entry(
    entry: CheckpointCatalogEntry, *, written_at: str | None = None, validate: bool = True
) -> tuple[dict[str, Any], list[str]]:
    """Build the sidecar document for ``entry``; returns it with the key paths no source knew.

    Only what a source said is written (see :func:`ckpt_tui.sidecar.document.build_document`,
    shared with the training callback): a field no tier knew is left out and listed in the
    ``ckpt_tui`` block's ``unknown``, with each written field's provenance beside it, so the
    values keep their origin after the conversion. Raises ``ValueError`` when no valid metadata
    can be built (a required field no source knew); ``validate=False``: see
    :func:`checked_item`.
    """
    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for name, key in SIDECAR_FIELDS.items():
        value = getattr(entry, name, None)
        if name == "additional_metrics":
            value = dict(value) if value else None  # none logged is not a fact worth a key
            if value is None:
                continue
        if (
            name == "max_epochs"
            and value is not None
            and not (isinstance(value, int) and value >= 1)
        ):
            value = None  # 0 or -1: unlimited, which the schema writes as null
        values[key] = value
        if name in entry.provenance:
            # Converting a converted sidecar again (--force) keeps the first origin.
            provenance[key] = entry.provenance[name]
    return build_document(
        entry.checkpoint_path,
        values,
        provenance,
        written_by=WRITTEN_BY,
        written_at=written_at or iso_local_time(),
        validate=validate,
    )


UNSAFE_REASONS = {
    "unsafe": "unsafe: would run code when loaded",
    "code": "code: a TorchScript or torch.export archive runs its code when loaded",
}
"""Why a checkpoint with this verdict is skipped unless forced."""


OUTSIDE_ROOT = "outside ROOT through a link"
"""Why a checkpoint in a folder that a link leads to outside the root gets no sidecar."""


def is_within(folder_real: str, root_real: str) -> bool:
    """Whether the real path ``folder_real`` is ``root_real`` or inside it."""
    return folder_real == root_real or folder_real.startswith(root_real.rstrip(os.sep) + os.sep)


def plan_item(
    entry: CheckpointCatalogEntry,
    *,
    force: bool = False,
    read: ReadVerdict = read_verdict,
    write_root: str | None = None,
    written_at: str | None = None,
    stem_shared: bool | None = None,
    validate: bool = True,
) -> ConversionItem:
    """Work out what converting one entry would write.

    The item records the checkpoint's verdict: an ``unchecked`` entry's file is read (``read``)
    first. An ``unsafe`` or ``code`` checkpoint is skipped unless ``force``: its sidecar would
    describe it, and a sidecar-described row starts ``unchecked``, until its file is read again.
    With ``write_root`` (a real path), a checkpoint whose folder is really outside it (reached
    through a link) is skipped: nothing is written outside the root. ``force`` replaces an
    existing sidecar, valid or broken, under its own name. ``written_at`` is the time the
    ``ckpt_tui`` block records (default: now). ``stem_shared``: whether another checkpoint in
    the folder has the same stem (``None``: look on disk). ``validate=False`` plans without
    pydantic: the document must then go through :func:`checked_item` before it is written.
    """
    checkpoint = Path(entry.abs_path)
    if stem_shared is None:
        stem_shared = stem_shared_on_disk(checkpoint)
    target = sidecar_path_for(checkpoint, stem_shared=stem_shared)
    item = ConversionItem(entry, checkpoint, target, "write", stem_shared=stem_shared)
    item.write_root = write_root
    if write_root is not None and not is_within(os.path.realpath(checkpoint.parent), write_root):
        item.action, item.reason = "skip", OUTSIDE_ROOT
        return item
    found = find_sidecars(checkpoint.parent, checkpoint.name, stem_shared=stem_shared)
    name, _ = found.chosen()
    existing = None if name is None else checkpoint.parent / name
    if existing is not None and not force:
        item.action, item.reason = "skip", f"sidecar exists: {existing.name}"
        return item
    if entry.safety == "unchecked" and entry.abs_path:
        entry = item.entry = with_verdict(entry, read(entry.abs_path))
    if entry.safety in UNSAFE_REASONS and not force:
        item.action, item.reason = "skip", UNSAFE_REASONS[entry.safety]
        return item
    # A SECURITY error is the verdict, handled above; a sidecar's errors are the sidecar's (the
    # one --force replaces); any other error means there is nothing to describe.
    broken = [
        issue
        for issue in entry.issues
        if issue.severity == "error" and not issue.code.startswith(_NOT_THE_CHECKPOINTS)
    ]
    if broken and entry.source != "sidecar":
        item.action, item.reason = "impossible", broken[0].message
        return item
    try:
        item.data, item.unknown_fields = sidecar_data_from_entry(
            entry, written_at=written_at, validate=validate
        )
    except (ValueError, OSError) as exc:
        item.action, item.reason = "impossible", str(exc)
        return item
    if existing is not None:
        item.action, item.target = "replace", existing
    return item


_NOT_THE_CHECKPOINTS = ("security.", "sidecar.", "metrics.")


def checked_item(item: ConversionItem) -> ConversionItem:
    """``item``, planned with ``validate=False``, once its document is checked against the
    schema: as :func:`plan_item` would have planned it, ``impossible`` (saying why) when the
    document is not valid."""
    if item.data is None:
        return item
    try:
        validate_document(item.data)
    except ValueError as exc:
        item.data, item.unknown_fields, item.rendered = None, [], None
        item.action, item.reason = "impossible", str(exc)
    return item


"""Error codes that say nothing against describing the checkpoint itself."""


def plan_conversion(
    entries: Iterable[CheckpointCatalogEntry],
    *,
    force: bool = False,
    read: ReadVerdict = read_verdict,
    write_root: str | None = None,
    written_at: str | None = None,
) -> ConversionPlan:
    """Plan converting ``entries``; checkpoints with a sidecar, and unsafe ones, are skipped
    unless ``force``, and so are those outside ``write_root`` (see :func:`plan_item`)."""
    return ConversionPlan(
        [
            plan_item(e, force=force, read=read, write_root=write_root, written_at=written_at)
            for e in entries
        ]
    )
