"""``convert`` on a remote root creates sidecars next to the checkpoints, conditionally, and
never touches a checkpoint or an existing sidecar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from remote_helpers import upload_tree

from ckpt_tui.cli import main
from ckpt_tui.io.stores import create_if_absent, open_filesystem

BUCKET = "ckpt-convert"


def _objects(s3: Any, prefix: str) -> dict[str, str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def test_convert_creates_sidecars_in_the_bucket(
    s3_env: str, s3: Any, demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    upload_tree(s3, demo_tree, BUCKET, "conv")
    before = _objects(s3, "conv/")

    code = main(["convert", f"s3://{BUCKET}/conv"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    after = _objects(s3, "conv/")

    created = sorted(set(after) - set(before))
    assert created, err
    assert all(key.endswith(".metadata.yaml") for key in created)
    # Nothing that was there changed: checkpoints and sidecars keep their ETags.
    assert {key: after[key] for key in before} == before
    for key in created:
        stem = key.removesuffix(".metadata.yaml")
        assert any(k.startswith(stem) and k.endswith(".ckpt") for k in before), key
    assert code in (0, 1)  # 1: some checkpoints could not be converted (reported)

    # Paths in the report are the store's URLs, never the local index's.
    planned = json.loads(_convert_json(capsys, f"s3://{BUCKET}/conv", "--dry-run"))
    assert planned["items"]  # the checkpoints that cannot be converted are still listed
    assert all(item["sidecar_path"].startswith(f"s3://{BUCKET}/conv/") for item in planned["items"])

    # A second run finds every sidecar in place: nothing more is created.
    main(["convert", f"s3://{BUCKET}/conv"])
    capsys.readouterr()
    assert _objects(s3, "conv/") == after


def _convert_json(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main(["convert", *argv, "--json"])
    return capsys.readouterr().out


def test_conditional_create_never_replaces(s3_env: str, s3: Any) -> None:
    s3.create_bucket(Bucket="ckpt-create")
    fs, _ = open_filesystem("s3://ckpt-create")
    where = "s3://ckpt-create/a.metadata.yaml"
    assert create_if_absent(fs, "ckpt-create/a.metadata.yaml", b"first: 1\n", where)
    assert not create_if_absent(fs, "ckpt-create/a.metadata.yaml", b"second: 2\n", where)
    body = s3.get_object(Bucket="ckpt-create", Key="a.metadata.yaml")["Body"].read()
    assert body == b"first: 1\n"


def test_convert_force_refused(s3_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["convert", "s3://ckpt-convert/conv", "--force"])
    assert code == 2
    assert "never replaced" in capsys.readouterr().err
