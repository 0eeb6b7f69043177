"""Zip archives that hold code by design: TorchScript (``torch.jit.save``) and ``torch.export``.

``torch.load`` hands a zip holding ``constants.pkl`` to ``torch.jit.load``, which runs the
archive's ``code/``; a ``torch.export`` archive (``archive_format``, ``models/``) is a program
too. Their verdict is ``code`` whatever the file's extension, and the globals their pickles
name (the archive's own classes) do not change it. What they carry as plain data is shown:
their ``extra/`` files (text or JSON), and their tensors' names, shapes and dtypes: from the
module pickle ``data.pkl`` of a TorchScript archive (read by the restricted unpickler, which
builds inert records and runs nothing) or from a ``torch.export`` archive's JSON
(``model_weights_config.json``, ``model_constants_config.json`` and the serialized program).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ckpt_tui.io.text import shorten
from ckpt_tui.reader.source import CheckpointFile, FormatError, ParsedFile
from ckpt_tui.reader.unpickle.machine import TruncatedPickle, UnpicklingError, unpickle
from ckpt_tui.reader.unpickle.objects import Call, TensorRef
from ckpt_tui.reader.unpickle.resolve import PickleDataError, Resolver
from ckpt_tui.reader.zipdir import Directory, read_member

TORCHSCRIPT = "TorchScript"
EXPORT = "torch.export"
_EXPORT_MARKERS = ("archive_format", "serialized_exported_program.json")
_MAX_EXTRA_FILES = 16
_MAX_EXTRA_BYTES = 64 * 1024
_MAX_JSON_BYTES = 8 * 1024 * 1024
_MAX_PICKLE_BYTES = 16 * 1024 * 1024
_MAX_LISTED = 500
_MAX_NAME_CHARS = 16 * 1024 * 1024
"""Characters of tensor names collected from one pickle of an archive."""
_MAX_NAME_SHOWN = 300
"""A longer tensor name is shown shortened (real ones are under 300 characters)."""
_MAX_WALK = 100_000
# torch.export's serialized ScalarType codes → torch dtype names.
_EXPORT_DTYPES = {
    1: "uint8", 2: "int8", 3: "int16", 4: "int32", 5: "int64", 6: "float16", 7: "float32",
    8: "float64", 9: "complex32", 10: "complex64", 11: "complex128", 12: "bool", 13: "bfloat16",
    28: "uint16", 29: "float8_e4m3fn", 30: "float8_e5m2", 34: "uint32", 35: "uint64",
}  # fmt: skip
StorageLoader = Callable[[Resolver], Callable[[Any], Any]]


def archive_kind(members: Directory) -> str | None:
    """``TorchScript``, ``torch.export`` or ``None``, from the archive's top-level members.

    torch writes every member under one folder; a few lookups by name keep this O(1) for the
    thousands of members a checkpoint has.
    """
    prefixes = {""}
    for name in members.pickles[:4]:
        prefixes.add(name.rpartition("/")[0] + "/" if "/" in name else "")
    first = next(iter(members.entries), "")
    if "/" in first:
        prefixes.add(first.partition("/")[0] + "/")
    entries = members.entries
    for prefix in prefixes:
        if prefix + "constants.pkl" in entries:
            return TORCHSCRIPT
        if any(prefix + marker in entries for marker in _EXPORT_MARKERS):
            return EXPORT
    return None


def code_archive(
    f: CheckpointFile, members: Directory, storage_loader: StorageLoader | None = None
) -> ParsedFile | None:
    """A ParsedFile for a code archive (``code`` set; ``extra`` holds its ``extra/`` files and
    its contents), else ``None``. ``storage_loader`` makes the persistent-id loader that reads
    a TorchScript module pickle's tensors (the zip format's own)."""
    kind = archive_kind(members)
    if kind is None:
        return None
    parsed = ParsedFile("zip", root={}, code=kind)
    if kind == TORCHSCRIPT and storage_loader is not None:
        parsed.extra["archive_contents"] = _torchscript_contents(f, members, storage_loader)
    elif kind == EXPORT:
        parsed.extra["archive_contents"] = _export_contents(f, members)
    extras: dict[str, object] = {}
    for name in members.entries:
        if len(extras) >= _MAX_EXTRA_FILES:
            break
        head, _, rest = name.partition("extra/")
        if not rest or head.count("/") > 1 or (head and not head.endswith("/")):
            continue
        member = members.get(name)
        if member is None or member.size > _MAX_EXTRA_BYTES:
            continue
        try:
            text = read_member(f, member, _MAX_EXTRA_BYTES).decode("utf-8")
        except (FormatError, UnicodeDecodeError):
            continue
        extras[rest] = _plain(text)
    parsed.extra["archive_extra"] = extras
    return parsed


def _plain(text: str) -> object:
    """JSON when the text is JSON (plain data only), else the text itself."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def _member_bytes(f: CheckpointFile, members: Directory, suffix: str, limit: int) -> bytes | None:
    """The bytes of the member ``<one folder>/<suffix>`` (or a bare ``suffix``), when small."""
    for name in members.entries:
        if name == suffix or (
            name.endswith("/" + suffix) and name.count("/") == suffix.count("/") + 1
        ):
            member = members.get(name)
            if member is None or member.size > limit:
                return None
            try:
                return read_member(f, member, limit)
            except FormatError:
                return None
    return None


