"""``ckpt-tui validate`` on real trees: one line per problem and honest exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from reference_sidecar import REFERENCE_YAML

from ckpt_tui.catalog.validate import validate_tree
from ckpt_tui.cli import main
from ckpt_tui.sidecar.files import sidecar_path_for

MakeCheckpoint = Callable[[str], Path]


@pytest.fixture
def mixed_tree(tmp_path: Path, make_checkpoint: MakeCheckpoint) -> Path:
    """Valid, invalid, hostile and missing sidecars, plus an orphan."""
    marker = tmp_path / "PWNED"
    good = make_checkpoint("outputs/run-a/checkpoints/epoch=10.ckpt")
    sidecar_path_for(good).write_text(REFERENCE_YAML)
    bad = make_checkpoint("outputs/run-a/checkpoints/epoch=11.ckpt")
    sidecar_path_for(bad).write_text(REFERENCE_YAML.replace("epoch: 10", "epoch: -3"))
    hostile = make_checkpoint("outputs/run-b/checkpoints/epoch=1.ckpt")
    sidecar_path_for(hostile).write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    no_hmean = make_checkpoint("outputs/run-b/checkpoints/epoch=2.ckpt")
    sidecar_path_for(no_hmean).write_text(REFERENCE_YAML.replace("hmean: 0.8430", "hmean: null"))
    make_checkpoint("outputs/run-c/last.ckpt")
    (tmp_path / "outputs/run-c/ghost.metadata.yaml").write_text(REFERENCE_YAML)
    return tmp_path / "outputs"


def test_report_counts(mixed_tree: Path) -> None:
    report = validate_tree(mixed_tree)
    assert (report.total, report.valid, report.invalid, report.missing) == (5, 1, 3, 1)
    assert report.error_counts["sidecar.invalid"] == 1
    assert report.error_counts["metrics.required"] == 1
    assert report.error_counts["sidecar.orphan"] == 1
    assert "5 checkpoints: 1 valid, 3 invalid, 1 without sidecar" in report.summary()
    assert not (mixed_tree.parent / "PWNED").exists()


def test_cli_prints_one_line_per_problem_and_exits_1(
    mixed_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(mixed_tree)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert not (mixed_tree.parent / "PWNED").exists()
    assert len(out) == 4, out
    assert any(
        "run-a/checkpoints/epoch=11.metadata.yaml: error: training.epoch" in line for line in out
    )
    assert any(
        "run-b/checkpoints/epoch=1.metadata.yaml: error: invalid YAML" in line for line in out
    )
    assert any("epoch=2.metadata.yaml: error: metrics.hmean: required" in line for line in out)
    assert any("ghost.metadata.yaml: no checkpoint" in line for line in out)


def test_cli_json_is_the_only_stdout(mixed_tree: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "validate", str(mixed_tree), "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["invalid"] == 3
    statuses = {item["checkpoint"]: item["status"] for item in data["results"]}
    assert statuses["run-a/checkpoints/epoch=10.ckpt"] == "valid"
    assert statuses["run-c/last.ckpt"] == "missing"


def test_all_valid_exits_0_and_warnings_do_not_fail(
    tmp_path: Path, make_checkpoint: MakeCheckpoint
) -> None:
    ckpt = make_checkpoint("run/epoch=10.ckpt")
    sidecar_path_for(ckpt).write_text(REFERENCE_YAML.replace("  precision: 0.8542\n", ""))
    assert main(["validate", str(tmp_path)]) == 0


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "missing")]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["validate"])
    assert exit_info.value.code == 2


def test_the_public_name_validates_a_tree(mixed_tree: Path) -> None:
    import ckpt_tui

    report = ckpt_tui.validate_tree(mixed_tree)
    assert (report.total, report.valid, report.invalid, report.missing) == (5, 1, 3, 1)
