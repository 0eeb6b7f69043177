"""Which remote roots a command line names (no store needed)."""

from __future__ import annotations

import pytest

from ckpt_tui.cli.remote import _root_urls
from ckpt_tui.io.stores import is_url, parse_storage_options


@pytest.mark.parametrize(
    ("name", "argv", "roots"),
    [
        ("list", ["s3://b/runs/", "--json"], ["s3://b/runs"]),
        ("show", ["s3://b/runs/exp/checkpoints/last.ckpt"], ["s3://b/runs"]),
        ("show", ["s3://b/x.ckpt"], ["s3://b"]),
        ("show", ["s3://b/runs/exp/c/last.ckpt", "--root", "s3://b/runs/exp"], ["s3://b/runs/exp"]),
        ("convert", ["--checkpoint", "gs://b/r/e/c/x.ckpt"], ["gs://b/r"]),
        ("diff", ["s3://b/a/e/c/x.ckpt", "s3://b/z/e/c/y.ckpt"], ["s3://b/a", "s3://b/z"]),
        ("diff", ["s3://b/runs", "s3://b/runs/exp"], ["s3://b/runs"]),
        ("", ["s3://b/runs", "--no-cache"], ["s3://b/runs"]),
    ],
)
def test_roots_named(name: str, argv: list[str], roots: list[str]) -> None:
    assert _root_urls(name, argv) == roots


def test_urls_and_options() -> None:
    assert is_url("s3://b/p") and is_url("gs://b") and is_url("az://c/p")
    assert not is_url("/tmp/x") and not is_url("file:///tmp/x") and not is_url("run:1/x.ckpt")
    options = parse_storage_options(
        ["anon=true", "client_kwargs.region_name=eu-west-1", "max_concurrency=4", "x=a=b"]
    )
    assert options == {
        "anon": True,
        "client_kwargs": {"region_name": "eu-west-1"},
        "max_concurrency": 4,
        "x": "a=b",
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_storage_options(["novalue"])
