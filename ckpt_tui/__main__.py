"""``python -m ckpt_tui`` is the same program as ``ckpt-tui``."""

import sys

from ckpt_tui.cli import run

sys.exit(run())
