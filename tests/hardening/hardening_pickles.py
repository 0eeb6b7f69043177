"""Hostile pickles for the routes ``tests/reader`` does not cover yet.

Each builder takes the marker path and returns a complete protocol-2 pickle of a
checkpoint-looking dict ``{"epoch": 3, "hyper_parameters": <payload>}``. ``LIVE`` payloads create
the marker when loaded by the real ``pickle`` module (a test proves it, in a subprocess, with a
separate marker); the others are look-alikes that real loading refuses, or that the restricted
machine must refuse to treat as what they pretend to be.

Many routes go through modules that look harmless (``pkgutil``, ``logging.config``, ``typing``,
``uuid``, ``_frozen_importlib``, ``pathlib``, torch itself): only an allowlist catches them all.
:func:`legacy_every_pickle` puts a payload in each pickle of a legacy file and breaks its tail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reader_pickles import LEGACY_MAGIC, Asm, python_code, shell, storage_pid

Builder = Callable[[Path], bytes]


def _framed(payload: Asm, proto: int = 2) -> bytes:
    # Protocol 4 for dotted names: Python resolves them attribute by attribute from protocol 4 on.
    body = Asm(proto).empty_dict().mark().str("epoch").int(3).str("hyper_parameters")
    return body.raw(bytes(payload.b)).setitems().stop()


def _global_call(module: str, name: str) -> Builder:
    """``module.name(shell command)`` through GLOBAL (a dotted name resolves step by step)."""
    proto = 4 if "." in name else 2
    return lambda m: _framed(Asm(0).glob(module, name).str(shell(m)).tuple1().reduce(), proto)


def _stack_global_call(module: str, name: str) -> Builder:
    """The same through STACK_GLOBAL with short strings (protocol 4's form)."""

    def build(m: Path) -> bytes:
        body = Asm(0).short_str(module).short_str(name).stack_global()
        return _framed(body.str(shell(m)).tuple1().reduce(), 4 if "." in name else 2)

    return build


def _nested_getattr(m: Path) -> bytes:
    # getattr(getattr(getattr(__import__('os'), 'path'), 'os'), 'system')(cmd)
    body = Asm(0).glob("builtins", "getattr").put(1).pop()
    body.get(1).get(1).get(1)
    body.glob("builtins", "__import__").str("os").tuple1().reduce()
    body.str("path").tuple2().reduce().str("os").tuple2().reduce().str("system").tuple2().reduce()
    return _framed(body.str(shell(m)).tuple1().reduce())


def _getattr_of_dotted(m: Path) -> bytes:
    # getattr(argparse._os, 'system')(cmd): the owner itself reached through a dotted name.
    body = Asm(0).glob("builtins", "getattr").glob("argparse", "_os").str("system").tuple2()
    return _framed(body.reduce().str(shell(m)).tuple1().reduce())


def _reduce_getattr_chain(m: Path) -> bytes:
    # functools.reduce(getattr, ['path', 'os', 'system'], __import__('os'))(cmd)
    body = Asm(0).glob("functools", "reduce").mark().glob("builtins", "getattr")
    body.mark().str("path").str("os").str("system").raw(b"l")
    body.glob("builtins", "__import__").str("os").tuple1().reduce().tuple().reduce()
    return _framed(body.str(shell(m)).tuple1().reduce())


def _memo_overwrite(m: Path) -> bytes:
    # A harmless name memoised, the slots overwritten with "os"/"system", STACK_GLOBAL from them.
    body = Asm(0).str("collections").put(10).pop().str("OrderedDict").put(11).pop()
    body.get(10).get(11).stack_global().pop()  # resolved once while harmless (resolver cache)
    body.str("os").put(10).pop().str("system").put(11).pop()
    body.get(10).get(11).stack_global().str(shell(m)).tuple1().reduce()
    return _framed(body)


def _memoize_long_get(m: Path) -> bytes:
    # MEMOIZE the callable, fetch it with BINGET, re-store it past the short range with
    # LONG_BINPUT and fetch it back with LONG_BINGET.
    body = Asm(0).short_str("posix").short_str("system").stack_global().memoize().pop()
    body.get(0).long_put(300).pop()
    body.raw(b"j" + (300).to_bytes(4, "little")).str(shell(m)).tuple1().reduce()
    return _framed(body)


def _text_put_get(m: Path) -> bytes:
    # Protocol-0 PUT/GET (decimal text lines) of the dangerous callable.
    body = Asm(0).glob("os", "system").raw(b"p99\n").pop().raw(b"g99\n")
    return _framed(body.str(shell(m)).tuple1().reduce())


def _build_slotstate(m: Path) -> bytes:
    # BUILD with (None, {'__setstate__': os.system}) sets the attribute through setattr; the
    # next BUILD then calls it with the command.
    body = Asm(0).glob("argparse", "Namespace").empty_tuple().newobj()
    body.none().empty_dict().str("__setstate__").glob("os", "system").setitem().tuple2().build()
    return _framed(body.str(shell(m)).build())


def _newobj_ex_kwargs(m: Path) -> bytes:
    # NEWOBJ_EX of a class the reader implements, with a hostile call in its keyword arguments.
    body = Asm(0).glob("collections", "OrderedDict").empty_tuple().empty_dict()
    body.str("x").glob("os", "system").str(shell(m)).tuple1().reduce().setitem()
    return _framed(body.newobj_ex())


def _rebuild_with_hostile_storage(m: Path) -> bytes:
    # The real _rebuild_tensor_v2, given os.system(cmd) where a storage belongs.
    body = Asm(0).glob("torch._utils", "_rebuild_tensor_v2").mark()
    body.glob("os", "system").str(shell(m)).tuple1().reduce()
    body.int(0).mark().int(2).tuple().mark().int(1).tuple().raw(b"\x89")
    body.glob("collections", "OrderedDict").empty_tuple().reduce().tuple().reduce()
    return _framed(body)


def _rebuild_v3_bad_dtype(m: Path) -> bytes:
    # _rebuild_tensor_v3 whose dtype argument is os.system.
    body = Asm(0).glob("torch._utils", "_rebuild_tensor_v3").mark()
    storage_pid(body, "UntypedStorage", "0", 8).int(0).mark().int(2).tuple().mark().int(1).tuple()
    body.raw(b"\x89").glob("collections", "OrderedDict").empty_tuple().reduce()
    body.glob("os", "system").str(shell(m)).tuple().reduce()
    return _framed(body)


def _from_type_hostile_func(m: Path) -> bytes:
    # torch._tensor._rebuild_from_type_v2(os.system, Tensor, (cmd,), {}).
    body = Asm(0).glob("torch._tensor", "_rebuild_from_type_v2").mark().glob("os", "system")
    body.glob("torch", "Tensor").str(shell(m)).tuple1().empty_dict().tuple().reduce()
    return _framed(body)


def _parameter_of_call(m: Path) -> bytes:
    # torch._utils._rebuild_parameter(os.system(cmd), True).
    body = Asm(0).glob("torch._utils", "_rebuild_parameter")
    body.glob("os", "system").str(shell(m)).tuple1().reduce().raw(b"\x88").tuple2().reduce()
    return _framed(body)


def _pkgutil_resolve_name(m: Path) -> bytes:
    # pkgutil.resolve_name('os:system')(cmd): an importer in a module no denylist names.
    body = Asm(0).glob("pkgutil", "resolve_name").str("os:system").tuple1().reduce()
    return _framed(body.str(shell(m)).tuple1().reduce())


def _logging_dict_config(m: Path) -> bytes:
    # logging.config.dictConfig with a handler whose '()' factory is subprocess.call.
    body = Asm(0).glob("logging.config", "dictConfig").empty_dict().mark()
    body.str("version").int(1).str("handlers").empty_dict().str("h").empty_dict().mark()
    body.str("()").str("subprocess.call").str("args").empty_list().mark()
    body.str("touch").str(str(m)).appends().setitems().setitem().setitems()
    return _framed(body.tuple1().reduce())


def _typing_eval_type(m: Path) -> bytes:
    # typing._eval_type(ForwardRef(code), None, None) evaluates the forward reference.
    body = Asm(0).glob("typing", "_eval_type").mark().glob("typing", "ForwardRef")
    body.str(python_code(m)).tuple1().reduce().none().none().tuple().reduce()
    return _framed(body)


def _uuid_helper(m: Path) -> bytes:
    # uuid._get_command_stdout('touch', path): a private helper that starts a process.
    body = Asm(0).glob("uuid", "_get_command_stdout").str("touch").str(str(m)).tuple2()
    return _framed(body.reduce())


def _gcd_import_attrgetter(m: Path) -> bytes:
    # _operator.attrgetter('system')(_frozen_importlib._gcd_import('os'))(cmd).
    body = Asm(0).glob("_operator", "attrgetter").str("system").tuple1().reduce()
    body.glob("_frozen_importlib", "_gcd_import").str("os").tuple1().reduce().tuple1().reduce()
    return _framed(body.str(shell(m)).tuple1().reduce())


def _path_touch(m: Path, stack: bool = False) -> bytes:
    # pathlib.Path.touch(Path(marker)) as a dotted protocol-4 name: pathlib.Path itself is a
    # plain value, its touch method is not.
    body = Asm(0)
    if stack:
        body.short_str("pathlib").short_str("Path.touch").stack_global()
    else:
        body.glob("pathlib", "Path.touch")
    body.glob("pathlib", "Path").str(str(m)).tuple1().reduce().tuple1().reduce()
    return _framed(body, 4)


def _inst_uuid_helper(m: Path) -> bytes:
    # INST: the callee named inline, called with the marked arguments.
    return _framed(Asm(0).mark().str("touch").str(str(m)).inst("uuid", "_get_command_stdout"))


def _obj_resolve_name(m: Path) -> bytes:
    # OBJ: pkgutil.resolve_name called with the marked arguments, then the result called.
    body = Asm(0).mark().glob("pkgutil", "resolve_name").str("os:system").obj()
    return _framed(body.str(shell(m)).tuple1().reduce())


def _torch_import_dotted(m: Path) -> bytes:
    # A helper inside torch itself: torch._utils._import_dotted_name('os.system')(cmd).
    body = Asm(0).glob("torch._utils", "_import_dotted_name").str("os.system").tuple1().reduce()
    return _framed(body.str(shell(m)).tuple1().reduce())


#: name → (builder, a global ``unsafe_globals`` must name; ``None`` for names the reader refuses
#: outright, which leave the file ``unreadable``). No case is ever ``safe``.
CASES: dict[str, tuple[Builder, str | None]] = {
    # Importers and callers in modules that look harmless.
    "pkgutil_resolve_name": (_pkgutil_resolve_name, "pkgutil.resolve_name"),
    "logging_dictconfig_factory": (_logging_dict_config, "logging.config.dictConfig"),
    "typing_eval_type_forwardref": (_typing_eval_type, "typing._eval_type"),
    "uuid_private_helper": (_uuid_helper, "uuid._get_command_stdout"),
    "gcd_import_attrgetter": (_gcd_import_attrgetter, "_frozen_importlib._gcd_import"),
    "torch_import_dotted_name": (_torch_import_dotted, "torch._utils._import_dotted_name"),
    "dotted_path_touch": (_path_touch, "pathlib.Path.touch"),
    "dotted_path_touch_stack_global": (
        lambda m: _path_touch(m, stack=True),
        "pathlib.Path.touch",
    ),
    "inst_uuid_helper": (_inst_uuid_helper, "uuid._get_command_stdout"),
    "obj_resolve_name": (_obj_resolve_name, "pkgutil.resolve_name"),
    # Dotted names: the unpickler walks attribute by attribute from a harmless module.
    "dotted_pathlib_os_system": (_global_call("pathlib", "os.system"), "pathlib.os.system"),
    "dotted_argparse_private_os": (_global_call("argparse", "_os.system"), "argparse._os.system"),
    "dotted_stack_global": (_stack_global_call("pathlib", "os.system"), "pathlib.os.system"),
    "dotted_dunder_globals": (
        _global_call("argparse", "Namespace.__init__.__globals__"),
        "argparse.Namespace.__init__.__globals__",
    ),
    "dotted_rebuild_globals": (
        _global_call("torch._utils", "_rebuild_tensor_v2.__globals__"),
        "torch._utils._rebuild_tensor_v2.__globals__",
    ),
    # Nested getattr chains.
    "getattr_nested_chain": (_nested_getattr, "builtins.getattr"),
    "getattr_of_dotted_owner": (_getattr_of_dotted, "argparse._os"),
    "functools_reduce_getattr": (_reduce_getattr_chain, "functools.reduce"),
    # Memo tricks.
    "memo_overwrite_stack_global": (_memo_overwrite, "os.system"),
    "memoize_long_binget": (_memoize_long_get, "os.system"),
    "text_put_get": (_text_put_get, "os.system"),
    # BUILD / NEWOBJ_EX variants.
    "build_slotstate_setstate": (_build_slotstate, "os.system"),
    "newobj_ex_hostile_kwargs": (_newobj_ex_kwargs, "os.system"),
    # Real rebuild functions fed hostile arguments.
    "rebuild_v2_hostile_storage": (_rebuild_with_hostile_storage, "os.system"),
    "rebuild_v3_hostile_dtype": (_rebuild_v3_bad_dtype, "os.system"),
    "rebuild_from_type_hostile_func": (_from_type_hostile_func, "os.system"),
    "rebuild_parameter_of_call": (_parameter_of_call, "os.system"),
    # Look-alikes of torch's rebuild functions: never treated as the real ones, never allowed.
    "lookalike_trailing_space": (
        _global_call("torch._utils ", "_rebuild_tensor_v2"),
        "torch._utils ._rebuild_tensor_v2",
    ),
    "lookalike_leading_space": (
        _stack_global_call(" torch._utils", "_rebuild_tensor_v2"),
        " torch._utils._rebuild_tensor_v2",
    ),
    "lookalike_nul_in_module": (_stack_global_call("torch._utils\x00", "_rebuild_tensor_v2"), None),
    "lookalike_nul_in_name": (_stack_global_call("torch._utils", "_rebuild_tensor_v2\x00"), None),
    "lookalike_torchx": (
        _global_call("torchx._utils", "_rebuild_tensor_v2"),
        "torchx._utils._rebuild_tensor_v2",
    ),
    "lookalike_cyrillic_o": (
        _stack_global_call("t\u043erch._utils", "_rebuild_tensor_v2"),
        "t\u043erch._utils._rebuild_tensor_v2",
    ),
    "lookalike_zero_width": (_stack_global_call("torch.\u200b_utils", "_rebuild_tensor_v2"), None),
    "lookalike_upper_case": (
        _global_call("TORCH._UTILS", "_REBUILD_TENSOR_V2"),
        "TORCH._UTILS._REBUILD_TENSOR_V2",
    ),
    "lookalike_v9": (
        _global_call("torch._utils", "_rebuild_tensor_v9"),
        "torch._utils._rebuild_tensor_v9",
    ),
    "lookalike_double_dot": (
        _global_call("torch.._utils", "_rebuild_tensor_v2"),
        "torch.._utils._rebuild_tensor_v2",
    ),
}

#: Payloads that real unpickling runs (the marker appears): the proof that they are not duds.
LIVE = (
    "pkgutil_resolve_name",
    "logging_dictconfig_factory",
    "typing_eval_type_forwardref",
    "uuid_private_helper",
    "gcd_import_attrgetter",
    "torch_import_dotted_name",
    "dotted_path_touch",
    "dotted_path_touch_stack_global",
    "inst_uuid_helper",
    "obj_resolve_name",
    "dotted_pathlib_os_system",
    "dotted_argparse_private_os",
    "dotted_stack_global",
    "getattr_nested_chain",
    "getattr_of_dotted_owner",
    "functools_reduce_getattr",
    "memo_overwrite_stack_global",
    "memoize_long_binget",
    "text_put_get",
    "build_slotstate_setstate",
    "newobj_ex_hostile_kwargs",
)

#: Payloads built around a zip-format storage reference (legacy files use another form).
ZIP_ONLY = ("rebuild_v3_hostile_dtype",)


# -- a legacy file with a payload in every pickle ----------------------------------------------

#: The global each pickle's payload names, in the order torch reads them.
LEGACY_PAYLOADS = {
    "magic": "pkgutil.resolve_name",
    "version": "uuid._get_command_stdout",
    "sys_info": "typing._eval_type",
    "main": "_frozen_importlib._gcd_import",
    "keys": "logging.config.dictConfig",
}
#: How the file is broken → (the error's code, the pickles torch runs before it stops).
LEGACY_TAILS = {
    "truncated_storages": ("checkpoint.truncated", tuple(LEGACY_PAYLOADS)),
    "unknown_version": ("checkpoint.unsupported", ("magic", "version")),
    "malformed_keys": ("checkpoint.corrupt", tuple(LEGACY_PAYLOADS)),
}


def _payload(kind: str, m: Path) -> Asm:
    """Push the result of the ``kind`` payload (each creates its own marker ``m``)."""
    if kind == "magic":
        body = Asm(0).glob("pkgutil", "resolve_name").str("os:system").tuple1().reduce()
        return body.str(shell(m)).tuple1().reduce()
    if kind == "version":
        return Asm(0).glob("uuid", "_get_command_stdout").str("touch").str(str(m)).tuple2().reduce()
    if kind == "sys_info":
        body = Asm(0).glob("typing", "_eval_type").mark().glob("typing", "ForwardRef")
        return body.str(python_code(m)).tuple1().reduce().none().none().tuple().reduce()
    if kind == "main":
        body = Asm(0).glob("_operator", "attrgetter").str("system").tuple1().reduce()
        body.glob("_frozen_importlib", "_gcd_import").str("os").tuple1().reduce().tuple1()
        return body.reduce().str(shell(m)).tuple1().reduce()
    body = Asm(0).glob("logging.config", "dictConfig").empty_dict().mark()
    body.str("version").int(1).str("handlers").empty_dict().str("h").empty_dict().mark()
    body.str("()").str("subprocess.call").str("args").empty_list().mark()
    return body.str("touch").str(str(m)).appends().setitems().setitem().setitems().tuple1().reduce()


def legacy_every_pickle(path: Path, markers: Path, tail: str) -> Path:
    """A legacy checkpoint whose every pickle runs a payload (then discards it), broken by
    ``tail``; the payload of pickle ``k`` creates ``markers / k``."""

    def wrap(kind: str, value: bytes) -> bytes:
        # PROTO 2, the payload, POP (its result is dropped), then the real value.
        return b"\x80\x02" + bytes(_payload(kind, markers / kind).b) + b"0" + value + b"."

    magic = wrap("magic", b"\x8a\x0a" + LEGACY_MAGIC.to_bytes(10, "little"))
    version = wrap("version", b"M\xea\x03" if tail == "unknown_version" else b"M\xe9\x03")
    sys_info = wrap("sys_info", b"}X\x0d\x00\x00\x00little_endian\x88s")
    # {'epoch': 3, 'w': <legacy storage persistent id of 4 floats, key '0'>}
    main = Asm(0).empty_dict().mark().str("epoch").int(3).str("w").mark().str("storage")
    main.glob("torch", "FloatStorage").str("0").str("cpu").int(4).none().tuple().raw(b"Q")
    main_value = bytes(main.setitems().b)
    keys = b"]X\x01\x00\x00\x000a" if tail != "malformed_keys" else b"]K\x01a"
    data = magic + version + sys_info + wrap("main", main_value) + wrap("keys", keys)
    # No storage bytes follow: torch has run every pickle when it finds that out.
    path.write_bytes(data if tail != "malformed_keys" else data + bytes(8 + 16))
    return path
