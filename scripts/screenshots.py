"""Regenerate the README screenshots (``make screenshots``): main, filtered, detail, help, convert.

Writes the demo tree to a temporary folder, drives the app through ``make_app`` with
``run_test(size=(120, 36))``, a fixed clock and no cursor blink, and saves one SVG per screen to
``screenshots/``. The same seed, clock and size give the same files on every run.

    python scripts/screenshots.py [--out screenshots] [--size 120x36]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ckpt_tui.tui.app import CheckpointBrowserApp, make_app

CLOCK = datetime(2025, 11, 1, 12, 0, tzinfo=timezone.utc)
Steps = Callable[[Any], Awaitable[None]]


async def _loaded(pilot: Any) -> None:
    app: CheckpointBrowserApp = pilot.app
    screen: Any = app.screen_stack[0]
    for _ in range(600):
        if screen.scans_completed >= 1:
            break
        await pilot.pause(0.05)
    else:
        raise RuntimeError("the catalog did not load within 30 s")


#: The filter of the "filtered" screenshot (the README's caption names it).
FILTER = "arch:dbnet hmean>0.85"


async def _main(pilot: Any) -> None:
    """The app as it opens: path order, the first row highlighted."""


async def _filtered(pilot: Any) -> None:
    await pilot.press("slash", *FILTER, "enter")
    pilot.app.screen_stack[0].sort_by("hmean")  # best first


async def _detail(pilot: Any) -> None:
    # The first row with issues has errors: the pane shows them right under the verdict.
    await pilot.press("slash", *"has:issues", "enter", "enter")


async def _help(pilot: Any) -> None:
    await pilot.press("question_mark")


async def _conversion(pilot: Any) -> None:
    await pilot.press("c")
    for _ in range(400):
        if getattr(pilot.app.screen, "phase", None) == "ready":  # the plan is shown
            break
        await pilot.pause(0.05)
    else:
        raise RuntimeError("the conversion plan did not show within 20 s")
    # The first candidate is a Hydra run's: every section of its sidecar is known.


SHOTS: dict[str, Steps] = {
    "main": _main,
    "filtered": _filtered,
    "detail": _detail,
    "help": _help,
    "conversion": _conversion,
}


async def _shoot(root: Path, steps: Steps, size: tuple[int, int]) -> str:
    app = make_app(root, clock=lambda: CLOCK, poll_interval=None, cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        await _loaded(pilot)
        await steps(pilot)
        await pilot.pause(0.2)
        return app.export_screenshot(title="ckpt-tui")


def main(argv: list[str] | None = None) -> int:
    """Write ``screenshots/{main,filtered,detail,help,conversion}.svg``; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--size", default="120x36", help="WIDTHxHEIGHT (default 120x36)")
    args = parser.parse_args(argv)
    width, height = (int(part) for part in args.size.lower().split("x"))
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    from ckpt_tui.demo import write_demo_tree

    with tempfile.TemporaryDirectory(prefix="ckpt-tui-shots-") as tmp:
        base = Path(tmp)
        write_demo_tree(base / "outputs")
        os.environ["CKPT_TUI_CACHE_DIR"] = str(base / "cache")
        os.environ["TZ"] = "UTC"  # the conversion preview's created_at is in local time
        time.tzset()
        os.chdir(base)  # the header then shows the root as "outputs"
        for name, steps in SHOTS.items():
            svg = asyncio.run(_shoot(Path("outputs"), steps, (width, height)))
            (out / f"{name}.svg").write_text(svg, encoding="utf-8")
            print(f"wrote {out / f'{name}.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
