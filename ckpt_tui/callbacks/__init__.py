"""Lightning callbacks: :class:`MetadataCallback` writes a sidecar for every checkpoint.

Importing this package does not import torch or Lightning; the callback class is built on first
access (``from ckpt_tui.callbacks import MetadataCallback``), with the ``Callback`` base of
whichever Lightning flavour is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers: the real class adds only Lightning's Callback base
    from ckpt_tui.callbacks.core import MetadataCallbackCore as MetadataCallback
    from ckpt_tui.callbacks.core import MetadataCallbackWarning

__all__ = ["MetadataCallback", "MetadataCallbackWarning"]


def __getattr__(name: str) -> Any:
    if name == "MetadataCallback":
        from ckpt_tui.callbacks._callback import MetadataCallback

        globals()[name] = MetadataCallback  # later lookups skip this function
        return MetadataCallback
    if name == "MetadataCallbackWarning":
        from ckpt_tui.callbacks.core import MetadataCallbackWarning

        globals()[name] = MetadataCallbackWarning
        return MetadataCallbackWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
