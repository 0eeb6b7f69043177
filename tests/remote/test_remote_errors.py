"""Store failures are one clear message or one entry's error, never a traceback; hostile keys
and objects are counted and reported."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from remote_helpers import DEMO_BUCKET

from ckpt_tui.cli import main
from ckpt_tui.io.remote_tree import mounted, sync_index
from ckpt_tui.io.stores import StorageError, retrying

HOSTILE_BUCKET = "ckpt-hostile"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_missing_bucket(s3_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "list", "s3://no-such-bucket-here/runs")
    assert code == 2
    assert "no such bucket" in err


def test_no_credentials(
    s3_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to ask
    code, _out, err = _run(capsys, "list", f"s3://{DEMO_BUCKET}/runs")
    assert code == 2
    assert "no credentials" in err


def test_unreachable_endpoint(
    s3_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    code, _out, err = _run(
        capsys,
        "list",
        f"s3://{DEMO_BUCKET}/runs",
        "--storage-option",
        "config_kwargs.retries.max_attempts=1",
    )
    assert code == 2
    assert "cannot reach the store" in err


def test_bad_storage_option(s3_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "list", f"s3://{DEMO_BUCKET}/runs", "--storage-option", "oops")
    assert code == 2
    assert "key=value" in err


def test_throttling_is_retried_then_reported() -> None:
    from botocore.exceptions import ClientError

    calls: list[int] = []

    def throttled_twice() -> str:
        calls.append(1)
        if len(calls) <= 2:
            error = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}
            raise ClientError(error, "GetObject")
        return "done"

    assert retrying(throttled_twice, "s3://b/k") == "done"
    assert len(calls) == 3

    def always_throttled() -> str:
        calls.append(1)
        error = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}
        raise ClientError(error, "GetObject")

    calls.clear()
    with pytest.raises(StorageError) as caught:
        retrying(always_throttled, "s3://b/k", attempts=3)
    assert caught.value.code == "storage.throttled"
    assert len(calls) == 3  # bounded


def _hostile_bucket(s3: Any, demo_tree: Path) -> dict[str, bytes]:
    real = next(demo_tree.rglob("last.ckpt")).read_bytes()
    objects = {
        "h/run/../escape.ckpt": real,
        "h/run//double.ckpt": real,
        "h/run/./dot.ckpt": real,
        "h/run/new\nline.ckpt": real,
        "h/run/esc\x1b[31mred.ckpt": real,
        "h/run/folder/": b"",
        "h/run/empty.ckpt": b"",
        "h/run/truncated.ckpt": real[: len(real) // 2],
        "h/run/good.ckpt": real,
        "h/run/good.metadata.yaml": b"x: " + b"y" * (2 * 1024 * 1024),
        "h/run/" + "n" * 300 + ".ckpt": real,
        "h/run/not-a-checkpoint.ckpt": b"hello world, not a checkpoint",
    }
    from botocore.exceptions import ClientError

    s3.create_bucket(Bucket=HOSTILE_BUCKET)
    stored: dict[str, bytes] = {}
    for key, data in objects.items():
        try:
            s3.put_object(Bucket=HOSTILE_BUCKET, Key=key, Body=data)
        except ClientError:
            continue  # a key the server's URL handling cannot store (".." segments)
        stored[key] = data
    return stored


def test_hostile_keys_and_objects(
    s3_env: str, s3: Any, demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = _hostile_bucket(s3, demo_tree)
    code, out, err = _run(capsys, "list", f"s3://{HOSTILE_BUCKET}/h", "--json")
    assert code == 0
    entries = {e["checkpoint_path"]: e for e in json.loads(out)}
    assert "run/good.ckpt" in entries and entries["run/good.ckpt"]["safety"] == "safe"
    # The sidecar over the size limit is reported as a local one would be.
    assert any(i["code"].startswith("sidecar.") for i in entries["run/good.ckpt"]["issues"])
    codes = {path: [i["code"] for i in e["issues"]] for path, e in entries.items()}
    assert "checkpoint.empty" in codes["run/empty.ckpt"]
    assert any(c.startswith("checkpoint.") for c in codes["run/truncated.ckpt"])
    assert any(c.startswith("checkpoint.") for c in codes["run/not-a-checkpoint.ckpt"])
    assert "run/esc\x1b[31mred.ckpt" in entries  # odd but valid names are listed (escaped)
    if "h/run/new\nline.ckpt" in objects:  # moto's server refuses this key; S3 takes it
        assert "run/new\nline.ckpt" in entries
    # Keys that cannot be paths are skipped, each with a warning; none escaped the index.
    assert not any(".." in path or "//" in path or "/./" in path for path in entries)
    assert err.count("scan.bad-key") >= 4 or err.count("skipped") >= 4
    print(f"hostile objects stored: {sorted(objects)!r}")
    assert len(objects) >= 10


def test_object_replaced_after_listing(
    s3_env: str, s3: Any, demo_tree: Path, tmp_path: Path
) -> None:
    """The store sends fewer bytes than the listing promised: an entry's error, no crash."""
    from ckpt_tui.catalog.api import build_catalog

    real = next(demo_tree.rglob("last.ckpt")).read_bytes()
    s3.put_object(Bucket=DEMO_BUCKET, Key="shrunk/last.ckpt", Body=real)
    tree = sync_index(f"s3://{DEMO_BUCKET}/shrunk", {}, str(tmp_path / "index"))
    s3.put_object(Bucket=DEMO_BUCKET, Key="shrunk/last.ckpt", Body=real[:1000])
    with mounted(tree):
        (entry,) = build_catalog(tree.local_root, use_cache=False).entries
    assert entry.safety == "unreadable"
    assert entry.has_errors


