"""Safe, bounded YAML and JSON reading for sidecars and configs.

Only PyYAML's safe loaders are used (libyaml's ``CSafeLoader`` when present), so a
``!!python/object`` tag is an error, never code. Files over a size limit are refused unread, and
the parsed data is walked under a node budget so alias bombs ("billion laughs"), cycles and deep
nesting are refused before anything expands them.
"""

from __future__ import annotations

import functools
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

MAX_SIDECAR_BYTES = 1024 * 1024
"""Sidecars over 1 MiB are refused unread (a real one is 2-5 KB)."""
MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""Configs over 4 MiB are refused unread."""
MAX_NODES = 100_000
"""Most scalars and containers a document may expand to."""
MAX_DEPTH = 64
"""Deepest nesting a document may have."""


class UnsafeDocumentError(ValueError):
    """The file cannot be read safely or is not a document we accept; the message says why."""


@dataclass(frozen=True)
class _PyYAML:
    """PyYAML's safe parts, imported on first use: plain sidecars and a warm start never need
    them (:mod:`ckpt_tui.io.yaml_subset` reads sidecars, :func:`dump_yaml` writes them), and the
    import would otherwise be paid by every start-up."""

    yaml: ModuleType
    SafeLoader: type[Any]
    """libyaml's ``CSafeLoader`` when present; the pure-Python one is just as safe, only slower."""
    SafeDumper: type[Any]
    resolver: Any


@functools.cache
def _pyyaml() -> _PyYAML:
    import yaml

    return _PyYAML(
        yaml=yaml,
        SafeLoader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),
        SafeDumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        resolver=yaml.resolver.Resolver(),
    )


IMPLICIT_FIRST = frozenset(("", *"!&*+-.0123456789<=FNOTYfnoty~"))
"""First characters of a scalar that some implicit resolver of PyYAML's (bool, int, float, null,
timestamp, merge, value, yaml) may claim: a plain scalar starting with anything else is a string.
The keys of ``yaml.resolver.Resolver.yaml_implicit_resolvers`` (a test checks), known without
importing PyYAML."""


def resolve_plain_scalar(text: str) -> str:
    """The tag PyYAML's implicit resolvers give the plain (unquoted) scalar ``text``."""
    if text[:1] not in IMPLICIT_FIRST:
        return _STR_TAG
    pyyaml = _pyyaml()
    tag: str = pyyaml.resolver.resolve(pyyaml.yaml.ScalarNode, text, (True, False))
    return tag


def read_bounded_text(path: Path | str, limit: int) -> str:
    """Read ``path`` as UTF-8, refusing it unread when larger than ``limit`` bytes.

    Raw ``os`` calls: a buffered file object costs more than the whole read of a 2 KB sidecar,
    and this runs once per sidecar on the catalog's hot path. ``O_NONBLOCK``: a FIFO named like a
    sidecar (or swapped in after a stat) can never block the caller.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeDocumentError("not a regular file")
        if info.st_size > limit:
            raise UnsafeDocumentError(
                f"file is {info.st_size:,} bytes, over the {limit:,}-byte limit"
            )
        data = os.read(fd, info.st_size + 1)
        while len(data) > info.st_size and len(data) <= limit:
            more = os.read(fd, 65536)  # the file grew since the stat
            if not more:
                break
            data += more
    finally:
        os.close(fd)
    if len(data) > limit:
        raise UnsafeDocumentError(f"file grew over the {limit:,}-byte limit while being read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeDocumentError(f"not valid UTF-8 (byte {exc.start})") from exc


def parse_yaml(text: str) -> Any:
    """Parse one YAML document with a safe loader and check it stays within the budgets."""
    pyyaml = _pyyaml()
    try:
        data = pyyaml.yaml.load(text, Loader=pyyaml.SafeLoader)
    except pyyaml.yaml.YAMLError as exc:
        raise UnsafeDocumentError(f"invalid YAML: {_one_line(exc)}") from exc
    except RecursionError as exc:
        raise UnsafeDocumentError("YAML nested too deeply") from exc
    check_bounded(data)
    return data


def parse_json(text: str) -> Any:
    """Parse JSON and check it stays within the budgets."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise UnsafeDocumentError(f"invalid JSON: {_one_line(exc)}") from exc
    check_bounded(data)
    return data


def load_document(path: Path, limit: int) -> Any:
    """Read and parse a YAML or JSON file (by suffix) safely."""
    text = read_bounded_text(path, limit)
    return parse_json(text) if path.suffix == ".json" else parse_yaml(text)


