"""Every format and folder checkpoint lists the same from a bucket as from its local copy:
Trainer ``checkpoint-N/`` folders, sharded saves, DCP, DeepSpeed, code archives, legacy files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from remote_helpers import upload_tree

from ckpt_tui.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "formats"))
BUCKET = "ckpt-formats"


@pytest.fixture(scope="module")
def formats_copy(tmp_path_factory: pytest.TempPathFactory, s3: Any) -> Path:
    """The formats tests' tree (written by the real libraries), uploaded under ``outputs/``."""
    from formats_writers import write_formats_tree

    root = write_formats_tree(tmp_path_factory.mktemp("formats") / "outputs")
    s3.create_bucket(Bucket=BUCKET)
    upload_tree(s3, root, BUCKET, "outputs")
    return root


def test_formats_list_like_local(
    s3_env: str, formats_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", f"s3://{BUCKET}/outputs", "--json"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert main(["list", str(formats_copy), "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    keep = (
        "checkpoint_path", "format", "epoch", "global_step", "architecture", "hmean", "safety",
        "unsafe_globals", "source", "size_bytes", "sidecar_path", "config_path",
    )  # fmt: skip
    assert len(remote) == len(local) >= 8
    assert [{k: e.get(k) for k in keep} for e in remote] == [
        {k: e.get(k) for k in keep} for e in local
    ]
    formats = {e["format"] for e in remote}
    assert len(formats) >= 4, formats  # folders, archives and files alike


def test_a_dcp_object_that_runs_code_is_named_from_a_bucket_too(
    s3_env: str, s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import warnings

    import torch
    import torch.distributed.checkpoint as dcp
    from payloads import MarkerPayload

    marker = tmp_path / "marker"
    folder = tmp_path / "outputs" / "run" / "checkpoints" / "step_3"
    state = {"model": torch.nn.Linear(4, 3).state_dict(), "epoch": 3, "hook": MarkerPayload(marker)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DCP's notice that no process group is running
        dcp.save(state, checkpoint_id=str(folder))
    s3.create_bucket(Bucket="ckpt-dcp-objects")
    upload_tree(s3, tmp_path / "outputs", "ckpt-dcp-objects", "outputs")
    assert main(["list", "s3://ckpt-dcp-objects/outputs", "--json", "--no-cache"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["checkpoint_path"] == "run/checkpoints/step_3"
    assert entry["safety"] == "unsafe" and entry["unsafe_globals"] == ["os.system"]
    assert entry["epoch"] == 3
    assert not marker.exists()
