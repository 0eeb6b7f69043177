"""The demo tree: a realistic OCR ``outputs/`` folder of real torch checkpoints.

``write_demo_tree(dest, seed=0)`` makes ``dest`` the ``outputs/`` folder: it writes about sixty
Lightning-format checkpoints across fourteen runs (Hydra folders, a ``lightning_logs`` run,
nested and ``val/``-metric folders, restarts with ``-vN`` names, a ``last.ckpt`` link, a
legacy-format file, a truncated and a zero-byte file) and sidecars for about half of them. Used
by ``ckpt-tui demo``, the tests and the screenshots.
Importing this package does not import torch.
"""

from ckpt_tui.demo.writer import DemoSummary, write_demo_tree

__all__ = ["DemoSummary", "write_demo_tree"]
