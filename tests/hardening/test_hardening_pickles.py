"""Pickle routes to code execution beyond ``tests/reader``: dotted names, nested getattr chains,
memo tricks, BUILD slot state, NEWOBJ_EX keyword arguments, torch's rebuild functions fed
hostile arguments, and look-alikes of their names. Nothing runs; every payload that names a
dangerous callable is reported; the CLI lists every file with its issues."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hardening_helpers import bounded_python, by_path, issue_codes, list_json, run_cli
from hardening_pickles import CASES, LIVE, ZIP_ONLY
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
        assert danger in result.dangerous_globals, result.issues
        assert SECURITY in codes
    else:
        # A look-alike is an unknown (inert) name, or a name the reader refuses outright.
        assert result.dangerous_globals == []
        assert SECURITY not in codes
        if result.has_errors:
            assert "checkpoint.pickle-invalid" in codes
        else:
            assert result.epoch == 3
            assert "__class__" in str(result.hyper_parameters)


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
    done = run_cli("show", root / "getattr_nested_chain.ckpt", "--json", "--no-cache")
    assert done.returncode == 0, done.stderr[-2000:]  # a warning, not an error: it still reads
    data = json.loads(done.stdout)
    assert SECURITY in [issue["code"] for issue in data["issues"]]
    assert "os.path.os.system" in data["details"]["dangerous_globals"]
