"""Pickle routes to code execution beyond ``tests/reader``: importers in harmless-looking modules
(pkgutil, logging.config, typing, uuid, _frozen_importlib, torch), dotted names, nested getattr
chains, memo tricks, INST/OBJ/BUILD/NEWOBJ_EX, torch's rebuild functions fed hostile arguments,
look-alikes of their names, and legacy files with a payload in every pickle and a broken tail.
Nothing runs; no hostile file is ever ``safe``; the CLI lists every file with its issues."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hardening_helpers import bounded_python, by_path, issue_codes, list_json, run_cli
from hardening_pickles import (
    CASES,
    LEGACY_PAYLOADS,
    LEGACY_TAILS,
    LIVE,
    ZIP_ONLY,
    legacy_every_pickle,
)
from reader_pickles import legacy_checkpoint, zip_checkpoint

from ckpt_tui.reader import inspect_checkpoint

SECURITY = "security.unsafe-global"

_PROVE = """
import pickle, sys
from pathlib import Path
for name in sys.argv[1:]:
    try:
        pickle.loads(Path(name).read_bytes())
    except Exception:
        pass
"""


def test_live_payloads_really_run_under_pickle(tmp_path: Path) -> None:
    """The proof that the corpus is not made of duds: real unpickling runs each LIVE payload
    (in a throwaway subprocess, creating only its own marker file)."""
    files = []
    for name in LIVE:
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(CASES[name][0](tmp_path / f"ran-{name}"))
        files.append(str(path))
    done = bounded_python(_PROVE, *files)
    assert done.returncode == 0, done.stderr[-2000:]
    missing = [name for name in LIVE if not (tmp_path / f"ran-{name}").exists()]
    assert missing == [], "these payloads do not run under pickle: fix the corpus"


ROUTES = [(name, "zip") for name in sorted(CASES)]
ROUTES += [(name, "legacy") for name in sorted(CASES) if name not in ZIP_ONLY]


@pytest.mark.parametrize(("name", "container"), ROUTES)
def test_route_is_reported_never_run(
    name: str, container: str, tmp_path: Path, marker: Path
) -> None:
    build, danger = CASES[name]
    path = tmp_path / f"{name}.ckpt"
    payload = build(marker)
    if container == "zip":
        zip_checkpoint(path, payload)
    else:
        legacy_checkpoint(path, payload)
    started = time.monotonic()
    result = inspect_checkpoint(path)
    assert time.monotonic() - started < 10, "inspection did not finish in bounded time"
    codes = [issue.code for issue in result.issues]
    assert result.tensors == {}  # no payload ever became a tensor
    if danger is not None:
        assert result.safety == "unsafe"
        assert danger in result.unsafe_globals, result.issues
        security = [issue for issue in result.issues if issue.code == SECURITY]
        assert len(security) == 1 and security[0].severity == "error"
    else:
        # A name the reader refuses outright (not printable): the pickle is unreadable.
        assert result.safety == "unreadable"
        assert "checkpoint.pickle-invalid" in codes


def test_dotted_name_is_judged_as_the_attribute_it_reaches(tmp_path: Path, marker: Path) -> None:
    path = zip_checkpoint(tmp_path / "touch.ckpt", CASES["dotted_path_touch"][0](marker))
    result = inspect_checkpoint(path)
    # pathlib.Path is a plain value (allowed); Path.touch is a method that writes a file.
    assert result.unsafe_globals == ["pathlib.Path.touch"]
    assert result.safety == "unsafe"


@pytest.mark.parametrize("tail", sorted(LEGACY_TAILS))
def test_legacy_payload_in_every_pickle_is_kept_past_a_broken_tail(
    tail: str, tmp_path: Path
) -> None:
    markers = tmp_path / "never"
    markers.mkdir()
    path = legacy_every_pickle(tmp_path / f"{tail}.pt", markers, tail)
    result = inspect_checkpoint(path)
    code, reached = LEGACY_TAILS[tail]
    assert result.safety == "unsafe"
    assert {LEGACY_PAYLOADS[k] for k in reached} <= set(result.unsafe_globals)
    codes = [issue.code for issue in result.issues]
    assert SECURITY in codes and code in codes  # the format error is an issue of its own
    assert list(markers.iterdir()) == []  # no payload ran


_TORCH_LOAD = """
import sys, torch
try:
    torch.load(sys.argv[1], weights_only=False)
except Exception:
    pass
"""


@pytest.mark.parametrize("tail", sorted(LEGACY_TAILS))
def test_legacy_payloads_really_run_under_torch_load(tail: str, tmp_path: Path) -> None:
    """The proof: ``torch.load(weights_only=False)`` runs the payload of every pickle it reads
    before the broken tail stops it (in a throwaway subprocess, with its own markers)."""
    markers = tmp_path / "ran"
    markers.mkdir()
    path = legacy_every_pickle(tmp_path / f"{tail}.pt", markers, tail)
    done = bounded_python(_TORCH_LOAD, str(path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert {p.name for p in markers.iterdir()} == set(LEGACY_TAILS[tail][1])


def test_corpus_through_the_cli(tmp_path: Path, marker: Path) -> None:
    """``list --json`` shows every hostile file as one entry with its issues; ``show`` too."""
    root = tmp_path / "outputs"
    root.mkdir()
    for name, (build, _danger) in CASES.items():
        zip_checkpoint(root / f"{name}.ckpt", build(marker))
    entries, _stderr = list_json(root)
    shown = by_path(entries)
    assert set(shown) == {f"{name}.ckpt" for name in CASES}
    for name, (_build, danger) in CASES.items():
        codes = issue_codes(shown[f"{name}.ckpt"])
        assert (SECURITY in codes) == (danger is not None), (name, codes)
        assert shown[f"{name}.ckpt"]["safety"] != "safe", name
    done = run_cli("show", root / "getattr_nested_chain.ckpt", "--json", "--no-cache")
    assert done.returncode == 1, done.stderr[-2000:]  # the SECURITY error is an error
    data = json.loads(done.stdout)
    security = [issue for issue in data["issues"] if issue["code"] == SECURITY]
    assert security[0]["severity"] == "error"
    assert "os.path.os.system" in security[0]["message"]  # where the getattr chain leads
    assert "builtins.getattr" in data["details"]["unsafe_globals"]