def _listing(tensors: dict[str, str]) -> dict[str, Any]:
    shown = {
        shorten(name, _MAX_NAME_SHOWN): kind for name, kind in list(tensors.items())[:_MAX_LISTED]
    }
    out: dict[str, Any] = {"count": len(tensors), "tensors": shown}
    if len(shown) < len(tensors):
        out["not_listed"] = len(tensors) - len(shown)
    return out


def _torchscript_contents(
    f: CheckpointFile, members: Directory, storage_loader: StorageLoader
) -> dict[str, Any]:
    """Names, dtypes and shapes of the tensors a TorchScript module holds (``data.pkl``) and of
    its constants (``constants.pkl``)."""
    out: dict[str, Any] = {}
    for key, member_name in (("tensors", "data.pkl"), ("constants", "constants.pkl")):
        data = _member_bytes(f, members, member_name, _MAX_PICKLE_BYTES)
        if data is None:
            continue
        resolver = Resolver()  # its own: the archive's class names are not the verdict's
        try:
            root, _end = unpickle(data, resolver, storage_loader(resolver))
        except (UnpicklingError, TruncatedPickle, PickleDataError) as exc:
            out[key] = {"unreadable": str(exc)[:200]}
            continue
        found: dict[str, str] = {}
        budget = [_MAX_WALK, _MAX_NAME_CHARS]
        _collect(root, "", found, budget)
        out[key] = _listing(found)
        if min(budget) < 0:
            out[key]["cut_short"] = "too many names or characters: not every tensor is counted"
    return out


def _collect(value: Any, prefix: str, out: dict[str, str], budget: list[int]) -> None:
    """Every tensor under ``value`` by dotted attribute name (module objects, dicts, lists).

    ``budget`` is ``[items, characters]`` left: a shared object is walked once per reference,
    and a long name is copied into every name under it, so both are bounded."""
    budget[0] -= 1
    if budget[0] < 0 or budget[1] < 0 or prefix.count(".") > 32:
        return
    if isinstance(value, TensorRef):
        budget[1] -= len(prefix)
        out[prefix.rstrip(".") or "0"] = f"{value.dtype}{list(value.shape)}"
    elif isinstance(value, Call):
        state = value.state
        if isinstance(state, dict):
            _collect(state, prefix, out, budget)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (isinstance(item, (TensorRef, Call, dict, list, tuple))):
                _collect(item, f"{prefix}{key}.", out, budget)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _collect(item, f"{prefix}{index}.", out, budget)


def _export_contents(f: CheckpointFile, members: Directory) -> dict[str, Any]:
    """The tensors a ``torch.export`` archive declares (JSON) and its program's metadata."""
    out: dict[str, Any] = {}
    for key, suffix in (
        ("parameters_and_buffers", "data/weights/model_weights_config.json"),
        ("constants", "data/constants/model_constants_config.json"),
    ):
        config = _json(_member_bytes(f, members, suffix, _MAX_JSON_BYTES))
        entries = config.get("config") if isinstance(config, dict) else None
        if isinstance(entries, dict):
            out[key] = _listing({str(name): _export_tensor(item) for name, item in entries.items()})
    program = None
    for suffix in ("models/model.json", "serialized_exported_program.json"):
        program = _json(_member_bytes(f, members, suffix, _MAX_JSON_BYTES))
        if program is not None:
            break
    if isinstance(program, dict):
        out["program"] = _program_summary(program)
    return out


def _export_tensor(item: Any) -> str:
    meta = item.get("tensor_meta") if isinstance(item, dict) else None
    if not isinstance(meta, dict):
        return "?"
    code = meta.get("dtype")
    dtype = _EXPORT_DTYPES.get(code, "?") if type(code) is int else "?"
    sizes = meta.get("sizes")
    shape: list[Any] = []
    if isinstance(sizes, list):
        shape = [s.get("as_int", "?") if isinstance(s, dict) else "?" for s in sizes[:16]]
    return f"{dtype}{shape}"


def _program_summary(program: dict[str, Any]) -> dict[str, Any]:
    """Versions, graph size and the signature's input kinds of a serialized exported program."""
    summary: dict[str, Any] = {}
    for key in ("torch_version", "schema_version", "opset_version"):
        value = program.get(key)
        if isinstance(value, (str, int, float)):
            summary[key] = value
        elif isinstance(value, dict) and len(value) <= 16:
            summary[key] = {str(k): v for k, v in value.items() if isinstance(v, (str, int, float))}
    module = program.get("graph_module")
    if isinstance(module, dict):
        graph = module.get("graph")
        if isinstance(graph, dict) and isinstance(graph.get("nodes"), list):
            summary["graph_nodes"] = len(graph["nodes"])
        signature = module.get("signature")
        specs = signature.get("input_specs") if isinstance(signature, dict) else None
        if isinstance(specs, list):
            kinds: dict[str, int] = {}
            for spec in specs:
                if isinstance(spec, dict) and spec:
                    kind = str(next(iter(spec)))[:40]
                    kinds[kind] = kinds.get(kind, 0) + 1
            summary["inputs"] = kinds
        outputs = signature.get("output_specs") if isinstance(signature, dict) else None
        if isinstance(outputs, list):
            summary["outputs"] = len(outputs)
    return summary


def _json(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None
