"""The danger report: globals a file would call if it were loaded unsafely.

The reader itself never imports or calls anything named in a file, whatever this list says: the
list only decides which names are worth a security warning, so a user knows that
``torch.load(weights_only=False)`` (or plain ``pickle.load``) on this file would run them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ckpt_tui.core.entry import Issue
from ckpt_tui.core.reader.objects import Call, GlobalRef

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


def canonical_name(module: str, name: str) -> str:
    """``posix.system`` → ``os.system``, ``__builtin__.eval`` → ``builtins.eval``."""
    return f"{_CANONICAL_MODULE.get(module, module)}.{name}"


def is_dangerous(module: str, name: str) -> bool:
    """Whether calling ``module.name`` could run code, start processes or touch files."""
    top = _CANONICAL_MODULE.get(module, module)
    if canonical_name(module, name) in _DANGEROUS_NAMES:
        return True
    parts = top.split(".")
    return any(".".join(parts[:i]) in _DANGEROUS_MODULES for i in range(1, len(parts) + 1))


def derived_targets(calls: Iterable[Call]) -> list[str]:
    """Names reached indirectly: ``getattr(__import__('os'), 'system')`` → ``os.system``."""
    found: list[str] = []
    for call in calls:
        if call.name not in {"builtins.getattr", "__builtin__.getattr"} or len(call.args) < 2:
            continue
        owner, attr = call.args[0], call.args[1]
        if not isinstance(attr, str):
            continue
        if isinstance(owner, GlobalRef):
            found.append(f"{canonical_name(owner.module, owner.name)}.{attr}")
        elif (
            isinstance(owner, Call)
            and owner.name is not None
            and canonical_name(*owner.name.rsplit(".", 1)) in _IMPORTERS
            and owner.args
            and isinstance(owner.args[0], str)
        ):
            found.append(f"{_CANONICAL_MODULE.get(owner.args[0], owner.args[0])}.{attr}")
    return found


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
