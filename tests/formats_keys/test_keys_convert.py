"""Converting the writers' corpus changes where values come from, never what they are."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from keys_corpus import Corpus

COMPARED = (
    "architecture", "backbone", "epoch", "global_step", "monitor", "monitor_mode",
    "monitor_value", "safety", "created_at", "exp_name",
)  # fmt: skip


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *args], capture_output=True, text=True, timeout=180
    )


def listed(root: Path) -> dict[str, dict[str, Any]]:
    done = cli("list", str(root), "--json", "--no-cache")
    assert done.returncode in (0, 1), done.stderr
    return {e["checkpoint_path"]: e for e in json.loads(done.stdout)}


def test_convert_keeps_every_value(keys_corpus: Corpus, tmp_path: Path) -> None:
    root = tmp_path / "outputs"
    shutil.copytree(keys_corpus.root, root, symlinks=True)
    before = listed(root)
    done = cli("convert", str(root), "--json", "--no-cache")
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    # The sidecar schema needs an epoch and a global_step: files that record none (the ImageNet
    # example, timm, an iteration-based mmcv save) cannot have one, and say so.
    converted = {i["checkpoint_path"] for i in report["items"] if i["outcome"] == "written"}
    for item in report["items"]:
        if item["checkpoint_path"] not in converted:
            assert "no source knows the" in (item["reason"] or ""), item
    held = {p for p, e in before.items() if None not in (e["epoch"], e["global_step"])}
    assert held == converted
    after = listed(root)
    for path in converted:
        entry = before[path]
        assert after[path]["source"] == "sidecar", path
        for name in COMPARED:
            expected = entry[name]
            if name == "safety":
                expected = "unchecked"  # a sidecar answered: the file is not read until verified
            assert after[path][name] == expected, (path, name, entry[name], after[path][name])
