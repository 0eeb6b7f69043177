"""The footer: Textual's ``Footer``, showing as many key hints as fit the width, most useful first.

Textual's footer cuts its last hints when the terminal is narrow, so at 80 columns "? Help" and
"q Quit" (the app's bindings, listed last) were the ones lost. This one leaves out the hints of
least use instead (:data:`HINT_ORDER`: an action not listed there ranks after those listed),
recomputed when the width or the bindings change. The keys all still work; ``?`` lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Actions by the use of their hint, most useful first.
HINT_ORDER: tuple[str, ...] = (
    "app.help",
    "app.quit",
    "screen.focus_filter",
    "screen.focus_table",
    "screen.sort_next",
    "screen.convert",
)
#: Hints that stay whatever the width: the way to the help and the way out.
ALWAYS = frozenset({"app.help", "app.quit"})


def _qualified(action: str) -> str:
    # A binding's action names no namespace when it is its own node's ("help" on the app).
    if "." in action:
        return action
    return f"app.{action}" if action in ("help", "quit") else f"screen.{action}"


def hint_rank(action: str) -> int:
    """Where ``action``'s hint ranks (lower is kept longer)."""
    name = _qualified(action)
    return HINT_ORDER.index(name) if name in HINT_ORDER else len(HINT_ORDER)


def _hint_width(key: FooterKey) -> int:
    # A compact hint is "key description" and a space after it.
    return cell_len(key.key_display) + 1 + cell_len(key.description) + 1


def fitting(keys: list[FooterKey], width: int) -> set[int]:
    """The indexes of the hints shown in ``width`` cells: by rank, then in their order."""
    order = sorted(range(len(keys)), key=lambda i: (hint_rank(keys[i].action), i))
    kept: set[int] = set()
    used = 0
    for index in order:
        size = _hint_width(keys[index])
        if used + size <= width or _qualified(keys[index].action) in ALWAYS:
            kept.add(index)
            used += size
    return kept


class KeyFooter(Footer):
    """A footer that drops the hints of least use to keep the others whole."""

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        keys = [
            w for w in widgets if isinstance(w, FooterKey) and "-command-palette" not in w.classes
        ]
        palette = [w for w in widgets if isinstance(w, FooterKey) and w not in keys]
        room = self.app.size.width - sum(_hint_width(w) + 2 for w in palette)
        kept = fitting(keys, room)
        yield from _without(widgets, {id(k) for i, k in enumerate(keys) if i not in kept})

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.recompose)


def _without(widgets: Iterable[Widget], dropped: set[int]) -> Iterable[Widget]:
    return (widget for widget in widgets if id(widget) not in dropped)
