"""Sidecar files: both names, atomic writes, and hostile or broken YAML as values, not crashes."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from reference_sidecar import REFERENCE_YAML

from ckpt_tui import load_metadata, load_metadata_batch, save_metadata
from ckpt_tui.io.safe_yaml import MAX_SIDECAR_BYTES, dump_yaml, parse_yaml
from ckpt_tui.io.yaml_subset import FALLBACK, parse_simple_yaml
from ckpt_tui.sidecar.files import read_sidecar, sidecar_candidates, sidecar_path_for

MakeCheckpoint = Callable[[str], Path]


def test_reference_example_round_trips(make_checkpoint: MakeCheckpoint) -> None:
    ckpt = make_checkpoint("run/checkpoints/epoch=10.ckpt")
    sidecar_path_for(ckpt).write_text(REFERENCE_YAML)
    first = load_metadata(ckpt)
    assert first is not None
    before = ckpt.read_bytes()
    written = save_metadata(first, ckpt)
    assert written == ckpt.parent / "epoch=10.metadata.yaml"
    assert load_metadata(ckpt) == first
    assert ckpt.read_bytes() == before, "saving a sidecar must never touch the checkpoint"
    leftovers = [p.name for p in ckpt.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


@pytest.mark.parametrize("name", ["epoch=10.metadata.yaml", "epoch=10.ckpt.metadata.yaml"])
def test_both_sidecar_names_load(make_checkpoint: MakeCheckpoint, name: str) -> None:
    ckpt = make_checkpoint("epoch=10.ckpt")
    (ckpt.parent / name).write_text(REFERENCE_YAML)
    read = read_sidecar(ckpt)
    assert read.path == ckpt.parent / name
    assert read.metadata is not None and read.issues == []


def test_when_both_names_exist_the_newer_wins_with_a_warning(
    make_checkpoint: MakeCheckpoint,
) -> None:
    ckpt = make_checkpoint("epoch=10.ckpt")
    stem_name, full_name = sidecar_candidates(ckpt)
    stem_name.write_text(REFERENCE_YAML)
    full_name.write_text(REFERENCE_YAML.replace("epoch: 10", "epoch: 11"))
    os.utime(stem_name, ns=(1_000_000_000, 1_000_000_000))
    read = read_sidecar(ckpt)
    assert read.path == full_name
    assert read.metadata is not None and read.metadata.training.epoch == 11
    assert [issue.code for issue in read.issues] == ["sidecar.duplicate"]


def test_missing_sidecar_is_not_an_error(make_checkpoint: MakeCheckpoint) -> None:
    read = read_sidecar(make_checkpoint("last.ckpt"))
    assert read.path is None and read.metadata is None and read.issues == []


@pytest.mark.parametrize(
    "template",
    [
        "!!python/object/apply:os.system ['touch {marker}']\n",
        "exp_name: !!python/object/apply:subprocess.call [['touch', '{marker}']]\n",
        "model: !!python/object/new:os.system ['touch {marker}']\n",
        "x: !!python/name:os.system\n",
    ],
)
def test_python_tags_never_run(
    make_checkpoint: MakeCheckpoint, tmp_path: Path, template: str
) -> None:
    marker = tmp_path / "PWNED"
    ckpt = make_checkpoint("epoch=1.ckpt")
    sidecar_path_for(ckpt).write_text(template.format(marker=marker))
    read = read_sidecar(ckpt)
    assert not marker.exists()
    assert read.metadata is None
    assert read.issues and read.issues[0].severity == "error"
    assert "python/" in read.issues[0].message


def _peak_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_alias_bomb_is_refused_quickly_with_bounded_memory(make_checkpoint: MakeCheckpoint) -> None:
    ckpt = make_checkpoint("epoch=1.ckpt")
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        prev = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    sidecar_path_for(ckpt).write_text("\n".join(lines) + "\n")
    rss_before = _peak_rss_kb()
    started = time.monotonic()
    read = read_sidecar(ckpt)
    assert time.monotonic() - started < 5.0  # hang guard, not a benchmark
    assert _peak_rss_kb() - rss_before < 100_000
    assert read.metadata is None
    assert "alias bomb" in read.issues[0].message


def test_recursive_alias_is_refused(make_checkpoint: MakeCheckpoint) -> None:
    ckpt = make_checkpoint("epoch=1.ckpt")
    sidecar_path_for(ckpt).write_text("a: &a [*a]\n")
    read = read_sidecar(ckpt)
    assert read.metadata is None and "refers to itself" in read.issues[0].message


def test_oversize_sidecar_is_refused_unread(make_checkpoint: MakeCheckpoint) -> None:
    ckpt = make_checkpoint("epoch=1.ckpt")
    path = sidecar_path_for(ckpt)
    with open(path, "wb") as handle:
        handle.truncate(MAX_SIDECAR_BYTES * 50)  # sparse: 50 MiB that costs no disk
    started = time.monotonic()
    read = read_sidecar(ckpt)
    assert time.monotonic() - started < 2.0
    assert read.metadata is None
    assert "over the" in read.issues[0].message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"- just\n- a list\n", "expected a mapping, got list"),
        (b"", "expected a mapping, got empty"),
        (b"exp_name: \xff\xfe bad\n", "not valid UTF-8"),
        (b"training: {epoch: [\n", "invalid YAML"),
        (b"42\n", "expected a mapping, got int"),
    ],
)
def test_broken_sidecars_are_values_with_a_reason(
    make_checkpoint: MakeCheckpoint, content: bytes, expected: str
) -> None:
    ckpt = make_checkpoint("epoch=1.ckpt")
    sidecar_path_for(ckpt).write_bytes(content)
    read = read_sidecar(ckpt)
    assert read.metadata is None
    assert expected in read.issues[0].message
    assert "epoch=1.metadata.yaml" in read.issues[0].message


def test_missing_required_fields_are_named(make_checkpoint: MakeCheckpoint) -> None:
    ckpt = make_checkpoint("epoch=1.ckpt")
    sidecar_path_for(ckpt).write_text("schema_version: '1.0'\nexp_name: x\n")
    messages = " ".join(issue.message for issue in read_sidecar(ckpt).issues)
    for field in ("checkpoint_path", "created_at", "training", "model", "metrics"):
        assert f"{field}: Field required" in messages


def test_batch_goes_on_past_bad_files(make_checkpoint: MakeCheckpoint) -> None:
    good = make_checkpoint("a/epoch=1.ckpt")
    bad = make_checkpoint("b/epoch=2.ckpt")
    none = make_checkpoint("c/epoch=3.ckpt")
    sidecar_path_for(good).write_text(REFERENCE_YAML)
    sidecar_path_for(bad).write_text("!!python/name:os.system\n")
    results = load_metadata_batch([good, bad, none])
    assert results[good].metadata is not None
    assert results[bad].metadata is None and results[bad].issues
    assert results[none].path is None


def test_importing_the_package_pulls_in_neither_torch_nor_textual() -> None:
    code = (
        "import sys, ckpt_tui, ckpt_tui.cli, ckpt_tui.sidecar.validate, ckpt_tui.catalog.validate\n"
        "heavy = ('torch', 'lightning', 'pytorch_lightning', 'textual')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("exp_name", ["\u3000run", "\u00a0run", "run\u2009"])
def test_names_with_unicode_spaces_round_trip(
    make_checkpoint: MakeCheckpoint, exp_name: str
) -> None:
    ckpt = make_checkpoint("run/epoch=1.ckpt")
    sidecar_path_for(ckpt).write_text(REFERENCE_YAML)
    first = load_metadata(ckpt)
    assert first is not None
    save_metadata(first.model_copy(update={"exp_name": exp_name}), ckpt)
    read = read_sidecar(ckpt)
    assert read.metadata is not None and read.metadata.exp_name == exp_name
    assert read.issues == []


@pytest.mark.parametrize("flow", [False, True], ids=["subset-reader", "pyyaml"])
def test_duplicate_key_is_a_warning_naming_it(make_checkpoint: MakeCheckpoint, flow: bool) -> None:
    ckpt = make_checkpoint("epoch=10.ckpt")
    block = dump_yaml(parse_yaml(REFERENCE_YAML))  # block style: what the subset reader reads
    text = block.replace("  global_step: 5420\n", "  global_step: 1\n  global_step: 7\n")
    if flow:  # a flow mapping is outside the subset reader: PyYAML reads the file
        text += "extra: {a: 1}\n"
    assert (parse_simple_yaml(text) is FALLBACK) == flow
    sidecar_path_for(ckpt).write_text(text)
    read = read_sidecar(ckpt)
    assert read.metadata is not None and read.metadata.training.global_step == 7  # last wins
    [issue] = [i for i in read.issues if i.code == "sidecar.duplicate-key"]
    assert issue.severity == "warning"
    assert "training.global_step: duplicate key" in issue.message


@pytest.mark.parametrize(
    "number",
    ["0b1" + "0" * 15_000, "1" + "0" * 5_000, str(2**63), "1" + ":2" * 200_000],
    ids=["binary-15k", "decimal-5k", "2**63", "base60-400k"],
)
def test_huge_number_is_an_error_naming_its_key(
    make_checkpoint: MakeCheckpoint, number: str
) -> None:
    ckpt = make_checkpoint("epoch=10.ckpt")
    text = REFERENCE_YAML.replace("global_step: 5420", f"global_step: {number}")
    sidecar_path_for(ckpt).write_text(text)
    started = time.monotonic()
    read = read_sidecar(ckpt)
    assert time.monotonic() - started < 5  # base-60 is never converted
    assert read.metadata is None
    [issue] = read.issues
    assert issue.severity == "error"
    assert "training.global_step: number too large" in issue.message
    str(issue)  # printable: the number itself never reaches an issue
