"""Trees of hostile inputs shared by the hardening tests."""

from __future__ import annotations

import os
from pathlib import Path

from hardening_helpers import HOSTILE_NAMES, INVALID_UTF8

from ckpt_tui.model.schema import MetricsInfo

SIDECAR_KINDS = ("osc52_clipboard", "ansi_colour", "newline", "c1_csi", "bidi_override")
"""Kinds whose checkpoint also gets a sidecar whose exp_name holds the same hostile text."""
BROKEN_SIDECAR_KINDS = ("clear_screen", "bell")
"""Kinds whose sidecar is invalid, so ``validate`` prints a line naming them."""


def hostile_tree(base: Path, ckpt_bytes: bytes) -> tuple[Path, list[bytes]]:
    """``base/outputs`` with one run per hostile kind; returns it and the checkpoints (bytes)."""
    from catalog_helpers import metadata

    from ckpt_tui.sidecar.files import save_metadata

    root = base / "outputs"
    paths: list[bytes] = []
    for kind, text in HOSTILE_NAMES.items():
        ckpt = root / f"{kind}-{text}" / "checkpoints" / f"{text}-epoch=1.ckpt"
        ckpt.parent.mkdir(parents=True)
        ckpt.write_bytes(ckpt_bytes)
        paths.append(os.fsencode(ckpt))
        if kind in SIDECAR_KINDS:
            save_metadata(metadata(exp_name=f"exp {text}", metrics=MetricsInfo(hmean=0.5)), ckpt)
        if kind in BROKEN_SIDECAR_KINDS:
            (ckpt.parent / f"{text}-epoch=1.metadata.yaml").write_text(f"exp_name: [{text}\n")
    raw = os.fsencode(root) + b"/utf8-" + INVALID_UTF8 + b"/checkpoints/" + INVALID_UTF8 + b".ckpt"
    os.makedirs(os.path.dirname(raw))
    with open(raw, "wb") as handle:
        handle.write(ckpt_bytes)
    paths.append(raw)
    os.mkfifo(root / f"fifo-{HOSTILE_NAMES['osc52_clipboard']}.ckpt")  # a scan issue names it
    return root, paths
