"""A cheap fingerprint of a tree: every checkpoint (name, size, mtime, ctime, inode), sidecar and
config (name, size, mtime).

Live updates poll it: a new fingerprint means something changed, and only then is the tree
scanned again. It is fed from :func:`ckpt_tui.catalog.discover.walk`, folder by folder: the
walk's own stat of each checkpoint, and one stat of each sidecar and config (cached on the
listing's entry, so the sidecar tier reuses it). The scan feeds one from its own walk
(``iter_catalog``'s ``fingerprint``), so the poll's baseline costs no second walk, and each
folder is fingerprinted before its files are read: a change the scan did not see always shows
at the next poll.
"""

from __future__ import annotations

import os
from pathlib import Path

from ckpt_tui.catalog.discover import DEFAULT_PATTERNS, Folder, FoundFile, walk


class TreeFingerprint:
    """Accumulates the walk's view of each folder; :meth:`value` is the fingerprint.

    Two fingerprints of the same tree fed by walks with the same patterns are equal (within one
    process: the value is a ``hash``).
    """

    def __init__(self) -> None:
        # One hash per folder, not the folder's stats: kept, those cost ~35 MB at 100,000
        # checkpoints until the scan ends.
        self._parts: list[int] = []

    def add(self, folder: Folder, files: list[FoundFile]) -> None:
        """Record one folder of the walk: its sidecars and configs, then its checkpoints."""
        aux: list[tuple[str, int, int]] = []
        for name, entry in sorted(folder.aux.items()):
            try:
                stat = entry.stat()
            except OSError:
                aux.append((name, -1, -1))
            else:
                aux.append((name, stat.st_size, stat.st_mtime_ns))
        checkpoints = tuple((f.name, f.size, f.mtime_ns, f.ctime_ns, f.ino) for f in files)
        self._parts.append(hash((folder.rel, tuple(aux), checkpoints)))

    def value(self) -> int:
        """The fingerprint of everything recorded so far."""
        return hash(tuple(self._parts))


def tree_fingerprint(root: Path | str, *, patterns: tuple[str, ...] = DEFAULT_PATTERNS) -> int:
    """Walk ``root`` once and fingerprint it (about a quarter of a cached scan's cost)."""
    fingerprint = TreeFingerprint()
    for folder, files in walk(os.path.abspath(root), [], patterns=patterns):
        fingerprint.add(folder, files)
    return fingerprint.value()
