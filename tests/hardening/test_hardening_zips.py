"""Zip containers beyond ``tests/reader``: duplicate and overlapping members, a second directory
hidden in the comment, truncated directories, lying sizes, a bomb at the limit, traversal names.

Each is one entry with a precise error (or reads, when it is harmless), in bounded time, memory
and bytes read; nothing is ever extracted; torch agrees on what the file holds."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hardening_helpers import by_path, issue_codes, list_json
from hardening_zips import ZIP_CASES

from ckpt_tui.reader import inspect_checkpoint
from ckpt_tui.reader.unpickle.machine import DEFAULT_LIMITS


@pytest.mark.parametrize("name", sorted(ZIP_CASES))
def test_zip_case(name: str, tmp_path: Path) -> None:
    build, code = ZIP_CASES[name]
    before = set(os.listdir(tmp_path))
    path = build(tmp_path / f"{name}.ckpt")
    started = time.monotonic()
    result = inspect_checkpoint(path)
    assert time.monotonic() - started < 10, "inspection did not finish in bounded time"
    assert result.bytes_read <= DEFAULT_LIMITS.max_bytes + 1024 * 1024
    codes = [issue.code for issue in result.issues]
    if code is None:
        assert not result.has_errors, result.issues
        assert result.epoch == 1
    else:
        assert result.has_errors and code in codes, result.issues
        assert result.issues[0].severity == "error"
    assert set(os.listdir(tmp_path)) == before | {path.name}  # nothing extracted anywhere
    assert not Path("/etc/ckpt-tui-evil").exists()


_TORCH_READS = """
import json, sys, warnings
warnings.simplefilter("ignore")
import torch
out = {}
for name in sys.argv[1:]:
    try:
        out[name] = torch.load(name, weights_only=True).get("epoch")
    except Exception as exc:
        out[name] = None
print(json.dumps(out))
"""


def test_torch_disagrees_wherever_we_refuse(tmp_path: Path) -> None:
    """Where two readings of a file are possible, torch reads the other one (or refuses): that
    is why the reader refuses the file instead of showing its own reading."""
    import json
    import subprocess
    import sys

    names = ["duplicate_data_pkl", "directory_hidden_in_comment", "two_archive_folders"]
    paths = [str(ZIP_CASES[name][0](tmp_path / f"{name}.ckpt")) for name in names]
    done = subprocess.run(
        [sys.executable, "-c", _TORCH_READS, *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    epochs = json.loads(done.stdout)
    # The first copy says epoch 1 (what a naive reader shows); torch reads epoch 2 or refuses.
    assert epochs[paths[1]] == 2
    assert epochs[paths[2]] is None
    assert epochs[paths[0]] in (1, 2)  # either copy, depending on miniz's sorted lookup


def test_cli_lists_every_broken_zip(tmp_path: Path) -> None:
    root = tmp_path / "outputs"
    root.mkdir()
    for name, (build, _code) in ZIP_CASES.items():
        build(root / f"{name}.ckpt")
    entries, _stderr = list_json(root)
    shown = by_path(entries)
    assert set(shown) == {f"{name}.ckpt" for name in ZIP_CASES}
    for name, (_build, code) in ZIP_CASES.items():
        codes = issue_codes(shown[f"{name}.ckpt"])
        assert (code in codes) if code else "checkpoint.zip-invalid" not in codes, (name, codes)
