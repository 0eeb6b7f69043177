"""Helpers of the format tests: the catalog as JSON entries, by path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ckpt_tui.catalog.api import build_catalog


def entries_by_path(root: Path, **options: Any) -> dict[str, Any]:
    """``checkpoint_path`` → the entry's JSON object, for a fresh build of ``root``."""
    catalog = build_catalog(root, **options)
    return {entry.checkpoint_path: entry for entry in catalog.entries}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ckpt_tui ARGS`` with output captured."""
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def json_list(root: Path, *args: str) -> list[dict[str, Any]]:
    """``ckpt-tui list ROOT --json ARGS`` parsed."""
    result = run_cli("list", str(root), "--json", "--no-cache", *args)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data
