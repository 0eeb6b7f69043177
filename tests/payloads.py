"""The hostile object the tests plant in checkpoints: it pickles as a call to ``os.system`` that
creates a marker file, so a test proves nothing ran by the marker's absence."""

from __future__ import annotations

import os
from pathlib import Path


class MarkerPayload:
    """Pickles as ``os.system("touch <marker>")``: loaded by an unrestricted unpickler, it would
    create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))
