"""The security issues of a verdict: names outside the allowlist, and code archives.

The reader never imports or calls anything a file names; these issues tell the user what an
unsafe ``torch.load`` (weights_only off), a plain ``pickle.load`` or ``torch.jit.load`` of the
file would run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ckpt_tui.model.issue import Issue
from ckpt_tui.reader.unpickle.objects import Call, GlobalRef

UNSAFE_CODE = "security.unsafe-global"
CODE_CODE = "security.code"

# How Python 2 spells some modules once pickled (``_compat_pickle`` does not map these two).
_CANONICAL_MODULE = {"posix": "os", "nt": "os"}
_IMPORTERS = frozenset({"builtins.__import__", "importlib.import_module"})
_GETATTR = "builtins.getattr"
_MAX_CHAIN = 16
_SHOWN = 8


def derived_targets(calls: Iterable[Call]) -> list[str]:
    """Names reached indirectly: ``getattr(__import__('os'), 'system')`` → ``os.system``.

    Only for the message: the verdict already rests on ``builtins.getattr`` being off the list.
    """
    found: list[str] = []
    for call in calls:
        if call.name == _GETATTR:
            target = _reached(call, 0)
            if target is not None and target not in found:
                found.append(target)
    return found


def _reached(value: Any, depth: int) -> str | None:
    """The dotted name ``value`` stands for: a global, an imported module or a getattr of one."""
    if depth > _MAX_CHAIN:
        return None
    if isinstance(value, GlobalRef):
        return f"{_CANONICAL_MODULE.get(value.module, value.module)}.{value.name}"
    if not isinstance(value, Call) or value.name is None or not value.args:
        return None
    if value.name in _IMPORTERS and isinstance(value.args[0], str):
        return _CANONICAL_MODULE.get(value.args[0], value.args[0])
    if value.name == _GETATTR and len(value.args) >= 2 and isinstance(value.args[1], str):
        owner = _reached(value.args[0], depth + 1)
        return None if owner is None else f"{owner}.{value.args[1]}"
    return None


def _shown(names: list[str]) -> str:
    more = len(names) - _SHOWN
    return ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


def unsafe_issue(names: list[str], reached: list[str]) -> Issue | None:
    """The SECURITY error for globals outside the allowlist (``None`` when there are none)."""
    if not names:
        return None
    message = (
        "names globals outside the allowlist; torch.load(weights_only=False) would import "
        f"and may call {_shown(names)}"
    )
    if reached:
        message += f" (getattr chains reach {_shown(reached)}, so it would call them)"
    return Issue(severity="error", code=UNSAFE_CODE, message=message)


def code_issue(kind: str) -> Issue:
    """The warning for an archive that holds code by design (TorchScript, torch.export)."""
    how = (
        "torch.jit.load (which torch.load hands it to)"
        if kind == "TorchScript"
        else "torch.export.load"
    )
    return Issue(
        severity="warning",
        code=CODE_CODE,
        message=f"a {kind} archive: loading it with {how} runs the code the archive holds",
    )
