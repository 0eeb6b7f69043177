"""Conversion never turns ``unsafe`` into anything else: the plan records each verdict, unsafe
checkpoints are skipped unless forced, and a forced sidecar hides nothing once the file is read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from payloads import MarkerPayload

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.convert.plan import plan_conversion


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    import torch

    run = tmp_path / "outputs" / "dbnet_run" / "checkpoints"
    run.mkdir(parents=True)
    lightning = {
        "epoch": 3,
        "global_step": 40,
        "pytorch-lightning_version": "2.6.6",
        "state_dict": {"model.w": torch.zeros(2, 2)},
    }
    torch.save(lightning, run / "good.ckpt")
    torch.save({**lightning, "hook": MarkerPayload(tmp_path / "marker")}, run / "bad.ckpt")
    return tmp_path / "outputs"


def ckpt_tui(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ckpt_tui", *args], capture_output=True, timeout=120
    )


def test_the_plan_records_the_verdict_and_skips_unsafe(tree: Path) -> None:
    entries = build_catalog(tree, use_cache=False).entries
    items = {Path(item.entry.checkpoint_path).name: item for item in plan_conversion(entries).items}
    assert items["good.ckpt"].safety == "safe" and items["good.ckpt"].action == "write"
    bad = items["bad.ckpt"]
    assert bad.safety == "unsafe" and bad.action == "skip"
    assert bad.reason == "unsafe: would run code when loaded"
    assert any("system" in name for name in bad.unsafe_globals)
    forced = {
        Path(i.entry.checkpoint_path).name: i for i in plan_conversion(entries, force=True).items
    }
    assert forced["bad.ckpt"].action == "write" and forced["bad.ckpt"].safety == "unsafe"


def test_an_unchecked_entry_is_read_before_it_is_planned(tree: Path) -> None:
    entries = build_catalog(tree, use_cache=False).entries
    unchecked = [e for e in entries if e.checkpoint_path.endswith("bad.ckpt")]
    unchecked[0].safety, unchecked[0].unsafe_globals = "unchecked", []
    (item,) = plan_conversion(unchecked).items
    assert item.safety == "unsafe" and item.action == "skip"


def test_round_trip_convert_list_verify_and_filter(tree: Path) -> None:
    marker = tree.parent / "marker"
    bad = tree / "dbnet_run" / "checkpoints" / "bad.ckpt"
    done = ckpt_tui("convert", str(tree))
    assert done.returncode == 0, done.stderr
    assert "unsafe: would run code when loaded" in done.stdout.decode()
    assert not bad.with_name("bad.metadata.yaml").exists()
    assert bad.with_name("good.metadata.yaml").exists()
    report = json.loads(ckpt_tui("convert", str(tree), "--force", "--json").stdout)
    (forced,) = [r for r in report["items"] if r["checkpoint_path"].endswith("bad.ckpt")]
    assert forced["outcome"] == "written" and forced["safety"] == "unsafe"
    assert bad.with_name("bad.metadata.yaml").exists()

    def listed(*args: str) -> dict[str, dict[str, object]]:
        done = ckpt_tui("list", str(tree), "--json", *args)
        assert done.returncode == 0, done.stderr
        return {
            item["checkpoint_path"].rsplit("/", 1)[-1]: item for item in json.loads(done.stdout)
        }

    plain = listed("--no-cache")
    assert plain["bad.ckpt"]["source"] == "sidecar"
    assert plain["bad.ckpt"]["safety"] == "unchecked"  # described, not read
    verified = listed("--verify")
    assert verified["bad.ckpt"]["safety"] == "unsafe"
    assert verified["good.ckpt"]["safety"] == "safe"
    assert list(listed("--verify", "--filter", "has:security")) == ["bad.ckpt"]
    assert list(listed("--filter", "safety:unsafe")) == ["bad.ckpt"]  # remembered by the cache
    assert not marker.exists()
