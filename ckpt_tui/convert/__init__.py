"""Conversion: plan the sidecars of checkpoints that have none, and write them.

One engine serves the CLI and the TUI: :mod:`~ckpt_tui.convert.plan` (what each sidecar would
hold), :mod:`~ckpt_tui.convert.write` (atomic writes, a group at a time on threads),
:mod:`~ckpt_tui.convert.engine` (plan then write, with a report of every item) and
:mod:`~ckpt_tui.convert.tree` (the same run over a walked tree, with the catalog cache).
"""
