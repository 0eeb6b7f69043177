"""``MetadataCallback``: the logic of :mod:`ckpt_tui.callbacks.core` as a Lightning ``Callback``.

Importing this module imports Lightning, so ``ckpt_tui.callbacks`` imports it only on first access
to ``MetadataCallback``. The class derives from the ``Callback`` of every Lightning flavour that is
installed (``lightning.pytorch`` and ``pytorch_lightning``), so whichever package's Trainer the
user runs sees a real ``Callback`` subclass.
"""

from __future__ import annotations

import importlib

from ckpt_tui.callbacks.core import MetadataCallbackCore

#: Modules that provide a Lightning ``Callback`` class, in order of preference.
LIGHTNING_PACKAGES = ("lightning.pytorch", "pytorch_lightning")


def callback_bases() -> tuple[type, ...]:
    """The ``Callback`` class of each installed Lightning flavour; ImportError when none is."""
    bases: list[type] = []
    failures: list[str] = []
    for package in LIGHTNING_PACKAGES:
        try:
            module = importlib.import_module(package)
        except Exception as exc:  # not installed, or broken: try the other flavour
            failures.append(f"{package}: {type(exc).__name__}: {exc}")
            continue
        callback = getattr(module, "Callback", None)
        if isinstance(callback, type) and callback not in bases:
            bases.append(callback)
    if not bases:
        raise ImportError(
            "ckpt_tui.callbacks.MetadataCallback needs Lightning: pip install lightning "
            "(or pytorch-lightning). " + "; ".join(failures)
        )
    return tuple(bases)


MetadataCallback = type(
    "MetadataCallback",
    (MetadataCallbackCore, *callback_bases()),
    {
        "__module__": __name__,
        "__qualname__": "MetadataCallback",
        "__doc__": MetadataCallbackCore.__doc__,
    },
)
