"""``list`` over the demo tree: every checkpoint, the right source, provenance and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ckpt_tui.catalog.api import build_catalog


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from ckpt_tui.demo import write_demo_tree

    return write_demo_tree(tmp_path_factory.mktemp("demo"))


def rel(summary: Any, path: Path) -> str:
    return path.relative_to(summary.root).as_posix()


def test_list_json_reports_every_demo_checkpoint(demo: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "list", str(demo.root), "--json"],
        capture_output=True,
        timeout=300,
        env=dict(os.environ),
        check=True,
    )
    data = {item["checkpoint_path"]: item for item in json.loads(done.stdout)}
    assert sorted(data) == sorted(rel(demo, path) for path in demo.checkpoints)
    sidecar_backed = {rel(demo, path) for path in demo.with_sidecar}
    for path, item in data.items():
        assert item["provenance"], path
        assert item["exp_name"], path
        if item["source"] == "sidecar":
            assert path in sidecar_backed
            assert item["provenance"]["epoch"] == "sidecar training.epoch"
            assert item["sidecar_path"] is not None
        else:
            assert item["source"] in ("config", "path", "checkpoint")
        for field, where in item["provenance"].items():
            assert item.get(field, "not-a-json-field") is not None, (path, field, where)
    for path in demo.broken:
        item = data[rel(demo, path)]
        codes = {(i["severity"], i["code"]) for i in item["issues"]}
        assert any(severity == "error" for severity, _ in codes), (path, codes)
        if path.stat().st_size == 0:
            assert ("error", "checkpoint.empty") in codes
    for path, item in data.items():
        if (demo.root / path) not in demo.broken:
            assert not any(i["severity"] == "error" for i in item["issues"]), (path, item["issues"])


def test_demo_build_is_stable_and_cached(demo: Any) -> None:
    first = build_catalog(demo.root)
    second = build_catalog(demo.root)
    assert [e.to_json() for e in first.entries] == [e.to_json() for e in second.entries]
    by_path = {e.checkpoint_path: e for e in first.entries}
    for link in demo.links:
        entry = by_path[rel(demo, link)]
        assert entry.size_bytes == link.stat().st_size  # the target's size
    assert first.scan_issues == []
