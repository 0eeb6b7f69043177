"""The closed sets of words an entry's fields take: source tier, safety verdict, format."""

from __future__ import annotations

from typing import Literal

Source = Literal["sidecar", "config", "checkpoint", "path"]
Safety = Literal["safe", "unsafe", "code", "unchecked", "unreadable"]
SAFETY_VALUES: tuple[str, ...] = ("safe", "unsafe", "code", "unchecked", "unreadable")
"""What loading the file with ``torch.load`` would do (docs/reference.md, "Safety verdict")."""

FORMAT_VALUES: tuple[str, ...] = (
    "lightning",
    "torch",
    "torch-legacy",
    "safetensors",
    "hf-trainer",
    "hf-model",
    "dcp",
    "deepspeed",
    "torchscript",
    "exported-program",
    "unknown",
)
"""What wrote the checkpoint (docs/reference.md, "The JSON entry"): ``unknown`` until a file
is read or its name leaves no doubt."""

FOLDER_FORMATS = frozenset(("hf-trainer", "hf-model", "dcp", "deepspeed"))
"""The formats of checkpoints that are folders."""
