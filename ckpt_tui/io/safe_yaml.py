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


_STR_TAG = "tag:yaml.org,2002:str"


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

    PyYAML's safe dumper (libyaml's when present), ``sort_keys=False``, ``allow_unicode=True``,
    block style.
    """
    pyyaml = _pyyaml()
    text: str = pyyaml.yaml.dump(
        data,
        Dumper=pyyaml.SafeDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return text


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
