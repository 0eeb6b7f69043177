"""A bucket lists like its local copy; a warm catalog of an unchanged bucket reads nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from remote_helpers import DEMO_BUCKET, RequestCounter

from ckpt_tui.cli import main
from ckpt_tui.io.remote_tree import mounted, sync_index
from ckpt_tui.io.stores import open_filesystem

ROOT_URL = f"s3://{DEMO_BUCKET}/runs"
# Values that come from the file's date: the upload's date in the bucket, the copy's locally.
DATED = {"created_at", "display_name", "abs_path"}


def _list_json(capsys: pytest.CaptureFixture[str], root: str, *extra: str) -> list[dict[str, Any]]:
    code = main(["list", root, "--json", *extra])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def _comparable(entry: dict[str, Any]) -> dict[str, Any]:
    provenance = {k: v for k, v in entry["provenance"].items() if k != "created_at"}
    return {**{k: v for k, v in entry.items() if k not in DATED}, "provenance": provenance}


def test_bucket_lists_like_local_copy(
    s3_env: str, demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = _list_json(capsys, ROOT_URL)
    local = _list_json(capsys, str(demo_tree))
    assert len(remote) == len(local) > 40
    assert [e["checkpoint_path"] for e in remote] == [e["checkpoint_path"] for e in local]
    for mine, theirs in zip(remote, local, strict=True):
        assert _comparable(mine) == _comparable(theirs), mine["checkpoint_path"]
    sources = {e["source"] for e in remote}
    assert {"sidecar", "config"} <= sources  # sidecars and configs were read from the bucket


def test_warm_catalog_makes_no_reads(s3_env: str, demo_tree: Path, tmp_path: Path) -> None:
    from ckpt_tui.catalog.api import build_catalog

    index = str(tmp_path / "index")

    def build(counter: RequestCounter) -> list[Any]:
        fs, _ = open_filesystem(ROOT_URL)
        counter.attach(fs)
        tree = sync_index(ROOT_URL, {}, index, fs=fs)
        with mounted(tree):
            return build_catalog(tree.local_root).entries

    cold_counter, warm_counter = RequestCounter(), RequestCounter()
    cold = build(cold_counter)
    warm = build(warm_counter)

    checkpoints = {e.checkpoint_path for e in cold}
    read_cold = [key for key in cold_counter.gets if key.endswith(".ckpt")]
    assert len(read_cold) >= 20  # the cold build read the checkpoints without a sidecar
    assert sum(cold_counter.gets.values()) > len(read_cold)  # and fetched sidecars, configs
    assert not warm_counter.gets  # warm: no ranged read, no fetch at all
    assert warm_counter.other == {"GET list": 1}  # the listing only
    assert {e.checkpoint_path for e in warm} == checkpoints
    assert [e.to_json() for e in warm] == [e.to_json() for e in cold]


def test_changed_object_is_read_again(
    s3_env: str, demo_tree: Path, tmp_path: Path, s3: Any
) -> None:
    """The cache knows an object by URL, size and ETag: a replaced object is read again."""
    from ckpt_tui.catalog.api import build_catalog

    url = f"s3://{DEMO_BUCKET}/changed"
    key = "changed/checkpoints/last.ckpt"
    original = next(demo_tree.rglob("last.ckpt"))
    s3.upload_file(str(original), DEMO_BUCKET, key)
    index = str(tmp_path / "index")

    def build() -> tuple[Any, RequestCounter]:
        counter = RequestCounter()
        fs, _ = open_filesystem(url)
        counter.attach(fs)
        tree = sync_index(url, {}, index, fs=fs)
        with mounted(tree):
            return build_catalog(tree.local_root).entries[0], counter

    first, _ = build()
    other = next(
        p for p in demo_tree.rglob("*.ckpt") if p.stat().st_size != original.stat().st_size
    )
    s3.upload_file(str(other), DEMO_BUCKET, key)
    second, counter = build()
    assert counter.gets[key] >= 1
    assert second.size_bytes == other.stat().st_size != first.size_bytes


def test_show_a_remote_checkpoint(
    s3_env: str, demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rel = "2025-10-05/08-03-44/checkpoints/last.ckpt"
    assert (demo_tree / rel).is_file()
    code = main(["show", f"{ROOT_URL}/{rel}", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    assert data["safety"] == "safe"
    assert data["details"]["state_dict"]
    local = main(["show", str(demo_tree / rel), "--json"])
    theirs = json.loads(capsys.readouterr().out)
    assert local == 0
    assert data["checkpoint_path"] == theirs["checkpoint_path"]
    assert data["epoch"] == theirs["epoch"] and data["hmean"] == theirs["hmean"]
    assert data["details"] == theirs["details"]


def test_validate_a_remote_root(
    s3_env: str, demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote_code = main(["validate", ROOT_URL])
    remote = capsys.readouterr().out
    local_code = main(["validate", str(demo_tree)])
    local = capsys.readouterr().out
    assert remote_code == local_code
    # Which of two sidecars is newer depends on dates (the upload's in the bucket): the rest
    # of the report is the same.
    assert remote.splitlines()[-1] == local.splitlines()[-1]
    assert len(remote.splitlines()) == len(local.splitlines())


def test_diff_of_two_remote_checkpoints(
    s3_env: str, demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = "2025-10-03/14-22-51/checkpoints/epoch=54-step=15015.ckpt"
    b = "2025-10-06/19-47-30/checkpoints/epoch-10_step-000309.ckpt"
    remote_code = main(["diff", f"{ROOT_URL}/{a}", f"{ROOT_URL}/{b}", "--json"])
    remote = json.loads(capsys.readouterr().out)
    local_code = main(["diff", str(demo_tree / a), str(demo_tree / b), "--json"])
    local = json.loads(capsys.readouterr().out)
    assert remote_code == local_code == 0
    assert remote["a"]["path"] == f"{ROOT_URL}/{a}" and remote["b"]["path"] == f"{ROOT_URL}/{b}"
    for side in ("a", "b"):
        for field in ("path", "display_name"):  # the URL; the upload's date
            remote[side].pop(field)
            local[side].pop(field)
    assert remote == local


def test_index_holds_only_what_the_store_holds(
    s3_env: str, demo_tree: Path, tmp_path: Path
) -> None:
    """A sidecar left in the index by an interrupted run (never created in the store) is gone
    at the next listing: the catalog never shows a sidecar the bucket does not have."""
    index = str(tmp_path / "index")
    tree = sync_index(ROOT_URL, {}, index)
    rel = "2025-10-03/14-22-51/checkpoints/epoch=54-step=15015.metadata.yaml"
    assert rel not in tree.objects
    stray = Path(tree.local_root, rel)
    stray.write_text("exp_name: not in the bucket\n")
    again = sync_index(ROOT_URL, {}, index)
    assert not stray.exists()
    assert set(again.objects) == set(tree.objects)
