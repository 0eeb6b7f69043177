"""Small helpers shared by the demo tests."""

from __future__ import annotations

from pathlib import Path

from ckpt_tui.demo import DemoSummary


def rel(summary: DemoSummary, path: Path) -> str:
    """``path`` relative to the demo root, "/"-separated."""
    return path.relative_to(summary.root).as_posix()
