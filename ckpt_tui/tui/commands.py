"""The command palette entries: sort by each column, show or hide each column, filter presets,
rescan, conversion.

The provider asks the screen the palette was opened on for its commands
(``MainScreen.palette_commands``, built by :func:`catalog_commands` from the screen's actions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ckpt_tui.catalog.columns import COLUMNS

PaletteCommand = tuple[str, str, Callable[[], object]]

#: Filter presets offered by the palette: (name, expression).
PRESETS: tuple[tuple[str, str], ...] = (
    ("no sidecar", "-has:sidecar"),
    ("has issues", "has:issues"),
    ("best per experiment", "is:best"),
)


class CatalogActions(Protocol):
    """What the catalog commands run on the main screen."""

    def sort_by(self, field: str, descending: bool | None = None) -> None: ...

    def apply_filter(self, expression: str) -> None: ...

    def action_rescan(self) -> None: ...

    def toggle_column(self, key: str) -> None: ...

    def fit_columns(self) -> None: ...

    def action_convert(self) -> None: ...

    def action_copy_path(self) -> None: ...


def catalog_commands(screen: CatalogActions) -> list[PaletteCommand]:
    """Sort by each column, the filter presets, clear, rescan, conversion and copy."""
    commands: list[PaletteCommand] = [
        (f"Sort by {c.key}", f"the {c.label} column", _bind(screen.sort_by, c.key)) for c in COLUMNS
    ]
    commands.append(("Sort by path", "the path order", _bind(screen.sort_by, "path")))
    commands += [
        (f"Column: show/hide {c.key}", f"the {c.label} column", _bind(screen.toggle_column, c.key))
        for c in COLUMNS
    ]
    fit_help = "every column that fits, least useful dropped first"
    commands.append(("Columns: fit the width", fit_help, screen.fit_columns))
    commands += [
        (f"Filter: {name}", f"filter with '{expr}'", _bind(screen.apply_filter, expr))
        for name, expr in PRESETS
    ]
    commands += [
        ("Clear filter", "show every checkpoint", _bind(screen.apply_filter, "")),
        ("Rescan", "scan the folder again", screen.action_rescan),
        ("Open conversion", "write sidecars for checkpoints", screen.action_convert),
        ("Copy path", "copy the highlighted checkpoint's path", screen.action_copy_path),
    ]
    return commands


def _bind(function: Callable[[str], object], value: str) -> Callable[[], object]:
    return lambda: function(value)


@runtime_checkable
class HasPaletteCommands(Protocol):
    """A screen that offers commands to the palette."""

    def palette_commands(self) -> list[PaletteCommand]:
        """``(name, help, callback)`` for each command."""
        ...


class CatalogCommands(Provider):
    """Offers the active screen's catalog commands."""

    def _commands(self) -> list[PaletteCommand]:
        screen = self.screen
        return screen.palette_commands() if isinstance(screen, HasPaletteCommands) else []

    async def discover(self) -> Hits:
        """All commands, shown when the palette opens."""
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """Commands matching ``query``, best first."""
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
