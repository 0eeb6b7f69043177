"""A snapshot of the conversion screen on the demo tree at 120×36, paired with assertions on
what it shows (a snapshot alone cannot tell a good screen from a crashed one).

Deterministic: fixed demo tree and mtimes, fixed clock, UTC, no cursor blink, no polling, the
root shown as ``outputs``. Regenerate with ``--snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui_conversion_helpers import (
    build,
    conversion_status,
    loaded,
    open_conversion,
    screen_text,
)

from ckpt_tui.tui.screens.conversion import CandidateList


def test_conversion_screen(snap_compare: Any, in_demo_parent: Path) -> None:
    app = build(in_demo_parent)
    seen: list[str] = []

    async def run_before(pilot: Any) -> None:
        await loaded(pilot)
        screen = await open_conversion(pilot)
        # The first candidate is a Hydra run's: every section of its sidecar is known.
        await pilot.pause()
        widget = screen.query_one(CandidateList)
        assert widget.option_count == 28
        assert len(widget.selected) == 26
        assert conversion_status(screen).startswith(
            "26 of 26 selected · will write 26 · 2 can't convert (file is empty (0 bytes) ×1, zip"
        )
        text = screen_text(pilot.app)
        assert "convert · 28 candidates under outputs" in text
        assert "epoch=54-step=15015.metadata.yaml  would be written" in text
        assert "  architecture: dbnetpp" in text
        assert "unknown fields: metrics.precision, metrics.recall" in text
        seen.append(text)

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)
    assert seen, "the app never reached the conversion screen"
    assert not app.return_code  # None or 0: the app did not fail
