"""Safe, bounded YAML and JSON reading for sidecars and configs.

Only PyYAML's safe loaders are used (libyaml's ``CSafeLoader`` when present), so a
``!!python/object`` tag is an error, never code. Files over a size limit are refused unread, and
the parsed data is walked under a node budget so alias bombs ("billion laughs"), cycles and deep
nesting are refused before anything expands them. A number too large for any real value
(:data:`MAX_INT`, or a numeric scalar over :data:`MAX_NUMBER_CHARS` characters) refuses the
document with its key path, before it is converted: Python refuses to print an integer of over
4,300 digits, and PyYAML converts a base-60 integer (``1:2:3:...``) in quadratic time. Duplicate
keys are reported by :func:`parse_yaml_document` (the last value wins, as in PyYAML).
"""

from __future__ import annotations

import functools
import json
import os
import stat
from collections.abc import Callable, Iterator
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
MAX_INT = 2**63 - 1
"""Largest integer (by magnitude) a document may hold: what SQLite and every consumer can store."""
MAX_NUMBER_CHARS = 100
"""Longest numeric scalar converted; a longer one is "number too large" without being read."""


class UnsafeDocumentError(ValueError):
    """The file cannot be read safely or is not a document we accept; the message says why."""


class NumberTooLargeError(UnsafeDocumentError):
    """The document holds a number over the bounds; the message names its key path."""


class _TooLarge:
    """Stands for a numeric scalar that was not converted; never leaves this module."""

    __slots__ = ("chars",)

    def __init__(self, chars: int) -> None:
        self.chars = chars


def bounded_int(text: str, convert: Any = int) -> Any:
    """``convert(text)``, or a too-large marker when ``text`` is over :data:`MAX_NUMBER_CHARS`
    characters or the value over :data:`MAX_INT`. The length is checked first: converting a long
    numeral is what costs (and what Python refuses over 4,300 digits)."""
    if len(text) > MAX_NUMBER_CHARS:
        return _TooLarge(len(text))
    value = convert(text)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return _TooLarge(len(text))
    return value


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
        SafeLoader=_bounded_loader(yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)),
        SafeDumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
        resolver=yaml.resolver.Resolver(),
    )


def _bounded_loader(yaml: ModuleType, base: type[Any]) -> type[Any]:
    """``base`` (a safe loader) that never converts a huge number and notes duplicate keys.

    Numbers: the scalar's length is checked before PyYAML's int/float constructors run (their
    base-60 branch is quadratic). Duplicate keys: each mapping's own keys are compared before
    merge keys (``<<``) are flattened in, so a key that overrides a merged one is not a duplicate.
    """
    merge_tag = "tag:yaml.org,2002:merge"

    class BoundedSafeLoader(base):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.duplicate_keys: list[tuple[dict[Any, Any], list[Any]]] = []

    def construct_int(loader: Any, node: Any) -> Any:
        return bounded_int(node.value, lambda _text: base.construct_yaml_int(loader, node))

    def construct_float(loader: Any, node: Any) -> Any:
        if ":" in node.value and len(node.value) > MAX_NUMBER_CHARS:
            return _TooLarge(len(node.value))  # base-60, quadratic like the integers
        return base.construct_yaml_float(loader, node)

    def construct_map(loader: Any, node: Any) -> Any:
        data: dict[Any, Any] = {}
        yield data
        seen: set[Any] = set()
        repeated: list[Any] = []
        for key_node, _value in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == merge_tag:
                continue
            key = loader.construct_object(key_node)
            try:
                if key in seen:
                    repeated.append(key)
                seen.add(key)
            except TypeError:
                continue  # an unhashable key: construct_mapping words the error
        data.update(loader.construct_mapping(node))
        if repeated:
            loader.duplicate_keys.append((data, repeated))

    BoundedSafeLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
    BoundedSafeLoader.add_constructor("tag:yaml.org,2002:float", construct_float)
    BoundedSafeLoader.add_constructor("tag:yaml.org,2002:map", construct_map)
    return BoundedSafeLoader


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


def parse_yaml_document(text: str) -> tuple[Any, list[str]]:
    """Parse one YAML document with a safe loader and check it stays within the budgets.

    Returns the data and the key path of each duplicate key (``training.global_step``), in
    document order; the last value of a duplicate key wins.
    """
    pyyaml = _pyyaml()
    loader = pyyaml.SafeLoader(text)
    try:
        # Composed and counted before anything is constructed: constructing a merge key (<<)
        # copies every merged pair into the mapping, so a few KB of merges could otherwise
        # build millions of entries before check_bounded ever sees them.
        node = loader.get_single_node()
        data = None
        if node is not None:
            _check_node_budget(pyyaml.yaml, node)
            data = loader.construct_document(node)
    except pyyaml.yaml.YAMLError as exc:
        raise UnsafeDocumentError(f"invalid YAML: {_one_line(exc)}") from exc
    except RecursionError as exc:
        raise UnsafeDocumentError("YAML nested too deeply") from exc
    finally:
        loader.dispose()
    check_bounded(data)
    duplicates: list[str] = []
    for mapping, keys in loader.duplicate_keys:
        where = _path_to(data, lambda node, mapping=mapping: node is mapping)
        duplicates.extend(_join(where or "", key) for key in keys)
    return data, duplicates