def test_connection_lost_mid_listing(s3_env: str, s3: Any, demo_tree: Path, tmp_path: Path) -> None:
    """The second page of the listing never arrives: the first page's objects are kept and the
    rest is reported missing."""
    from botocore.exceptions import EndpointConnectionError

    from ckpt_tui.catalog.api import build_catalog
    from ckpt_tui.io.stores import open_filesystem

    bucket = "ckpt-pages"
    s3.create_bucket(Bucket=bucket)
    real = next(demo_tree.rglob("last.ckpt")).read_bytes()
    s3.put_object(Bucket=bucket, Key="p/a/first.ckpt", Body=real)
    with ThreadPoolExecutor(8) as pool:  # one page of the listing is 1,000 keys
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"p/b/{i:04d}.txt"), range(1000)))
    s3.put_object(Bucket=bucket, Key="p/z/late.ckpt", Body=real)

    fs, _ = open_filesystem(f"s3://{bucket}/p", {"config_kwargs": {"retries": {"max_attempts": 1}}})

    def drop_later_pages(request: Any, **_kwargs: Any) -> None:
        if "continuation-token" in str(request.url):
            raise EndpointConnectionError(endpoint_url=str(request.url))

    fs.s3.meta.events.register("before-send.s3", drop_later_pages)
    tree = sync_index(f"s3://{bucket}/p", {}, str(tmp_path / "index"), fs=fs)
    with mounted(tree):
        entries = build_catalog(tree.local_root, use_cache=False).entries
    assert [e.checkpoint_path for e in entries] == ["a/first.ckpt"]
    assert entries[0].safety == "safe"
    (issue,) = [i for i in tree.issues if i.code == "scan.listing-incomplete"]
    assert "after 1000 objects" in issue.message and "the rest is missing" in issue.message


def _enforce_auth(endpoint: str, after: str) -> None:
    """moto checks credentials after ``after`` more requests (``inf``: never)."""
    import urllib.request

    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=after.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_wrong_credentials(
    s3_env: str, demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server checks credentials (moto's auth switched on): unknown keys are refused."""
    _enforce_auth(s3_env, "0")
    try:
        code, _out, err = _run(capsys, "list", f"s3://{DEMO_BUCKET}/runs")
    finally:
        _enforce_auth(s3_env, "inf")
    assert code == 2
    assert "credentials were refused" in err


def test_access_denied(
    s3_env: str,
    demo_tree: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A real user of the server without any permission: access denied."""
    import boto3

    iam = boto3.client("iam", endpoint_url=s3_env, region_name="us-east-1")
    iam.create_user(UserName="reader-without-rights")
    key = iam.create_access_key(UserName="reader-without-rights")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    _enforce_auth(s3_env, "0")
    try:
        code, _out, err = _run(capsys, "list", f"s3://{DEMO_BUCKET}/runs")
    finally:
        _enforce_auth(s3_env, "inf")
    assert code == 2
    assert "access denied" in err


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("SlowDown", "Please reduce your request rate.", "storage.throttled"),
        ("503", "Service Unavailable", "storage.throttled"),
        ("AccessDenied", "Access Denied", "storage.access-denied"),
        ("NoSuchBucket", "The specified bucket does not exist", "storage.no-bucket"),
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match",
            "storage.bad-credentials",
        ),
        ("InternalError", "We encountered an internal error", "storage.failed"),
    ],
)
def test_store_errors_in_words(code: str, message: str, expected: str) -> None:
    """botocore's own errors, as s3fs receives them, are named by what went wrong."""
    from botocore.exceptions import ClientError

    from ckpt_tui.io.stores import describe_error

    error = ClientError({"Error": {"Code": code, "Message": message}}, "GetObject")
    described = describe_error(error, "s3://b/k")
    assert described.code == expected
    assert described.message.startswith("s3://b/k: ")


def test_store_gone_after_listing(
    demo_tree: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The connection is lost after the listing: every checkpoint is still one entry, with the
    reason; after a few failures the rest fail at once instead of each retrying."""
    from moto.server import ThreadedMotoServer

    from ckpt_tui.catalog.api import build_catalog

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    stopped = False
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for name, value in {
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }.items():
            monkeypatch.setenv(name, value)
        import boto3

        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="ckpt-gone")
        real = next(demo_tree.rglob("last.ckpt")).read_bytes()
        for i in range(8):
            s3.put_object(Bucket="ckpt-gone", Key=f"run/checkpoints/epoch={i}.ckpt", Body=real)
        options = {"config_kwargs": {"retries": {"max_attempts": 1}}}
        tree = sync_index("s3://ckpt-gone/run", options, str(tmp_path / "index"))
        server.stop()
        stopped = True
        with mounted(tree):
            entries = build_catalog(tree.local_root, use_cache=False).entries
    finally:
        if not stopped:
            server.stop()
    assert len(entries) == 8
    codes = [[i.code for i in e.issues] for e in entries]
    assert all("storage.unreachable" in c for c in codes)
    assert any("stopped answering" in i.message for e in entries for i in e.issues)
