"""``python -m ckpt_tui`` is the same program as ``ckpt-tui``."""

import sys

from ckpt_tui.cli import main

sys.exit(main())
