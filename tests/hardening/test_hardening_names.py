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
    cli_env,
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


# Invisible or reordering characters: bidi marks (U+061C, U+200E/F), embeddings and overrides,
# isolates, line/paragraph separators, the BOM, tag characters (U+E0000-E007F), DEL and C1.
INVISIBLE = {
    f"U+{code:04X}": chr(code)
    for code in (
        0x7F, 0x85, 0x9B, 0x9D, 0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F),
        *range(0x2066, 0x206A), 0x2028, 0x2029, 0xFEFF, 0xE0000, 0xE0001, 0xE0041, 0xE007F,
    )
}  # fmt: skip


@pytest.fixture
def invisible_tree(tmp_path: Path, ckpt_bytes: bytes) -> Path:
    """One run per character, in the folder and file names and in a sidecar's exp_name."""
    from catalog_helpers import metadata

    from ckpt_tui.model.schema import MetricsInfo
    from ckpt_tui.sidecar.files import save_metadata

    root = tmp_path / "outputs"
    for label, char in INVISIBLE.items():
        ckpt = root / f"run{char}{label}" / "checkpoints" / f"e{char}x.ckpt"
        ckpt.parent.mkdir(parents=True)
        ckpt.write_bytes(ckpt_bytes)
        if label != "U+061C":  # one without a sidecar, so convert has something to write
            save_metadata(metadata(exp_name=f"exp{char}", metrics=MetricsInfo(hmean=0.5)), ckpt)
    return root


def _assert_no_invisible(output: bytes, what: str) -> None:
    for label, char in INVISIBLE.items():
        assert char.encode() not in output, f"{what}: raw {label} in {output[:2000]!r}"


def test_invisible_characters_never_reach_stdout(invisible_tree: Path) -> None:
    root = invisible_tree
    runs: list[tuple[str, list[str | Path], dict[str, str] | None]] = [
        ("list table", ["list", root, "--no-cache"], None),
        ("list terminal", ["list", root, "--no-cache"], cli_env(FORCE_COLOR="1", COLUMNS="300")),
        ("list json", ["list", root, "--json", "--no-cache"], None),
        ("list csv", ["list", root, "--csv", "--no-cache"], None),
        ("validate", ["validate", root], None),
        ("validate json", ["validate", root, "--json"], None),
        ("convert dry-run", ["convert", root, "--dry-run", "--no-cache"], None),
        ("convert dry-run json", ["convert", root, "--dry-run", "--json", "--no-cache"], None),
    ]
    for label in ("U+061C", "U+E0041", "U+202E"):
        char = INVISIBLE[label]
        ckpt = root / f"run{char}{label}" / "checkpoints" / f"e{char}x.ckpt"
        runs.append((f"show {label}", ["show", ckpt, "--root", root, "--no-cache"], None))
        runs.append((f"show {label} json", ["show", ckpt, "--root", root, "--json"], None))
    for what, args, env in runs:
        done = run_cli(*args, env=env)
        assert done.returncode in (0, 1), (what, done.stderr[-2000:])
        _assert_no_invisible(done.stdout, what)
        _assert_no_invisible(done.stderr, f"{what} stderr")
        if "json" in what:
            json.loads(done.stdout)  # still valid JSON
    shown = {e["checkpoint_path"] for e in json.loads(run_cli(*runs[2][1]).stdout)}
    assert shown == {f"run{c}{label}/checkpoints/e{c}x.ckpt" for label, c in INVISIBLE.items()}
    assert b"\\U000e0041" in run_cli("list", root, "--no-cache").stdout  # shown as an escape
