"""Pruning: plan which checkpoints go and which stay (and why), then delete exactly the plan.

- :mod:`~ckpt_tui.prune.rules` — the rules, on entries alone.
- :mod:`~ckpt_tui.prune.facts` — what the rules need from the filesystem (links, identities).
- :mod:`~ckpt_tui.prune.build` — :func:`plan_prune`: the plan of a root.
- :mod:`~ckpt_tui.prune.plan` — the plan as data, saved and loaded as JSON.
- :mod:`~ckpt_tui.prune.execute` — :func:`execute_plan`: the deletion, file by file, checked.
"""
