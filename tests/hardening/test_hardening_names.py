"""File and folder names with newlines, control characters, terminal escape sequences (an OSC 52
clipboard write, ANSI colours, clear-screen), C1 controls, bidi overrides and bytes that are not
UTF-8: every command prints them escaped, never raw, and still finds every file.

(``tests/catalog`` checks ``list`` with one such name; this covers every kind and every command.)
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hardening_helpers import (
    HOSTILE_NAMES,
    INVALID_UTF8,
    assert_no_raw_controls,
    run_cli,
    tree_digest,
)
from hardening_trees import BROKEN_SIDECAR_KINDS, hostile_tree


@pytest.fixture
def tree(tmp_path: Path, ckpt_bytes: bytes) -> tuple[Path, list[bytes]]:
    return hostile_tree(tmp_path, ckpt_bytes)


def _relative(root: Path, path: bytes) -> str:
    return os.fsdecode(path[len(os.fsencode(root)) + 1 :])


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_list(fmt: str, tree: tuple[Path, list[bytes]]) -> None:
    root, paths = tree
    done = run_cli("list", root, *([f"--{fmt}"] if fmt != "table" else []), "--no-cache")
    assert done.returncode == 0, done.stderr[-2000:]
    assert_no_raw_controls(done.stdout, f"list {fmt} stdout", c1=fmt != "json")
    assert_no_raw_controls(done.stderr, f"list {fmt} stderr")
    assert b"new\nline" not in done.stdout and b"new\nline" not in done.stderr
    assert b"fifo-osc\\x1b]52" in done.stderr  # the FIFO's scan issue, escaped
    if fmt == "json":
        shown = {entry["checkpoint_path"] for entry in json.loads(done.stdout)}
        assert shown == {_relative(root, path) for path in paths}  # every name round-trips
    else:
        for escaped in (b"osc\\x1b]52;c;aGk=\\x07", b"new\\nline", b"\\x9b31m", b"\\u202e"):
            assert escaped in done.stdout, escaped
        assert b"inv\\xff\\xfealid" in done.stdout


def test_json_has_no_raw_c1_or_bidi(tree: tuple[Path, list[bytes]]) -> None:
    """Valid JSON either way, but a terminal that honours C1 CSI/OSC acts on them when the
    JSON is printed to it, and a bidi override reorders what is shown."""
    root, _paths = tree
    done = run_cli("list", root, "--json", "--no-cache")
    assert b"\xc2\x9b" not in done.stdout
    assert "\u202e".encode() not in done.stdout


def test_validate(tree: tuple[Path, list[bytes]]) -> None:
    root, _paths = tree
    for args in ([], ["--json"]):
        done = run_cli("validate", root, *args)
        assert done.returncode == 1, done.stderr[-2000:]  # the broken sidecars
        assert_no_raw_controls(done.stdout, f"validate {args} stdout", c1=not args)
        assert_no_raw_controls(done.stderr, f"validate {args} stderr")
        assert b"new\nline" not in done.stdout
    text = run_cli("validate", root).stdout
    assert b"cls\\x1b[2J\\x1b[H-epoch=1.metadata.yaml" in text


def test_show(tree: tuple[Path, list[bytes]]) -> None:
    root, paths = tree
    for index, path in enumerate(paths):
        broken = any(os.fsencode(HOSTILE_NAMES[kind]) in path for kind in BROKEN_SIDECAR_KINDS)
        for args in ([], ["--json"]) if index % 4 == 0 else ([],):
            done = run_cli("show", os.fsdecode(path), *args, "--root", root, "--no-cache")
            assert done.returncode == (1 if broken else 0), (path, done.stderr[-2000:])
            assert_no_raw_controls(done.stdout, f"show {path!r} {args}", c1=not args)
            assert_no_raw_controls(done.stderr, f"show {path!r} {args} stderr")
            assert b"new\nline" not in done.stdout
            if args:
                assert json.loads(done.stdout)["checkpoint_path"] == _relative(root, path)


def test_convert(tree: tuple[Path, list[bytes]], tmp_path: Path) -> None:
    root, paths = tree
    before = {p: tree_digest(root)[p[len(os.fsencode(root)) :]] for p in paths}
    for args in (["--dry-run"], ["--dry-run", "--json"], ["-v"]):
        done = run_cli("convert", root, *args, "--no-cache")
        assert done.returncode == 0, done.stderr[-3000:]  # a name that is not UTF-8 included
        assert_no_raw_controls(done.stdout, f"convert {args}", c1="--json" not in args)
        assert_no_raw_controls(done.stderr, f"convert {args} stderr")
        assert b"new\nline" not in done.stdout
    after = tree_digest(root)
    assert {p: after[p[len(os.fsencode(root)) :]] for p in paths} == before  # untouched
    written = [name for name in after if name.endswith(b".metadata.yaml")]
    assert any(INVALID_UTF8 in name for name in written)  # converted like any other
    assert len(written) == len(paths)  # every checkpoint now has its sidecar
    shutil.rmtree(root)
