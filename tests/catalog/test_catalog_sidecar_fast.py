"""The catalog's sidecar tier reads sidecars with the one sidecar reader: what ``validate`` calls
valid, ``list`` shows from its sidecar, whatever characters the sidecar holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from catalog_helpers import metadata, write_text

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.validate import validate_tree
from ckpt_tui.sidecar.files import SIDECAR_SUFFIX, save_metadata

# Names YAML keeps as text but Python's str.strip() and regex white space do not.
UNICODE_SPACED_NAMES = [
    "\u3000run",
    "\u00a0run",
    "run\u3000",
    "a\u2003b",
    "run\u2000\u200a",
    "x\u3000: y",
]


def list_json(root: Path) -> list[dict[str, object]]:
    """``python -m ckpt_tui list ROOT --json --no-cache`` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "list", str(root), "--json", "--no-cache"],
        capture_output=True,
        check=True,
        env={**os.environ, "CKPT_TUI_CACHE_DIR": str(root / ".cache")},
    )
    entries: list[dict[str, object]] = json.loads(done.stdout)
    return entries


def test_a_tree_of_plain_sidecars_is_read_from_its_sidecars(
    tmp_path: Path, write_checkpoint, write_sidecar
) -> None:
    for index in range(3):
        ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / f"epoch={index}.ckpt")
        write_sidecar(ckpt)
    entries = build_catalog(tmp_path, use_cache=False).entries
    assert [entry.source for entry in entries] == ["sidecar"] * 3
    assert [entry.hmean for entry in entries] == [0.84] * 3
    assert all(entry.issues == [] for entry in entries)


def test_an_unusual_but_valid_sidecar_still_counts(
    tmp_path: Path, write_checkpoint, write_sidecar
) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / "epoch=1.ckpt")
    sidecar = write_sidecar(ckpt)
    # pydantic reads "0.5" as 0.5: valid, though not how a writer would put it.
    text = sidecar.read_text().replace("hmean: 0.84", "hmean: '0.5'")
    sidecar.write_text(text + "model_extra: 1\n")
    assert "'0.5'" in sidecar.read_text()
    (entry,) = build_catalog(tmp_path, use_cache=False).entries
    assert (entry.source, entry.hmean) == ("sidecar", 0.5)


def test_an_invalid_sidecar_names_its_field_as_before(tmp_path: Path, write_checkpoint) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / "epoch=2.ckpt")
    write_text(
        ckpt.with_name("epoch=2" + SIDECAR_SUFFIX),
        "checkpoint_path: x\nexp_name: e\ncreated_at: '2025-01-01'\n"
        "training: {epoch: -1, global_step: 0}\n"
        "model: {architecture: dbnet, encoder: {model_name: resnet18}}\nmetrics: {hmean: 0.5}\n",
    )
    (entry,) = build_catalog(tmp_path, use_cache=False).entries
    assert entry.source != "sidecar"
    messages = [issue.message for issue in entry.issues if issue.code == "sidecar.invalid"]
    assert messages == [
        "epoch=2.metadata.yaml: training.epoch: Input should be greater than or equal to 0"
    ]


def test_an_exp_name_starting_with_an_ideographic_space_is_listed_from_its_sidecar(
    tmp_path: Path, write_checkpoint
) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / "epoch=3.ckpt")
    save_metadata(metadata(exp_name="\u3000run"), ckpt)

    (entry,) = build_catalog(tmp_path, use_cache=False).entries
    assert entry.source == "sidecar"
    assert entry.exp_name == "\u3000run"
    assert entry.hmean == 0.84
    assert "catalog.internal" not in [issue.code for issue in entry.issues]

    (listed,) = list_json(tmp_path)
    assert listed["source"] == "sidecar"
    assert listed["exp_name"] == "\u3000run"
    assert listed["sidecar_path"] == "run/checkpoints/epoch=3.metadata.yaml"
    assert listed["issues"] == []


@pytest.mark.parametrize("exp_name", UNICODE_SPACED_NAMES)
def test_validate_and_list_agree_on_unicode_spaces(
    tmp_path: Path, write_checkpoint, exp_name: str
) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "checkpoints" / "epoch=4.ckpt")
    save_metadata(metadata(exp_name=exp_name), ckpt)

    (result,) = validate_tree(tmp_path).results
    assert result.status == "valid"
    (entry,) = build_catalog(tmp_path, use_cache=False).entries
    assert (entry.source, entry.exp_name) == ("sidecar", exp_name)
    assert [issue.code for issue in entry.issues] == [issue.code for issue in result.issues]


def test_validate_and_list_agree_on_a_sidecar_that_is_not_a_file(
    tmp_path: Path, write_checkpoint
) -> None:
    ckpt = write_checkpoint(tmp_path / "run" / "epoch=5.ckpt")
    os.mkfifo(ckpt.with_name("epoch=5" + SIDECAR_SUFFIX))

    (result,) = validate_tree(tmp_path).results
    (entry,) = build_catalog(tmp_path, use_cache=False).entries
    assert result.status == "missing" and entry.source != "sidecar"
    assert [issue.code for issue in result.issues] == ["sidecar.unreadable"]
    assert "sidecar.unreadable" in [issue.code for issue in entry.issues]
