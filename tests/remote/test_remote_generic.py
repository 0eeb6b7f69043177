"""Any fsspec store works, not only S3: fsspec's in-memory store (no ETag, no list pages, no
conditional create) through the generic path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ckpt_tui.cli import main


def _upload(root: Path, url: str) -> None:
    import fsspec

    fs, base = fsspec.core.url_to_fs(url)
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            fs.pipe_file(f"{base}/{path.relative_to(root).as_posix()}", path.read_bytes())


def test_memory_store_lists_like_local(demo_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "memory://generic-demo/runs"
    _upload(demo_tree, url)
    assert main(["list", url, "--json"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert main(["list", str(demo_tree), "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    keep = ("checkpoint_path", "epoch", "global_step", "hmean", "architecture", "safety", "source")
    assert [{k: e[k] for k in keep} for e in remote] == [{k: e[k] for k in keep} for e in local]


def test_memory_store_convert_check_then_put(
    demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fsspec

    url = "memory://generic-convert/runs"
    _upload(demo_tree, url)
    fs, base = fsspec.core.url_to_fs(url)
    before = {p: fs.info(p)["size"] for p in fs.find(base)}
    main(["convert", url])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    after = {p: fs.info(p)["size"] for p in fs.find(base)}
    created = set(after) - set(before)
    assert created and all(p.endswith(".metadata.yaml") for p in created)
    assert {p: after[p] for p in before} == before
