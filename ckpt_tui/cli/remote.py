"""Remote roots on the command line: ``ckpt-tui [list|show|validate|convert|diff] s3://...`` and
``ckpt-tui s3://bucket/prefix`` (the TUI).

Each root a command names is listed once and indexed locally (:mod:`ckpt_tui.io.remote_tree`);
the command then runs unchanged on the index while it is mounted, so its checkpoints are read
from the store with a few ranged requests each. Each URL argument becomes the matching path of
the index, and paths in the output become URLs again. After ``convert`` (or the TUI's conversion
screen) each new sidecar is created in the store with a conditional create, never replacing one
that appeared meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

from ckpt_tui.io.stores import StorageError, is_url, parse_storage_options
from ckpt_tui.io.text import escape_for_terminal

if TYPE_CHECKING:
    from ckpt_tui.io.remote_tree import RemoteTree

REMOTE_COMMANDS = frozenset({"list", "show", "validate", "convert", "diff"})
"""Commands that take remote roots."""
_FILE_ARGUMENTS = {"show": ("checkpoint",), "convert": ("--checkpoint",)}
"""Arguments naming one checkpoint: their root is a few folders above (like ``show``'s)."""
_ROOT_LEVELS = 3
_CHECKPOINT_SUFFIXES = (".ckpt", ".pt", ".pth", ".safetensors", ".bin", ".pt2", ".tar")


def add_storage_option(parser: argparse.ArgumentParser) -> None:
    """Declare ``--storage-option KEY=VALUE`` (repeatable) on a command's parser."""
    parser.add_argument(
        "--storage-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option for a remote root's store (fsspec), e.g. endpoint_url=..., anon=true",
    )


def wants_remote(argv: Sequence[str]) -> bool:
    """Whether any argument is a storage URL."""
    return any(is_url(arg) for arg in argv)


def run_remote(name: str, argv: list[str], run: Callable[[list[str], Any], int]) -> int:
    """Run command ``name`` on the remote roots its URL arguments name.

    ``run(argv, tree)`` parses and runs the command on the rewritten ``argv`` (local paths of the
    indexes; ``tree`` is the first root's). Errors of the store (no credentials, access denied,
    no bucket, unreachable) are one message and exit code 2, never a traceback.
    """
    prog = f"ckpt-tui {name}" if name else "ckpt-tui"
    _quiet_store_loggers()
    try:
        options = parse_storage_options(_option_values(argv))
        if name == "convert" and "--force" in argv:
            raise ValueError("--force cannot replace sidecars in a store: they are never replaced")
        roots = _root_urls(name, argv)
        if name == "show" and "--root" not in argv:
            argv = [*argv, "--root", roots[0]]
        use_cache = "--no-cache" not in argv
        with contextlib.ExitStack() as stack:
            trees = [
                stack.enter_context(remote_index(url, options, use_cache=use_cache))
                for url in roots
            ]
            local = [_to_local(arg, trees) for arg in argv]
            if name:  # the TUI draws on the terminal: nothing to rewrite
                for tree in trees:
                    stack.enter_context(_urls_in_output(tree))
            code = run(local, trees[0])
            if name in ("convert", "") and "--dry-run" not in local:
                # convert, or the TUI's conversion screen, wrote sidecars into the index.
                for tree in trees:
                    code = max(code, upload_new_sidecars(tree))
            return code
    except (StorageError, ValueError) as exc:
        print(f"{prog}: {escape_for_terminal(str(exc))}", file=sys.stderr)
        return 2


_STORE_LOGGERS = (
    "fsspec",
    "s3fs",
    "gcsfs",
    "adlfs",
    "aiobotocore",
    "botocore",
    "google",
    "aiohttp",
)


def _quiet_store_loggers() -> None:
    """The store libraries log their retries and failures (tracebacks included) on stderr; the
    command says what went wrong itself, once, in words."""
    import logging

    for name in _STORE_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _option_values(argv: list[str]) -> list[str]:
    values: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--storage-option" and index + 1 < len(argv):
            values.append(argv[index + 1])
        elif arg.startswith("--storage-option="):
            values.append(arg.partition("=")[2])
    return values


def _root_urls(name: str, argv: list[str]) -> list[str]:
    """The URLs to index, each once: ``--root`` when given, else each root argument, else a few
    folders above each checkpoint named (a root inside another is the outer one's)."""
    urls = [(argv[i - 1] if i else "", arg) for i, arg in enumerate(argv) if is_url(arg)]
    given = [url.rstrip("/") for before, url in urls if before == "--root"]
    found = given or [_root_of(name, before, url) for before, url in urls]
    roots: list[str] = []
    for url in sorted(found, key=len):
        if not any(url == root or url.startswith(root + "/") for root in roots):
            roots.append(url)
    return sorted(roots, key=found.index)


def _root_of(name: str, before: str, url: str) -> str:
    url = url.rstrip("/")
    last = url.rpartition("/")[2].lower()
    is_file = (
        before in _FILE_ARGUMENTS.get(name, ())
        or (name == "show" and not before.startswith("-"))
        or (name == "diff" and last.endswith(_CHECKPOINT_SUFFIXES))
    )
    if not is_file:
        return url
    scheme, _, path = url.partition("://")
    bucket, _, key = path.partition("/")
    parts = key.split("/")[:-1]
    parts = parts[: max(0, len(parts) - (_ROOT_LEVELS - 1))]
    return f"{scheme}://{'/'.join([bucket, *parts])}"


def _to_local(arg: str, trees: list[RemoteTree]) -> str:
    if not is_url(arg):
        return arg
    url = arg.rstrip("/")
    for tree in sorted(trees, key=lambda t: -len(t.url)):
        if url == tree.url:
            return tree.local_root
        if url.startswith(tree.url + "/"):
            return os.path.join(tree.local_root, *url[len(tree.url) + 1 :].split("/"))
    raise ValueError(f"{url} is not under the root {trees[0].url}")


class _UrlWriter:
    """A stream that writes the index's paths as the root's URLs (text or bytes)."""

    def __init__(self, stream: Any, local: str | bytes, url: str | bytes) -> None:
        self._stream = stream
        self._local = local
        self._url = url

    def write(self, data: Any) -> Any:
        return self._stream.write(data.replace(self._local, self._url))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _UrlStdout(_UrlWriter):
    @property
    def buffer(self) -> _UrlWriter:
        binary = self._stream.buffer
        encode = os.fsencode
        return _UrlWriter(binary, encode(self._local), encode(self._url))


@contextlib.contextmanager
def _urls_in_output(tree: RemoteTree) -> Iterator[None]:
    """While inside, paths of the index printed on stdout (JSON, CSV, text) read as URLs."""
    original = sys.stdout
    sys.stdout = cast(TextIO, _UrlStdout(original, tree.local_root, tree.url))
    try:
        yield
    finally:
        sys.stdout = original


@contextlib.contextmanager
def remote_index(url: str, options: dict[str, Any], *, use_cache: bool) -> Iterator[RemoteTree]:
    """The root at ``url`` listed, indexed and mounted while inside; progress on a terminal.

    The index lives in the cache folder (one per URL), so an unchanged bucket is indexed again
    from its listing alone; with ``use_cache=False`` it is a temporary folder.
    """
    from ckpt_tui.io.remote_tree import mounted, sync_index

    with contextlib.ExitStack() as stack:
        if use_cache:
            from ckpt_tui.catalog.cache import cache_dir

            # One index per URL and endpoint: the same bucket name on two stores is two roots.
            endpoint = options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL", "")
            key = f"{url}|{endpoint}".encode("utf-8", "surrogateescape")
            digest = hashlib.sha256(key).hexdigest()[:24]
            index_dir = str(cache_dir() / "remote" / digest)
        else:
            index_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="ckpt-tui-"))
        progress = stack.enter_context(_progress(url))
        tree = sync_index(url, options, index_dir, progress)
        for issue in tree.issues:
            print(f"ckpt-tui: {escape_for_terminal(str(issue))}", file=sys.stderr)
        yield stack.enter_context(mounted(tree))