def dump_yaml(data: Any) -> str:
    """Serialise plain data as block-style YAML in the given key order.

    The text is exactly what ``yaml.dump`` (safe dumper, ``sort_keys=False``,
    ``allow_unicode=True``, block style) writes; see :func:`_dump_simple` for the fast path.
    """
    fast = _dump_simple(data)
    if fast is not None:
        return fast
    pyyaml = _pyyaml()
    text: str = pyyaml.yaml.dump(
        data,
        Dumper=pyyaml.SafeDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return text


# -- the fast path of dump_yaml --------------------------------------------------------------
# Even with libyaml's emitter, yaml.dump builds a node per value and resolves every scalar in
# Python, which costs as much as the rest of writing a sidecar. A sidecar is a
# mapping of mappings with simple keys and scalars, so _dump_simple writes that subset directly
# and answers None for anything else (odd characters, spaces, quotes, nested lists, shared
# objects, ...), which goes to yaml.dump. A property test checks it against yaml.dump.

_STR_TAG = "tag:yaml.org,2002:str"
_FLOAT_TAG = "tag:yaml.org,2002:float"
# Strings that PyYAML and libyaml both write plain (or single-quoted when they would read back
# as another type): no spaces, quotes, indicators or non-ASCII; not starting with "...", not
# ending with ":".
_SIMPLE_TEXT = re.compile(r"(?!\.\.\.)[A-Za-z0-9_./][A-Za-z0-9_./=+~:-]*(?<!:)")
# Keys: short (libyaml writes keys over 128 characters in the long "? key" form), no ":".
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]{0,63}")


class _NotSimple(Exception):
    """The data is outside the subset that :func:`_dump_simple` writes."""


def _dump_simple(data: Any) -> str | None:
    """``data`` as ``yaml.dump`` would write it, or ``None`` when it is outside the subset."""
    if type(data) is not dict or not data:
        return None
    out: list[str] = []
    try:
        _simple_mapping(data, "", out, {id(data)})
    except _NotSimple:
        return None
    return "".join(out)


def _simple_mapping(data: dict[Any, Any], indent: str, out: list[str], seen: set[int]) -> None:
    for key, value in data.items():
        if type(key) is not str or not _SIMPLE_KEY.fullmatch(key) or _simple_text(key) != key:
            raise _NotSimple
        kind = type(value)
        if kind is not dict and kind is not list:
            out.append(f"{indent}{key}: {_simple_scalar(value)}\n")
            continue
        if id(value) in seen:  # yaml.dump writes an object met twice as an anchor and alias
            raise _NotSimple
        seen.add(id(value))
        if not value:
            out.append(f"{indent}{key}: {'{}' if kind is dict else '[]'}\n")
            continue
        out.append(f"{indent}{key}:\n")
        if kind is dict:
            _simple_mapping(value, indent + "  ", out, seen)
        else:  # a block sequence in a mapping is not indented further ("indentless")
            out.extend(f"{indent}- {_simple_scalar(item)}\n" for item in value)


def _simple_scalar(value: Any) -> str:
    kind = type(value)  # exact types: yaml.dump's safe representer refuses subclasses
    if kind is str:
        return _simple_text(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        # SafeRepresenter.represent_float, for finite values.
        text = repr(value).lower()
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e", 1)
        if resolve_plain_scalar(text) != _FLOAT_TAG:
            raise _NotSimple  # inf, nan or a form the float resolver would not read back
        return text
    if value is None:
        return "null"
    raise _NotSimple


def _simple_text(text: str) -> str:
    if not _SIMPLE_TEXT.fullmatch(text):
        raise _NotSimple
    if resolve_plain_scalar(text) == _STR_TAG:
        return text
    return f"'{text}'"  # reads back as another type (a timestamp, "1.0", "yes"): quote it


def check_bounded(data: Any) -> None:
    """Walk ``data`` as a tree; refuse cycles, more than MAX_NODES nodes or MAX_DEPTH levels.

    YAML aliases make a DAG whose tree expansion can be exponential; walking the expansion under
    a budget refuses such documents after at most MAX_NODES steps.
    """
    budget = MAX_NODES
    open_ids: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(data, 0, False)]  # (node, depth, leaving?)
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            open_ids.discard(id(node))
            continue
        budget -= 1
        if budget < 0:
            raise UnsafeDocumentError(f"document expands to over {MAX_NODES:,} nodes (alias bomb?)")
        if depth > MAX_DEPTH:
            raise UnsafeDocumentError(f"document nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            children: list[Any] = [*node.keys(), *node.values()]
        elif isinstance(node, (list, tuple, set)):
            children = list(node)
        else:
            continue
        if id(node) in open_ids:
            raise UnsafeDocumentError("document refers to itself (recursive alias)")
        open_ids.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
