"""Observe the files a ModelCheckpoint writes, links and removes, right where it does so.

``ModelCheckpoint`` records ``best_model_path``/``last_model_path`` *before* the file exists, so a
callback that reads those paths from its own hooks misses files or runs too early (the reference's
fault). Every file it writes goes through three instance methods, which we wrap on the instance
(never on the class, so other ModelCheckpoints and other Trainers are untouched):

- ``_save_checkpoint(trainer, filepath)``: top-k, last, every-n-steps/epochs, ``-v1`` versions;
- ``_link_checkpoint(trainer, filepath, linkpath)``: ``save_last="link"``;
- ``_remove_checkpoint(trainer, filepath)``: top-k rotation and replaced ``last`` files.

The wrapper calls the original first and lets its exceptions through untouched; the observer
runs afterwards, when the file is on disk. These are private Lightning methods, stable from
Lightning 1.6 to 2.6; a ModelCheckpoint without them is reported, not guessed at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

SAVE = "_save_checkpoint"
LINK = "_link_checkpoint"
REMOVE = "_remove_checkpoint"
WRAPPED = (SAVE, LINK, REMOVE)
#: Instance attribute holding the patch record (owner and originals) on a patched ModelCheckpoint.
PATCH_ATTR = "_ckpt_tui_metadata_patch"


class CheckpointObserver(Protocol):
    """What the wrappers report to (the metadata callback)."""

    def checkpoint_saved(
        self, checkpoint_cb: Any, trainer: Any, filepath: str, save_seconds: float
    ) -> None:
        """``checkpoint_cb`` wrote ``filepath``, which took ``save_seconds``."""

    def checkpoint_linked(
        self, checkpoint_cb: Any, trainer: Any, target: str, linkpath: str
    ) -> None:
        """``checkpoint_cb`` made ``linkpath`` a link to (or copy of) ``target``."""

    def checkpoint_removed(self, checkpoint_cb: Any, trainer: Any, filepath: str) -> None:
        """``checkpoint_cb`` removed ``filepath``."""


@dataclass
class PatchRecord:
    """What was replaced on one ModelCheckpoint, so it can be put back exactly."""

    owner: CheckpointObserver
    """The observer the wrappers report to."""
    originals: dict[str, Any] = field(default_factory=dict)
    """Instance attributes replaced by the patch (usually none: methods live on the class)."""


def missing_methods(checkpoint_cb: Any) -> list[str]:
    """The methods we need that ``checkpoint_cb`` lacks (empty when it can be observed)."""
    return [name for name in WRAPPED if not callable(getattr(checkpoint_cb, name, None))]


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def _wrap_save(checkpoint_cb: Any, original: Callable[..., Any], owner: CheckpointObserver) -> Any:
    def _save_checkpoint(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = original(*args, **kwargs)
        owner.checkpoint_saved(
            checkpoint_cb,
            _arg(args, kwargs, 0, "trainer"),
            str(_arg(args, kwargs, 1, "filepath")),
            time.perf_counter() - started,
        )
        return result

    return _save_checkpoint


def _wrap_link(checkpoint_cb: Any, original: Callable[..., Any], owner: CheckpointObserver) -> Any:
    # ``_link_checkpoint`` is a staticmethod: an instance attribute is called without ``self``.
    def _link_checkpoint(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        owner.checkpoint_linked(
            checkpoint_cb,
            _arg(args, kwargs, 0, "trainer"),
            str(_arg(args, kwargs, 1, "filepath")),
            str(_arg(args, kwargs, 2, "linkpath")),
        )
        return result

    return _link_checkpoint


def _wrap_remove(
    checkpoint_cb: Any, original: Callable[..., Any], owner: CheckpointObserver
) -> Any:
    def _remove_checkpoint(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        owner.checkpoint_removed(
            checkpoint_cb, _arg(args, kwargs, 0, "trainer"), str(_arg(args, kwargs, 1, "filepath"))
        )
        return result

    return _remove_checkpoint


_WRAPPERS = {SAVE: _wrap_save, LINK: _wrap_link, REMOVE: _wrap_remove}


def patch(checkpoint_cb: Any, owner: CheckpointObserver) -> None:
    """Make ``checkpoint_cb`` report its saves, links and removals to ``owner``.

    Patching again (same or another owner) first restores the originals, so wrappers never stack.
    """
    unpatch(checkpoint_cb)
    record = PatchRecord(owner=owner)
    instance_attrs = vars(checkpoint_cb)
    for name in WRAPPED:
        if name in instance_attrs:
            record.originals[name] = instance_attrs[name]
        original = getattr(checkpoint_cb, name)
        setattr(checkpoint_cb, name, _WRAPPERS[name](checkpoint_cb, original, owner))
    setattr(checkpoint_cb, PATCH_ATTR, record)


def unpatch(checkpoint_cb: Any) -> None:
    """Put ``checkpoint_cb`` back as it was before :func:`patch` (no-op when not patched)."""
    instance_attrs = vars(checkpoint_cb)
    record = instance_attrs.pop(PATCH_ATTR, None)
    if not isinstance(record, PatchRecord):
        return
    for name in WRAPPED:
        if name in record.originals:
            instance_attrs[name] = record.originals[name]
        else:
            instance_attrs.pop(name, None)


def patched_by(checkpoint_cb: Any) -> CheckpointObserver | None:
    """The observer ``checkpoint_cb`` currently reports to, if any."""
    record = vars(checkpoint_cb).get(PATCH_ATTR)
    return record.owner if isinstance(record, PatchRecord) else None
