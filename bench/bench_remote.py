"""Remote catalog benchmark: a bucket of Lightning checkpoints on a real S3 API, cold and warm.

    .venv/bin/python bench/bench_remote.py [--quick] [--count 200] [--repeat 3]

A moto S3 server is started on 127.0.0.1 (a free port) and stopped at the end. The bucket holds
``--count`` Lightning-format checkpoints (written by ``torch.save``: a state dict of 64 tensors,
the ModelCheckpoint state with tensor scores, hyper-parameters) in runs of 20, without sidecars,
so every checkpoint is read by the checkpoint tier; plus the reader benchmark's 307 MB
ResNet-50 + Adam Lightning checkpoint on its own.

- cold: empty index and cache: the listing, then each checkpoint read with ranged requests;
- warm: the same bucket again with the index and the persistent cache of the cold run (the
  in-process layer cleared, as in a new process): the listing only.

Prints medians (wall time), requests (counted on the wire with botocore's ``before-send``
event), and bytes transferred against the checkpoints' total size.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUCKET = "bench-remote"
RUN_SIZE = 20


class WireCounter:
    """GET requests and bytes asked, per key, as botocore sends them."""

    def __init__(self) -> None:
        self.gets: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.lists = 0
        self._lock = threading.Lock()

    def attach(self, fs: Any) -> None:
        fs.s3.meta.events.register("before-send.s3", self._on_send)

    def _on_send(self, request: Any, **_kwargs: Any) -> None:
        url = str(request.url)
        with self._lock:
            if "list-type" in url:
                self.lists += 1
                return
            key = url.split("?", 1)[0].split("/", 4)[-1]
            self.gets[key] += 1
            ranged = request.headers.get("Range")
            if ranged:
                first, _, last = ranged.decode().removeprefix("bytes=").partition("-")
                self.bytes[key] += int(last) - int(first) + 1


def _checkpoint_bytes(folder: Path) -> bytes:
    import torch

    state = {
        "epoch": 12,
        "global_step": 4800,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": {f"layer{i}.weight": torch.zeros(4096) for i in range(64)},
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val/hmean', 'mode': 'max'}": {
                "monitor": "val/hmean",
                "best_model_score": torch.tensor(0.81),
                "current_score": torch.tensor(0.79),
                "kth_value": torch.tensor(0.7),
                "best_model_path": "/ckpt/run/checkpoints/best.ckpt",
                "dirpath": "/ckpt/run/checkpoints",
            }
        },
        "hyper_parameters": {"exp_name": "bench", "model": {"architecture": "dbnet"}},
    }
    path = folder / "one.ckpt"
    torch.save(state, path)
    return path.read_bytes()


def _big_checkpoint(folder: Path) -> Path:
    """The reader benchmark's 307 MB checkpoint: ResNet-50 weights and Adam state, Lightning keys
    and a ModelCheckpoint state with tensor scores (written by torch.save)."""
    import subprocess

    from bench_reader import _WRITER

    out = folder / "resnet50"
    out.mkdir()
    subprocess.run([sys.executable, "-c", _WRITER, str(out), "1"], check=True)
    return out / "epoch=0.ckpt"


def _catalog(url: str, index: str, counter: WireCounter) -> tuple[float, int]:
    from ckpt_tui.catalog import cache
    from ckpt_tui.catalog.api import build_catalog
    from ckpt_tui.io.remote_tree import mounted, sync_index
    from ckpt_tui.io.stores import open_filesystem

    cache.clear_memory()  # as a new process would start
    started = time.perf_counter()
    fs, _ = open_filesystem(url)
    counter.attach(fs)
    tree = sync_index(url, {}, index, fs=fs)
    with mounted(tree):
        catalog = build_catalog(tree.local_root)
    elapsed = time.perf_counter() - started
    assert all(e.epoch == 12 for e in catalog.entries), "a checkpoint was not read"
    return elapsed, len(catalog.entries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 checkpoints, 1 repeat")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    count, repeat = (40, 1) if args.quick else (args.count, args.repeat)

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=endpoint,
        )
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory(prefix="bench-remote-") as scratch:
            folder = Path(scratch)
            data = _checkpoint_bytes(folder)
            for i in range(count):
                key = f"catalog/run{i // RUN_SIZE}/checkpoints/epoch={i}-step={i * 100}.ckpt"
                s3.put_object(Bucket=BUCKET, Key=key, Body=data)
            big = None if args.quick else _big_checkpoint(folder)
            if big is not None:
                s3.upload_file(str(big), BUCKET, "big/checkpoints/big.ckpt")
            _report(folder, count, len(data), repeat, big)
    finally:
        server.stop()
    return 0


def _report(folder: Path, count: int, each: int, repeat: int, big: Path | None) -> None:
    url = f"s3://{BUCKET}/catalog"
    cold_times: list[float] = []
    warm_times: list[float] = []
    cold_counter = warm_counter = WireCounter()
    for attempt in range(repeat):
        os.environ["CKPT_TUI_CACHE_DIR"] = str(folder / f"cache{attempt}")
        index = str(folder / f"index{attempt}")
        cold_counter = WireCounter()
        elapsed, found = _catalog(url, index, cold_counter)
        assert found == count
        cold_times.append(elapsed)
        warm_counter = WireCounter()
        warm_times.append(_catalog(url, index, warm_counter)[0])
    total = count * each
    cold_gets = sum(cold_counter.gets.values())
    cold_bytes = sum(cold_counter.bytes.values())
    print(
        f"{count} checkpoints of {each / 1e6:.2f} MB ({total / 1e6:.0f} MB in all), moto S3 "
        f"on 127.0.0.1, {repeat} repeat(s), medians\n"
    )
    print(
        "| build | wall (median) | GET requests | per checkpoint | bytes transferred | "
        "of the total |"
    )
    print("|---|---|---|---|---|---|")
    for name, times, counter in (
        ("cold", cold_times, cold_counter),
        ("warm", warm_times, warm_counter),
    ):
        gets = sum(counter.gets.values())
        sent = sum(counter.bytes.values())
        print(
            f"| {name} | {statistics.median(times):.2f} s | {gets} (+{counter.lists} list) | "
            f"{gets / count:.2f} | {sent / 1e6:.2f} MB | {sent / total:.2%} |"
        )
    print(
        f"\ncold/warm ratio: {statistics.median(cold_times) / statistics.median(warm_times):.1f}x;"
        f" cold: {cold_gets / count:.2f} requests and {cold_bytes / count / 1024:.0f} KiB per "
        "checkpoint"
    )
    if big is not None:
        from ckpt_tui.io.storage import RemoteObjectSource
        from ckpt_tui.io.stores import open_filesystem
        from ckpt_tui.reader import inspect_checkpoint

        size = big.stat().st_size
        fs, path = open_filesystem(f"s3://{BUCKET}/big/checkpoints/big.ckpt")
        counter = WireCounter()
        counter.attach(fs)
        source = RemoteObjectSource(fs, path, size, "", f"s3://{path}")
        started = time.perf_counter()
        result = inspect_checkpoint(source)
        elapsed = time.perf_counter() - started
        assert result.safety == "safe", result.issues
        gets = sum(counter.gets.values())
        sent = sum(counter.bytes.values())
        print(
            f"\none {size / 1e6:.0f} MB ResNet-50 + Adam checkpoint: {gets} requests, "
            f"{sent / 1024:.0f} KiB "
            f"({sent / size:.4%} of the file), {elapsed * 1000:.0f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
