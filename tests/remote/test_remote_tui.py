"""The TUI on a remote root: the same loading path, the checkpoints read from the store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from remote_helpers import DEMO_BUCKET

from ckpt_tui.io.remote_tree import mounted, sync_index


async def test_tui_loads_a_remote_root(s3_env: str, demo_tree: Path, tmp_path: Path) -> None:
    from ckpt_tui.tui.app import make_app
    from ckpt_tui.tui.screens.main import MainScreen
    from ckpt_tui.tui.widgets.catalog_table import CatalogTable

    local_count = sum(1 for _ in demo_tree.rglob("*.ckpt"))
    tree = sync_index(f"s3://{DEMO_BUCKET}/runs", {}, str(tmp_path / "index"))
    with mounted(tree):
        app = make_app(tree.local_root, use_cache=False, cursor_blink=False, poll_interval=None)
        async with app.run_test(size=(140, 40)) as pilot:
            screen = app.screen_stack[0]
            assert isinstance(screen, MainScreen)
            deadline = asyncio.get_running_loop().time() + 60
            while screen.scans_completed < 1:
                assert asyncio.get_running_loop().time() < deadline, "the scan never finished"
                await pilot.pause(0.05)
            rows = screen.query_one(CatalogTable).rows
            assert len(rows) == local_count
            inspected = [row for row in rows if row.source != "sidecar"]
            assert inspected and all(row.epoch is not None for row in inspected)
            # The title names the bucket, not the local index.
            assert f"s3://{DEMO_BUCKET}/runs" in app.screen_stack[0].sub_title
