"""Runs the differential oracle (``reader_oracle.py``) in a subprocess and parses its answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ORACLE = HERE / "reader_oracle.py"


def oracle(paths: list[Path]) -> dict[str, Any]:
    """``torch.load(weights_only=False)`` of TRUSTED fixtures in a subprocess, as canonical JSON."""
    done = subprocess.run(
        [sys.executable, str(ORACLE), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)