def parse_yaml(text: str) -> Any:
    """Parse one YAML document with a safe loader and check it stays within the budgets."""
    return parse_yaml_document(text)[0]


def parse_json(text: str, *, max_nodes: int = MAX_NODES) -> Any:
    """Parse JSON and check it stays within the budgets (``max_nodes`` nodes: JSON has no
    aliases, so a caller whose files are large by nature may allow more)."""
    try:
        data = json.loads(text, parse_int=bounded_int)
    except (ValueError, RecursionError) as exc:
        raise UnsafeDocumentError(f"invalid JSON: {_one_line(exc)}") from exc
    check_bounded(data, max_nodes=max_nodes)
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


def _check_node_budget(yaml: ModuleType, root: Any) -> None:
    """Refuse a composed document whose tree expansion is over :data:`MAX_NODES` nodes.

    Walks the node graph as :func:`check_bounded` walks the data, expanding every alias where it
    is used, so a merge key counts the whole mapping it merges each time it is used: what
    construction would copy. A cycle is not descended twice: construction then words the error.
    """

    def children(node: Any) -> list[Any] | None:
        if isinstance(node, yaml.ScalarNode):
            return None
        if isinstance(node, yaml.MappingNode):
            return [child for pair in node.value for child in pair]
        return list(node.value)

    for _node, _depth in _expansion(root, children, MAX_NODES, cycles_refused=False):
        pass


def _expansion(
    root: Any,
    children_of: Callable[[Any], list[Any] | None],
    max_nodes: int,
    *,
    cycles_refused: bool,
) -> Iterator[tuple[Any, int]]:
    """``(node, depth)`` for every node of ``root``'s tree expansion, a node shared by several
    parents once per parent; :class:`UnsafeDocumentError` past ``max_nodes`` nodes, and at a
    node that contains itself when ``cycles_refused`` (else it is not descended again).
    ``children_of`` gives a node's children, ``None`` for a leaf."""
    budget = max_nodes
    open_ids: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(root, 0, False)]  # (node, depth, leaving?)
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            open_ids.discard(id(node))
            continue
        budget -= 1
        if budget < 0:
            raise UnsafeDocumentError(f"document expands to over {max_nodes:,} nodes (alias bomb?)")
        yield node, depth
        children = children_of(node)
        if children is None:
            continue
        if id(node) in open_ids:
            if cycles_refused:
                raise UnsafeDocumentError("document refers to itself (recursive alias)")
            continue
        open_ids.add(id(node))
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children)


def _data_children(node: Any) -> list[Any] | None:
    if isinstance(node, dict):
        return [*node.keys(), *node.values()]
    if isinstance(node, (list, tuple, set)):
        return list(node)
    return None


def check_bounded(data: Any, *, max_nodes: int = MAX_NODES) -> None:
    """Walk ``data`` as a tree; refuse cycles, more than MAX_NODES nodes or MAX_DEPTH levels.

    YAML aliases make a DAG whose tree expansion can be exponential; walking the expansion under
    a budget refuses such documents after at most MAX_NODES steps. A number over the bounds
    (left unconverted by the parsers here) raises :class:`NumberTooLargeError` naming its path.
    """
    too_large = False
    for node, depth in _expansion(data, _data_children, max_nodes, cycles_refused=True):
        if depth > MAX_DEPTH:
            raise UnsafeDocumentError(f"document nested deeper than {MAX_DEPTH} levels")
        too_large = too_large or isinstance(node, _TooLarge)
    if too_large:
        found: list[_TooLarge] = []

        def is_too_large(node: Any) -> bool:
            if isinstance(node, _TooLarge):
                found.append(node)
                return True
            return False

        where = _path_to(data, is_too_large) or "(document)"
        raise NumberTooLargeError(f"{where}: number too large ({found[0].chars:,} characters)")


def _path_to(data: Any, wanted: Any) -> str | None:
    """The dotted key path of the first node (or key) of ``data`` for which ``wanted`` is true.

    Only called on a tree :func:`check_bounded` has walked (finite, acyclic, bounded).
    """
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, path = stack.pop()
        if wanted(node):
            return path
        if isinstance(node, dict):
            items = list(node.items())
            for key, _value in items:
                if wanted(key):
                    return _join(path, "(key)")
            stack.extend((value, _join(path, key)) for key, value in reversed(items))
        elif isinstance(node, (list, tuple)):
            stack.extend(
                (item, _join(path, index)) for index, item in reversed(list(enumerate(node)))
            )
    return None


def _join(path: str, key: Any) -> str:
    part = key if isinstance(key, str) else repr(key) if not isinstance(key, int) else str(key)
    part = part[:80] + "…" if len(part) > 80 else part
    return f"{path}.{part}" if path else part


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
