"""Conversion says no more than its sources knew, and changes where values come from, never what
they are: before/after on the demo tree and on a tree written by a real Lightning ``Trainer``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ckpt_tui.cli import main
from ckpt_tui.sidecar.files import read_sidecar, sidecar_path_for

SCHEMA_DEFAULT_KEYS = ("pretrained", "frozen", "in_channels", "params", "training_phase")
"""Keys of the schema that only a default would fill: a conversion never writes them."""
CHANGED_BY_CONVERSION = ("source", "sidecar_path", "provenance", "issues")
"""Where the values come from: the only entry fields a conversion may change."""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(list(args))
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in args else out


def listed(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, dict[str, Any]]:
    """``list --json --verify`` by checkpoint path (every verdict read: nothing ``unchecked``)."""
    code, entries = run_cli(capsys, "list", str(root), "--json", "--verify", "--no-cache")
    assert code == 0
    return {entry["checkpoint_path"]: entry for entry in entries}


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a nested mapping by dotted key path (mappings and lists count as leaves
    when empty)."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(leaves(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def converted_sidecars(before: dict[str, dict[str, Any]], root: Path) -> dict[str, Any]:
    """The sidecars written for the entries that had none before, parsed by PyYAML."""
    return {
        rel: yaml.safe_load(sidecar_path_for(root / rel).read_text())
        for rel, entry in before.items()
        if entry["sidecar_path"] is None and sidecar_path_for(root / rel).exists()
    }


def assert_only_origins_changed(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], converted: set[str]
) -> None:
    assert after.keys() == before.keys()
    for rel in converted:
        old, new = before[rel], after[rel]
        for name, value in old.items():
            if name not in CHANGED_BY_CONVERSION:
                assert new[name] == value, (rel, name)
        assert sorted(i["code"] for i in new["issues"]) == sorted(i["code"] for i in old["issues"])
        assert new["source"] == "sidecar"
        for name, origin in old["provenance"].items():
            if name == "monitor_value":
                continue  # derived from the monitored metric, itself a value with provenance
            assert new["provenance"][name] == origin or new["provenance"][name].startswith(
                f"{origin} (via sidecar, converted 20"
            ), (rel, name)
    for rel in before.keys() - converted:
        assert after[rel] == before[rel], rel


def assert_honest(document: dict[str, Any], rel: str) -> None:
    block = document["ckpt_tui"]
    assert block["written_by"].startswith("ckpt-tui ")
    written = {
        key: value for key, value in leaves(document).items() if key.split(".")[0] != "ckpt_tui"
    }
    for key, value in written.items():
        assert (value != "unknown" and value != [] and value != {}) or key in (
            "model",
            "metrics",
        ), (
            rel,
            key,
        )
        assert key.split(".")[-1] not in SCHEMA_DEFAULT_KEYS, (rel, key)
        if key not in ("schema_version", "checkpoint_path", "model", "metrics"):
            assert key in block["provenance"], (rel, key)
    assert not set(block["unknown"]) & written.keys()


def test_demo_tree_converts_without_changing_a_value(
    demo_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = listed(capsys, demo_tree)
    validate_before, _ = run_cli(capsys, "validate", str(demo_tree))
    code, report = run_cli(capsys, "convert", str(demo_tree), "--json", "--no-cache")
    assert code == 1  # the demo's truncated and empty files cannot be converted
    written = {item["checkpoint_path"] for item in report["items"] if item["outcome"] == "written"}
    assert len(written) >= 20
    documents = converted_sidecars(before, demo_tree)
    assert documents.keys() == written
    for rel, document in documents.items():
        assert_honest(document, rel)
    assert_only_origins_changed(before, listed(capsys, demo_tree), written)
    validate_after, _ = run_cli(capsys, "validate", str(demo_tree))
    assert validate_after == validate_before == 0


def test_lightning_tree_converts_without_changing_a_value(
    lightning_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = listed(capsys, lightning_tree)
    assert len(before) == 4 and all(e["sidecar_path"] is None for e in before.values())
    assert all(e["architecture"] is None and e["epoch"] is not None for e in before.values())
    code, report = run_cli(capsys, "convert", str(lightning_tree), "--json", "--no-cache")
    assert code == 0 and report["converted"] == 4
    documents = converted_sidecars(before, lightning_tree)
    for rel, document in documents.items():
        assert_honest(document, rel)
        # The reference requires these names; no source knew them: recorded, not guessed.
        assert "architecture" not in document["model"]
        assert {"model.architecture", "model.encoder.model_name"} <= set(
            document["ckpt_tui"]["unknown"]
        )
    assert_only_origins_changed(before, listed(capsys, lightning_tree), set(before))
    code, validation = run_cli(capsys, "validate", str(lightning_tree), "--json")
    assert code == 0 and validation["valid"] == 4
    assert set(validation["error_counts"]) == {"sidecar.recorded-unknown"}


def test_show_names_the_origin_kept_through_the_sidecar(
    lightning_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = next(lightning_tree.rglob("last.ckpt"))
    assert main(["convert", str(lightning_tree), "--no-cache"]) == 0
    capsys.readouterr()
    _code, shown = run_cli(capsys, "show", str(ckpt), "--json")
    provenance = shown["entry"]["provenance"] if "entry" in shown else shown["provenance"]
    assert provenance["epoch"].startswith("checkpoint epoch (via sidecar, converted 20")


def test_a_recorded_unknown_hmean_is_a_warning_a_missing_one_stays_an_error(
    lightning_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = next(lightning_tree.rglob("last.ckpt"))
    assert main(["convert", str(lightning_tree), "--no-cache"]) == 0
    sidecar = sidecar_path_for(ckpt)
    document = yaml.safe_load(sidecar.read_text())
    document["metrics"].pop("hmean", None)
    document["ckpt_tui"]["unknown"].append("metrics.hmean")
    sidecar.write_text(yaml.safe_dump(document))
    read = read_sidecar(ckpt)
    assert read.metadata is not None
    capsys.readouterr()
    code, validation = run_cli(capsys, "validate", str(lightning_tree), "--json")
    result = next(r for r in validation["results"] if r["checkpoint"].endswith("last.ckpt"))
    assert (code, result["status"]) == (0, "valid")
    assert "metrics.hmean" in " ".join(i["message"] for i in result["issues"])
    entry = listed(capsys, lightning_tree)[ckpt.relative_to(lightning_tree).as_posix()]
    assert "metrics.required" not in {i["code"] for i in entry["issues"]}

    # The same sidecar written by hand (no ckpt_tui block): the reference's error, everywhere.
    del document["ckpt_tui"]
    document["model"] = {"architecture": "dbnet", "encoder": {"model_name": "resnet18"}}
    sidecar.write_text(yaml.safe_dump(document))
    code, validation = run_cli(capsys, "validate", str(lightning_tree), "--json")
    result = next(r for r in validation["results"] if r["checkpoint"].endswith("last.ckpt"))
    assert (code, result["status"]) == (1, "invalid")
    assert "metrics.required" in {i["code"] for i in result["issues"]}
    entry = listed(capsys, lightning_tree)[ckpt.relative_to(lightning_tree).as_posix()]
    assert "metrics.required" in {i["code"] for i in entry["issues"]}


@pytest.mark.parametrize(
    ("model", "block", "valid"),
    [
        ({}, None, False),
        ({"architecture": "dbnet"}, None, False),
        ({}, {"unknown": ["model.architecture", "model.encoder.model_name"]}, True),
        ({"architecture": "dbnet"}, {"unknown": ["model.encoder.model_name"]}, True),
        ({}, {"unknown": ["model.encoder.model_name"]}, False),
    ],
)
def test_required_names_may_be_left_out_only_when_recorded_unknown(
    lightning_tree: Path, model: dict[str, Any], block: dict[str, Any] | None, valid: bool
) -> None:
    ckpt = next(lightning_tree.rglob("last.ckpt"))
    document: dict[str, Any] = {
        "schema_version": "1.0", "checkpoint_path": "last.ckpt", "exp_name": "x",
        "created_at": "2025-10-18T14:32:15", "training": {"epoch": 1, "global_step": 2},
        "model": model, "metrics": {"hmean": 0.5},
    }  # fmt: skip
    if block is not None:
        document["ckpt_tui"] = {"written_by": "ckpt-tui test", "written_at": "2026-01-01", **block}
    sidecar_path_for(ckpt).write_text(yaml.safe_dump(document))
    read = read_sidecar(ckpt)
    assert (read.metadata is not None) is valid, read.issues
    if not valid:
        assert "Field required" in read.issues[0].message
