"""The import contracts: the TUI never imports torch or Lightning at start-up, and the core's
filtering and sorting never import Textual (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "module", ["ckpt_tui.catalog.filter", "ckpt_tui.catalog.sort", "ckpt_tui.model.entry"]
)
def test_core_modules_import_neither_textual_nor_torch(module: str) -> None:
    modules = loaded_after(f"import {module}")
    assert "textual" not in modules
    assert "torch" not in modules


def test_tui_app_import_does_not_import_torch_or_lightning() -> None:
    modules = loaded_after("import ckpt_tui.tui.app")
    assert "textual" in modules  # it did load the TUI
    assert "torch" not in modules
    assert "lightning" not in modules and "pytorch_lightning" not in modules


def test_making_the_app_does_not_import_torch() -> None:
    modules = loaded_after(
        "from ckpt_tui.tui.app import make_app\napp = make_app('.')\napp.get_default_screen()"
    )
    assert "torch" not in modules
