"""A remote checkpoint costs a few ranged requests, whatever its size; what is read is what the
local file says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from remote_helpers import BIG_BUCKET, RequestCounter

from ckpt_tui.io.remote_tree import mounted, sync_index
from ckpt_tui.io.storage import RemoteObjectSource
from ckpt_tui.io.stores import open_filesystem
from ckpt_tui.reader import inspect_checkpoint

BIG_KEY = "run/checkpoints/big.ckpt"
REQUEST_BUDGET = 4
BYTE_BUDGET = 1024 * 1024


def _source(url: str, size: int) -> tuple[RemoteObjectSource, Any]:
    fs, path = open_filesystem(url)
    info = fs.info(path)
    return RemoteObjectSource(fs, path, size, str(info.get("ETag", "")), url), fs


def test_big_checkpoint_within_budget(s3_env: str, big_checkpoint: Path) -> None:
    url = f"s3://{BIG_BUCKET}/{BIG_KEY}"
    size = big_checkpoint.stat().st_size
    assert size > 100_000_000
    source, fs = _source(url, size)
    counter = RequestCounter()
    counter.attach(fs)

    remote = inspect_checkpoint(source)

    assert remote.safety == "safe" and not remote.issues
    assert counter.gets[BIG_KEY] <= REQUEST_BUDGET
    assert counter.bytes_asked[BIG_KEY] <= BYTE_BUDGET
    assert source.requests == counter.gets[BIG_KEY]
    assert source.bytes_fetched <= BYTE_BUDGET
    assert not counter.other  # no HEAD, no listing: size and ETag came with the caller
    print(f"{size} bytes read with {source.requests} requests, {source.bytes_fetched} bytes")


def test_remote_inspection_equals_local(s3_env: str, big_checkpoint: Path) -> None:
    url = f"s3://{BIG_BUCKET}/{BIG_KEY}"
    source, _fs = _source(url, big_checkpoint.stat().st_size)
    remote = inspect_checkpoint(source)
    local = inspect_checkpoint(big_checkpoint)
    assert remote.safety == local.safety == "safe"
    assert remote.issues == local.issues == []
    assert remote.epoch == local.epoch == 7
    assert remote.global_step == local.global_step == 1234
    assert remote.parameter_count == local.parameter_count
    assert remote.checkpoint_callbacks == local.checkpoint_callbacks
    assert remote.checkpoint_callbacks[0].best_model_score == 0.875


def test_catalog_reads_only_ranges(s3_env: str, big_checkpoint: Path, tmp_path: Path) -> None:
    """Through the whole catalog build (index, mount, the tiers), the budget holds too."""
    from ckpt_tui.catalog.api import build_catalog

    url = f"s3://{BIG_BUCKET}/run"
    fs, _ = open_filesystem(url)
    counter = RequestCounter()
    counter.attach(fs)
    tree = sync_index(url, {}, str(tmp_path / "index"), fs=fs)
    with mounted(tree):
        catalog = build_catalog(tree.local_root, use_cache=False)
    (entry,) = catalog.entries
    assert entry.checkpoint_path == "checkpoints/big.ckpt"
    assert entry.size_bytes == big_checkpoint.stat().st_size
    assert entry.epoch == 7 and entry.safety == "safe"
    assert entry.monitor_value == 0.875
    assert counter.gets[BIG_KEY] <= REQUEST_BUDGET
    assert counter.bytes_asked[BIG_KEY] <= BYTE_BUDGET
    assert counter.other == {"GET list": 1}  # one listing page; no HEAD of any object


def test_requests_per_object_are_capped(s3_env: str, big_checkpoint: Path) -> None:
    """Scattered reads (a hostile file's thousand scalar values) stop at the cap: short reads,
    never one request each."""
    from ckpt_tui.io.storage import MAX_REQUESTS

    size = big_checkpoint.stat().st_size
    source, _fs = _source(f"s3://{BIG_BUCKET}/{BIG_KEY}", size)
    step = size // (MAX_REQUESTS * 2)
    answers = [source.read_at(i * step, 8) for i in range(MAX_REQUESTS * 2)]
    assert source.requests == MAX_REQUESTS
    assert all(len(a) == 8 for a in answers[:MAX_REQUESTS])
    assert all(a == b"" for a in answers[MAX_REQUESTS:])
