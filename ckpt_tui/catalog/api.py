"""Building the catalog of a folder: discovery, the tiers, the cache, streamed as it goes.

:func:`iter_catalog` walks the tree once and yields entries in batches as soon as the fast tiers
(sidecar, config, path) have answered, then yields replacements as the slow checkpoint tier
finishes on a bounded thread pool; it stops promptly when ``cancel`` is set. :func:`build_catalog`
collects everything into a :class:`CheckpointCatalog` (merged by
:class:`~ckpt_tui.catalog.updates.CatalogState`). One bad file is one entry with an error;
nothing in the tree can stop a build.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ckpt_tui.catalog.build import BATCH_SIZE, Build, CatalogUpdate
from ckpt_tui.catalog.discover import DEFAULT_PATTERNS
from ckpt_tui.catalog.fingerprint import TreeFingerprint
from ckpt_tui.catalog.updates import CatalogState
from ckpt_tui.model.entry import CheckpointCatalog
from ckpt_tui.sources.checkpoint import CheckpointTier

__all__ = [
    "BATCH_SIZE",
    "CatalogState",
    "CatalogUpdate",
    "build_catalog",
    "iter_catalog",
    "resolve_root",
]


def resolve_root(root: Path | str) -> str:
    """``root`` as an absolute path; ``FileNotFoundError``/``NotADirectoryError`` when unusable."""
    path = os.path.abspath(os.fspath(root))
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such folder: {root}")
    if not os.path.isdir(path):
        raise NotADirectoryError(f"not a folder: {root}")
    return path


def build_catalog(
    root: Path | str,
    use_cache: bool = True,
    *,
    inspect: bool = True,
    checkpoint_tier: CheckpointTier | None = None,
) -> CheckpointCatalog:
    """Every checkpoint under ``root`` as a :class:`CheckpointCatalog` (entries in walk order).

    ``checkpoint_tier`` is passed to :func:`iter_catalog`.

    Raises ``FileNotFoundError`` or ``NotADirectoryError`` when ``root`` is not a folder; no
    problem inside the tree ever raises.
    """
    started = time.perf_counter()
    state = CatalogState()
    for update in iter_catalog(
        root, use_cache=use_cache, inspect=inspect, checkpoint_tier=checkpoint_tier
    ):
        state.apply(update)
    return state.catalog(resolve_root(root), time.perf_counter() - started)


def iter_catalog(
    root: Path | str,
    *,
    use_cache: bool = True,
    inspect: bool = True,
    cancel: threading.Event | None = None,
    workers: int = 2,
    patterns: Iterable[str] = DEFAULT_PATTERNS,
    fingerprint: TreeFingerprint | None = None,
    checkpoint_tier: CheckpointTier | None = None,
) -> Iterator[CatalogUpdate]:
    """Stream the catalog of ``root``: fast-tier entries first, then slow-tier replacements.

    Every update carries the entries that are new or changed since the previous one, the slow
    tier's progress (``done`` of ``total``) and new scan issues; the last has ``final=True``.
    With ``inspect`` the checkpoint tier runs for every entry without a valid sidecar, on
    ``workers`` threads. When ``cancel`` is set the iterator stops within a fraction of a
    second, without a final update (what was finished is still cached). ``use_cache=False``
    bypasses both the in-process and the persistent cache. ``fingerprint`` is fed from the
    build's own walk, each folder before its files are read (live updates compare it with
    :func:`~ckpt_tui.catalog.fingerprint.tree_fingerprint` later). ``checkpoint_tier`` reads one
    checkpoint, on a worker thread (default:
    :func:`~ckpt_tui.sources.checkpoint.checkpoint_tier`); its answers are cached like the
    default's, so one whose answers must not outlive the build goes with ``use_cache=False``.
    """
    build = Build(resolve_root(root), use_cache, inspect, cancel, max(1, workers), checkpoint_tier)
    return build.run(list(patterns), fingerprint)
