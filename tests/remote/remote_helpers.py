"""Helpers of the remote tests: uploads, a big Lightning-format checkpoint, request counting."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ACCESS_KEY = "testing-key"
SECRET_KEY = "testing-secret"
REGION = "us-east-1"
DEMO_BUCKET = "ckpt-demo"
BIG_BUCKET = "ckpt-big"


def upload_tree(s3: Any, root: Path, bucket: str, prefix: str) -> int:
    """Upload every file under ``root`` to ``bucket`` under ``prefix``; returns the count.

    Of two sidecars of one checkpoint (``best.metadata.yaml``, ``best.ckpt.metadata.yaml``), the
    newer is uploaded last, over a second after the rest: the store's modification time (whole
    seconds) then tells them apart as the local files' times do, and the newer still wins.
    """
    paths = [Path(folder) / name for folder, _dirs, files in os.walk(root) for name in files]
    late = {_newer_twin(path) for path in paths if _twin(path).exists()}
    for batch in ([p for p in paths if p not in late], sorted(late)):
        if batch and batch[0] in late:
            time.sleep(1.1)
        for path in batch:
            s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")
    return len(paths)


_SIDECAR = ".metadata.yaml"


def _twin(path: Path) -> Path:
    """``a.metadata.yaml`` for ``a.ckpt.metadata.yaml`` (a path that never exists otherwise)."""
    if not path.name.endswith(_SIDECAR):
        return path.parent / "\0"
    stem = path.name[: -len(_SIDECAR)]
    base, dot, _suffix = stem.rpartition(".")
    return path.with_name(base + _SIDECAR) if dot and base else path.parent / "\0"


def _newer_twin(path: Path) -> Path:
    twin = _twin(path)
    return path if path.stat().st_mtime_ns >= twin.stat().st_mtime_ns else twin


def write_big_checkpoint(path: Path, size: int) -> None:
    """A Lightning-format checkpoint of about ``size`` bytes: one big zero tensor, the usual
    Lightning keys and a ModelCheckpoint state whose scores are tensors (read from the file)."""
    import torch

    state = {
        "epoch": 7,
        "global_step": 1234,
        "pytorch-lightning_version": "2.4.0",
        "state_dict": {
            "encoder.weight": torch.zeros(size // 4),
            "head.bias": torch.ones(3),
        },
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val/hmean', 'mode': 'max'}": {
                "monitor": "val/hmean",
                "best_model_score": torch.tensor(0.875),
                "best_model_path": "/ckpt/run/checkpoints/big.ckpt",
                "current_score": torch.tensor(0.875),
                "kth_value": torch.tensor(0.5),
                "dirpath": "/ckpt/run/checkpoints",
            }
        },
        "hyper_parameters": {"exp_name": "big_run", "model": {"architecture": "dbnet"}},
    }
    torch.save(state, path)


class RequestCounter:
    """Counts the HTTP requests an s3fs filesystem sends (botocore's ``before-send`` event):
    GETs of objects by key (with the bytes asked) and every other operation by name."""

    def __init__(self) -> None:
        self.gets: Counter[str] = Counter()
        self.bytes_asked: Counter[str] = Counter()
        self.other: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, fs: Any) -> None:
        """Count what ``fs`` (an ``S3FileSystem`` whose client exists) sends from now on."""
        fs.s3.meta.events.register("before-send.s3", self._on_send)

    def _on_send(self, request: Any, **_kwargs: Any) -> None:
        method = request.method
        url = str(request.url).split("?", 1)[0]
        key = url.split("/", 4)[-1] if url.count("/") >= 4 else url
        ranged = request.headers.get("Range")
        with self._lock:
            if method == "GET" and "list-type" not in str(request.url):
                self.gets[key] += 1
                if ranged:
                    first, _, last = ranged.decode().removeprefix("bytes=").partition("-")
                    self.bytes_asked[key] += int(last) - int(first) + 1
            else:
                self.other[f"{method} {'list' if 'list-type' in str(request.url) else key}"] += 1
