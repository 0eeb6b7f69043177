"""Reading what a headless Textual app shows, for tests.

One helper for every UI test folder, because the obvious way to read the screen has a trap.
A modal screen (help, say) paints the screens beneath it through Textual's context variable
``visible_screen_stack``, which only the app's own paint and ``export_screenshot`` set. Read
without it, a modal screen renders a blank background, and Textual caches that render: the next
real paint, and a snapshot taken after it, then show the modal over nothing. On a fast machine
the app has painted before the test reads, so this only bit on slow CI machines (the help
snapshot failed 2 runs in 8 with the test pinned to a busy core). Setting the stack as
``App.export_screenshot`` does makes a read the same render the terminal gets.
"""

from __future__ import annotations

from typing import Any

from textual._context import visible_screen_stack


def screen_lines(app: Any) -> list[str]:
    """What the terminal shows right now, one string per line."""
    visible_screen_stack.set(app._background_screens)
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: Any) -> str:
    """What the terminal shows right now, as plain text (one line per row)."""
    return "\n".join(screen_lines(app))