@contextlib.contextmanager
def _progress(url: str) -> Iterator[Callable[[int, int, str], None] | None]:
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"indexing {escape_for_terminal(url)[:60]}", total=None)

        def show(done: int, total: int, what: str) -> None:
            # While listing the total is unknown (0): rich shows the count alone.
            bar.update(task, completed=done, total=total or None)

        yield show


def upload_new_sidecars(tree: RemoteTree) -> int:
    """Create in the store each sidecar ``convert`` wrote into the index; 1 when one could not
    be (another appeared meanwhile, or the store refused), else 0."""
    from ckpt_tui.io.stores import create_if_absent

    problems = 0
    created = 0
    for folder, _dirs, files in os.walk(tree.local_root):
        for name in sorted(files):
            if not name.endswith(".metadata.yaml"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, tree.local_root).replace(os.sep, "/")
            if rel in tree.objects:
                continue
            url = f"{tree.url}/{rel}"
            with open(path, "rb") as handle:
                data = handle.read()
            try:
                if create_if_absent(tree.fs, f"{tree.root_path}/{rel}", data, url):
                    created += 1
                    continue
                message = f"{url}: a sidecar appeared there meanwhile: kept, ours not written"
            except StorageError as exc:
                message = exc.message
            problems += 1
            os.remove(path)  # the index mirrors the store: it holds only what the store holds
            print(f"ckpt-tui convert: {escape_for_terminal(message)}", file=sys.stderr)
    if created:
        print(f"ckpt-tui convert: {created} sidecar(s) created in {tree.url}", file=sys.stderr)
    return 1 if problems else 0
