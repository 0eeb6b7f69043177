"""A real S3 API on loopback (moto's server), real checkpoints uploaded with boto3.

The server is started once per session on 127.0.0.1 (a free port) and stopped at the end. Each
test gets the AWS variables pointing at it (``AWS_ENDPOINT_URL`` included), as a user would set
them; nothing stands in for s3fs, botocore or the reader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from remote_helpers import (
    ACCESS_KEY,
    BIG_BUCKET,
    DEMO_BUCKET,
    REGION,
    SECRET_KEY,
    upload_tree,
    write_big_checkpoint,
)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto S3 server, stopped after the session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str) -> Any:
    """A boto3 client of the test server (explicit settings: no environment needed)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )


@pytest.fixture(scope="session")
def s3(moto_endpoint: str) -> Any:
    """A boto3 S3 client of the test server."""
    return s3_client(moto_endpoint)


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The AWS variables of the test server, set for this test; returns the endpoint."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    return moto_endpoint


@pytest.fixture(scope="session")
def demo_tree(tmp_path_factory: pytest.TempPathFactory, s3: Any) -> Path:
    """The demo tree (real torch checkpoints, sidecars, Hydra configs), also uploaded to
    ``s3://<DEMO_BUCKET>/runs/``."""
    from ckpt_tui.demo import write_demo_tree

    root = tmp_path_factory.mktemp("demo") / "outputs"
    write_demo_tree(root)
    s3.create_bucket(Bucket=DEMO_BUCKET)
    upload_tree(s3, root, DEMO_BUCKET, "runs")
    return root


@pytest.fixture(scope="session")
def big_checkpoint(tmp_path_factory: pytest.TempPathFactory, s3: Any) -> Path:
    """A ~100 MB Lightning-format checkpoint (written by torch.save), uploaded as
    ``s3://<BIG_BUCKET>/run/checkpoints/big.ckpt``."""
    path = tmp_path_factory.mktemp("big") / "big.ckpt"
    write_big_checkpoint(path, 100 * 1024 * 1024)
    s3.create_bucket(Bucket=BIG_BUCKET)
    s3.upload_file(str(path), BIG_BUCKET, "run/checkpoints/big.ckpt")
    return path
