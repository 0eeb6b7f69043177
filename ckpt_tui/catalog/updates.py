"""The one place that merges a streamed build's updates into the entries it describes.

A streaming build (:func:`ckpt_tui.catalog.api.iter_catalog`) sends new entries first and
replacements later, both keyed by ``checkpoint_path``, plus scan issues and the slow tier's
progress. :class:`CatalogState` applies them; every consumer keeps its entries in one: the
library's ``build_catalog``, ``ckpt-tui list``, the TUI's loading worker (which passes the
changes on in fewer, larger steps with :meth:`CatalogState.take`) and the TUI's main screen
(which keeps one across rescans: :meth:`CatalogState.start` begins the next build, and its final
update removes the checkpoints that build no longer found).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from ckpt_tui.catalog.build import CatalogUpdate
from ckpt_tui.model.entry import CheckpointCatalog, CheckpointCatalogEntry, Issue

__all__ = ["CatalogState"]

Entry = CheckpointCatalogEntry


class CatalogState:
    """Every entry the builds applied so far, by checkpoint path, in the order first seen."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._seen: set[str] = set()
        self._changed: dict[str, Entry] = {}
        self._issues_taken = 0
        self._by_path: list[Entry] | None = None
        self.scan_issues: list[Issue] = []
        """The current build's scan issues (unreadable folders, cache warnings, ...)."""
        self.done = 0
        """Checkpoints the current build's slow tier has finished (from its latest update)."""
        self.total = 0
        """Checkpoints queued for the current build's slow tier (from its latest update)."""
        self.finished = False
        """Whether the current build's final update was applied."""

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, path: object) -> bool:
        return path in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    @property
    def entries(self) -> Mapping[str, Entry]:
        """Every entry by checkpoint path (a read-only view: only updates change it)."""
        return MappingProxyType(self._entries)

    def ordered(self) -> list[Entry]:
        """The entries in the order first seen (the build's walk order)."""
        return list(self._entries.values())

    def by_path(self) -> list[Entry]:
        """The entries sorted by checkpoint path; kept until the next change."""
        if self._by_path is None:
            self._by_path = sorted(self._entries.values(), key=lambda e: e.checkpoint_path)
        return self._by_path

    def start(self) -> None:
        """Begin applying another build of the same tree.

        The entries stay (a rescan replaces rows, it does not blank the table); those the new
        build does not find are removed when its final update is applied.
        """
        self._seen = set()
        self._changed = {}
        self._issues_taken = 0
        self.scan_issues = []
        self.done = self.total = 0
        self.finished = False

    def apply(self, update: CatalogUpdate) -> bool:
        """Merge ``update``; whether any entry was added, replaced by a different one or removed."""
        changed = False
        for entry in update.entries:
            path = entry.checkpoint_path
            self._seen.add(path)
            old = self._entries.get(path)
            # An equal replacement (a rescan of an unchanged file) is not a change: nothing to
            # repaint, nothing to pass on.
            if old is None or old != entry:
                self._entries[path] = entry
                self._changed[path] = entry
                changed = True
        self.scan_issues.extend(update.scan_issues)
        self.done, self.total = update.done, update.total
        if update.final:
            self.finished = True
            gone = [path for path in self._entries if path not in self._seen]
            for path in gone:
                del self._entries[path]
                self._changed.pop(path, None)
            changed = changed or bool(gone)
        if changed:
            self._by_path = None
        return changed

    @property
    def has_news(self) -> bool:
        """Whether :meth:`take` has entries or scan issues to pass on."""
        return bool(self._changed) or len(self.scan_issues) > self._issues_taken

    def take(self) -> CatalogUpdate:
        """The changes since the previous ``take`` as one update (each path once, its latest
        entry), with the latest progress; ``final`` once the build's final update was applied.

        Applying the taken updates to another state gives it the same entries.
        """
        update = CatalogUpdate(
            entries=list(self._changed.values()),
            done=self.done,
            total=self.total,
            scan_issues=self.scan_issues[self._issues_taken :],
            final=self.finished,
        )
        self._changed = {}
        self._issues_taken = len(self.scan_issues)
        return update

    def catalog(self, root: str, build_seconds: float = 0.0) -> CheckpointCatalog:
        """The entries (in the order first seen) and scan issues as a :class:`CheckpointCatalog`."""
        return CheckpointCatalog(
            root=root,
            entries=self.ordered(),
            catalog_build_time_seconds=build_seconds,
            scan_issues=list(self.scan_issues),
        )
