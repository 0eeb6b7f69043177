"""Helpers shared by the conversion tests."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from ckpt_tui.convert.engine import ConversionReport, run_conversion
from ckpt_tui.convert.plan import ConversionItem, ConversionPlan


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def write_planned(
    plan: ConversionPlan, *, force: bool = False, **options: Any
) -> ConversionReport[ConversionItem]:
    """Run the conversion engine on items planned beforehand (as the TUI's screen does)."""
    return run_conversion(plan.items, lambda item: item, force=force, **options)


def sidecar_bytes(root: Path) -> dict[str, bytes]:
    """Every sidecar under ``root`` by relative path, its ``written_at`` line masked (the one
    line that differs between two runs writing the same sidecars)."""
    return {
        path.relative_to(root).as_posix(): re.sub(
            rb"(?m)^(  written_at: ).*$", rb"\1-", path.read_bytes()
        )
        for path in sorted(root.rglob("*.metadata.yaml"))
    }
