"""The danger report: globals a file would call if it were loaded unsafely.

The reader itself never imports or calls anything named in a file, whatever this list says: the
list only decides which names are worth a security warning, so a user knows that an unsafe
``torch.load`` (weights_only off) or a plain ``pickle.load`` of this file would run them. The
warning's own text names the exact call, as the issue asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ckpt_tui.model.entry import Issue
from ckpt_tui.reader.unpickle.objects import Call, GlobalRef

SECURITY_CODE = "security.unsafe-global"

# Modules whose every callable can run commands, load code or touch files and sockets.
_DANGEROUS_MODULES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "shutil",
        "socket",
        "importlib",
        "runpy",
        "pty",
        "code",
        "codeop",
        "ctypes",
        "multiprocessing",
        "webbrowser",
        "pickle",
        "_pickle",
        "marshal",
        "shelve",
        "commands",
        "platform",
        "asyncio",
        "pdb",
        "bdb",
        "timeit",
        "signal",
        "_thread",
        "threading",
        "http",
        "urllib",
        "urllib2",
        "requests",
        "ftplib",
        "smtplib",
        "telnetlib",
        "pip",
        "setuptools",
        "distutils",
        "zipimport",
        "tempfile",
        "io",
        "_io",
        "dill",
        "cloudpickle",
        "joblib",
        "torch.hub",
        "torch.jit",
        "torch.serialization",
        "torch._dynamo",
        "torch.package",
        "torch.utils.cpp_extension",
        "numpy.testing",
        "numpy.distutils",
        "numpy.f2py",
        "pydoc",
        "cProfile",
        "profile",
        "trace",
        "ensurepip",
        "venv",
        "xmlrpc",
    }
)

# Single callables that are dangerous although their module is not.
_DANGEROUS_NAMES = frozenset(
    {
        "builtins.eval",
        "builtins.exec",
        "builtins.execfile",
        "builtins.compile",
        "builtins.__import__",
        "builtins.open",
        "builtins.file",
        "builtins.getattr",
        "builtins.setattr",
        "builtins.delattr",
        "builtins.globals",
        "builtins.locals",
        "builtins.vars",
        "builtins.input",
        "builtins.raw_input",
        "builtins.breakpoint",
        "builtins.help",
        "builtins.exit",
        "builtins.quit",
        "builtins.apply",
        "builtins.reload",
        "builtins.memoryview",
        "types.FunctionType",
        "types.LambdaType",
        "types.CodeType",
        "types.MethodType",
        "types.ModuleType",
        "operator.attrgetter",
        "operator.methodcaller",
        "operator.itemgetter",
        "functools.partial",
        "functools.reduce",
        "torch.load",
        "torch.storage._load_from_bytes",
        "torch._C._load_for_lite_interpreter",
        "numpy.load",
        "numpy.loadtxt",
        "numpy.fromfile",
        "pathlib.Path.write_text",
        "pathlib.Path.write_bytes",
        "pathlib.Path.unlink",
        "_codecs.open",
        "codecs.open",
    }
)

# How Python 2 / Windows spell some of these when they are pickled.
_CANONICAL_MODULE = {"posix": "os", "nt": "os", "__builtin__": "builtins", "exceptions": "builtins"}
_IMPORTERS = frozenset({"builtins.__import__", "importlib.import_module"})
# Dangerous top-level modules, as other modules hold them (``import os``, ``import os as _os``).
_REACHABLE_MODULES = frozenset(name for name in _DANGEROUS_MODULES if "." not in name)
_GETATTR = frozenset({"builtins.getattr", "__builtin__.getattr"})
_MAX_CHAIN = 16


def canonical_name(module: str, name: str) -> str:
    """``posix.system`` → ``os.system``, ``__builtin__.eval`` → ``builtins.eval``."""
    return f"{_CANONICAL_MODULE.get(module, module)}.{name}"


def is_dangerous(module: str, name: str) -> bool:
    """Whether calling ``module.name`` could run code, start processes or touch files.

    Unpicklers resolve a dotted ``name`` attribute by attribute, so ``pathlib`` + ``os.system``
    is ``os.system`` and ``argparse`` + ``_os.system`` too: every step of the path counts.
    """
    top = _CANONICAL_MODULE.get(module, module)
    if canonical_name(module, name) in _DANGEROUS_NAMES:
        return True
    parts = top.split(".")
    if any(".".join(parts[:i]) in _DANGEROUS_MODULES for i in range(1, len(parts) + 1)):
        return True
    if "." not in name:
        return False
    steps = name.split(".")
    path = [*parts, *steps]
    for i in range(len(parts) + 1, len(path) + 1):
        # A prefix of the full path (torch + serialization.load is torch.serialization.load).
        prefix = ".".join(path[:i])
        if (
            prefix in _DANGEROUS_MODULES
            or canonical_name(*prefix.rsplit(".", 1)) in _DANGEROUS_NAMES
        ):
            return True
    for step in steps[:-1]:
        # Passing through a module attribute (``_os``, ``sys``) or a dunder (``__globals__``).
        if step.lstrip("_") in _REACHABLE_MODULES or step in ("builtins", "__builtins__"):
            return True
    return any(step.startswith("__") and step.endswith("__") for step in steps)


def derived_targets(calls: Iterable[Call]) -> list[str]:
    """Names reached indirectly: ``getattr(__import__('os'), 'system')`` → ``os.system``.

    Nested chains resolve too: ``getattr(getattr(__import__('os'), 'path'), 'os')`` →
    ``os.path.os``.
    """
    found: list[str] = []
    for call in calls:
        target = _reached(call, 0)
        if target is not None and call.name in _GETATTR:
            found.append(target)
    return found


def _reached(value: Any, depth: int) -> str | None:
    """The dotted name ``value`` stands for: a global, an imported module or a getattr of one."""
    if depth > _MAX_CHAIN:
        return None
    if isinstance(value, GlobalRef):
        return canonical_name(value.module, value.name)
    if not isinstance(value, Call) or value.name is None or not value.args:
        return None
    callee = canonical_name(*value.name.rsplit(".", 1))
    if callee in _IMPORTERS and isinstance(value.args[0], str):
        return _CANONICAL_MODULE.get(value.args[0], value.args[0])
    if callee == "builtins.getattr" and len(value.args) >= 2 and isinstance(value.args[1], str):
        owner = _reached(value.args[0], depth + 1)
        return None if owner is None else f"{owner}.{value.args[1]}"
    return None


def danger_issue(names: list[str]) -> Issue | None:
    """The security warning for ``names`` (``None`` when there are none)."""
    if not names:
        return None
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return Issue(
        severity="warning",
        code=SECURITY_CODE,
        message=f"loading this with torch.load(weights_only=False) would call {shown}",
    )
