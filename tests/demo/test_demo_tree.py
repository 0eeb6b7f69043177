"""The demo tree's layout: names, folders, configs, sidecars, broken files and mtimes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from demo_helpers import rel

from ckpt_tui.demo import DemoSummary
from ckpt_tui.demo.runs import RUNS
from ckpt_tui.io.safe_yaml import MAX_CONFIG_BYTES, load_document
from ckpt_tui.sidecar.files import read_sidecar, sidecar_candidates

# One path per name pattern and layout the demo promises (relative to the demo root).
PROMISED = {
    "2025-10-03/14-22-51/checkpoints/epoch=67-step=18564.ckpt",
    "2025-10-20/07-31-12/checkpoints/epoch_09_step_002730.ckpt",
    "2025-10-05/08-03-44/checkpoints/epoch-9-step-1030.ckpt",
    "2025-10-06/19-47-30/checkpoints/epoch-03_step-000103.ckpt",
    "ocr_training_dbnetpp_resnet50_20251009/checkpoints/"
    "epoch_epoch_22_step_step_001932_20251009_015037.ckpt",
    "dbnetpp_efficientnet_b0_finetune/checkpoints/best.ckpt",
    "dbnetpp_efficientnet_b0_finetune/checkpoints/best-v1.ckpt",
    "dbnetpp_efficientnet_b0_finetune/checkpoints/last.ckpt",
    "dbnetpp_efficientnet_b0_finetune/checkpoints/last-v2.ckpt",
    "pan_resnet34_canonical/checkpoints/best-hmean-0.8920.ckpt",
    "2025-10-14/16-05-33/checkpoints/val/hmean=0.8123.ckpt",
    "lightning_logs/version_0/checkpoints/epoch=0-step=40.ckpt",
    "2025-10-12/11-40-09/checkpoints/psenet_mobilenetv3_large_100_icdar15/checkpoints/"
    "epoch=11-step=1500.ckpt",
}
TRUNCATED = "2025-10-15/22-10-58/checkpoints/epoch=5-step=618.ckpt"
EMPTY = "2025-10-15/22-10-58/checkpoints/epoch=7-step=824.ckpt"
LEGACY = "archive/run_1001/checkpoints/epoch=14-step=1545.ckpt"
LINK = "2025-10-03/14-22-51/checkpoints/last.ckpt"
CKPT_SUFFIXES = (".ckpt", ".pt", ".pth", ".safetensors")


def _names(summary: DemoSummary) -> set[str]:
    return {rel(summary, p) for p in summary.checkpoints}


def test_every_promised_name_and_layout_is_present(demo: DemoSummary) -> None:
    names = _names(demo)
    assert names >= PROMISED, sorted(PROMISED - names)
    for name in PROMISED:
        assert (demo.root / name).is_file()


def test_about_sixty_checkpoints_in_about_a_dozen_runs(demo: DemoSummary) -> None:
    assert 50 <= len(demo.checkpoints) <= 70
    assert 10 <= len(demo.runs) <= 16
    on_disk = sorted(
        p for p in demo.root.rglob("*") if p.name.endswith(CKPT_SUFFIXES) and "wandb" not in p.parts
    )
    assert on_disk == demo.checkpoints


def test_exactly_one_epoch_zero_checkpoint(demo: DemoSummary) -> None:
    zero = [n for n in _names(demo) if "epoch=0-" in n]
    assert zero == ["lightning_logs/version_0/checkpoints/epoch=0-step=40.ckpt"]


def test_architectures_and_encoders_cover_the_ocr_families() -> None:
    assert {r.model.architecture for r in RUNS} == {"dbnet", "dbnetpp", "craft", "pan", "psenet"}
    assert {r.model.encoder for r in RUNS} == {
        "resnet18",
        "resnet34",
        "resnet50",
        "mobilenetv3_small_050",
        "mobilenetv3_large_100",
        "efficientnet_b0",
    }


def test_broken_files(demo: DemoSummary) -> None:
    assert {rel(demo, p) for p in demo.broken} == {TRUNCATED, EMPTY}
    assert (demo.root / EMPTY).stat().st_size == 0
    truncated = demo.root / TRUNCATED
    sibling = truncated.with_name("epoch=3-step=412.ckpt")
    assert 0 < truncated.stat().st_size < 0.6 * sibling.stat().st_size
    assert not zipfile.is_zipfile(truncated)  # cut in half: the zip directory is gone


def test_legacy_file_is_not_a_zip(demo: DemoSummary) -> None:
    assert [rel(demo, p) for p in demo.legacy] == [LEGACY]
    legacy = demo.root / LEGACY
    assert not zipfile.is_zipfile(legacy)
    assert zipfile.is_zipfile(legacy.with_name("epoch=11-step=1236.ckpt"))


def test_last_is_a_relative_link_to_the_last_epoch(demo: DemoSummary) -> None:
    link = demo.root / LINK
    assert [rel(demo, p) for p in demo.links] == [LINK]
    assert link.is_symlink()
    assert os.readlink(link) == "epoch=67-step=18564.ckpt"
    assert link.resolve() == (link.parent / "epoch=67-step=18564.ckpt").resolve()


def test_wandb_folder_holds_run_files_only(demo: DemoSummary) -> None:
    wandb = demo.root / "2025-10-03/14-22-51/wandb"
    files = [p for p in wandb.rglob("*") if p.is_file()]
    assert any(p.name == "wandb-summary.json" for p in files)
    assert not [p for p in files if p.name.endswith(CKPT_SUFFIXES)]
    latest = wandb / "latest-run"
    assert latest.is_symlink() and latest.resolve().is_dir()


def _config(path: Path) -> dict[str, object]:
    data = load_document(path, MAX_CONFIG_BYTES)
    assert isinstance(data, dict)
    return data


def test_hydra_run_folders(demo: DemoSummary) -> None:
    hydra = sorted(demo.root.glob("*/*/.hydra/config.yaml"))
    hydra += sorted(demo.root.glob("*/.hydra/config.yaml"))
    assert len(hydra) >= 8
    styles = set()
    for config_path in hydra:
        folder = config_path.parent
        assert (folder / "overrides.yaml").is_file() and (folder / "hydra.yaml").is_file()
        config = _config(config_path)
        model = config["model"]
        assert isinstance(model, dict)
        assert model["_target_"] == "ocr.models.architecture.OCRModel"
        styles |= {
            k for k in ("architecture", "architectures", "component_overrides") if k in model
        }
        trainer, callbacks = config["trainer"], config["callbacks"]
        assert isinstance(trainer, dict) and isinstance(trainer["max_epochs"], int)
        assert isinstance(callbacks, dict)
        checkpoint = callbacks["model_checkpoint"]
        assert {"monitor", "mode", "save_top_k", "save_last"} <= set(checkpoint)
        assert isinstance(config["exp_name"], str)
    assert styles == {"architecture", "architectures", "component_overrides"}
    wandb_ids = [c["logger"]["wandb"]["id"] for c in map(_config, hydra) if "logger" in c]  # type: ignore[index]
    assert "3kq8z1ab" in wandb_ids


def test_hydra_folder_names_are_dates(demo: DemoSummary) -> None:
    dated = [p for p in demo.runs if re.fullmatch(r"\d{4}-\d\d-\d\d", p.parent.name)]
    for folder in dated:
        datetime.strptime(f"{folder.parent.name} {folder.name}", "%Y-%m-%d %H-%M-%S")
    assert len(dated) >= 8


def test_lightning_logs_run(demo: DemoSummary) -> None:
    version = demo.root / "lightning_logs/version_0"
    hparams = _config(version / "hparams.yaml")
    assert hparams["model"]["architecture"] == "psenet"  # type: ignore[index]
    assert (version / "checkpoints").is_dir()


def test_sidecars_under_both_names_valid_and_consistent(demo: DemoSummary) -> None:
    assert 0.4 * len(demo.checkpoints) <= len(demo.with_sidecar) <= 0.6 * len(demo.checkpoints)
    stems = names = 0
    for ckpt in demo.with_sidecar:
        stem_path, name_path = sidecar_candidates(ckpt)
        stems += stem_path.exists()
        names += name_path.exists()
        read = read_sidecar(ckpt)
        assert read.metadata is not None, (ckpt, read.issues)
        assert read.metadata.checkpoint_path == rel(demo, ckpt)
        created = datetime.fromisoformat(read.metadata.created_at)
        assert created.timestamp() == ckpt.stat().st_mtime  # written when the checkpoint was
        codes = {issue.code for issue in read.issues}
        both = stem_path.exists() and name_path.exists()
        assert codes == ({"sidecar.duplicate"} if both else set())
        if both:  # the newer, <stem>.metadata.yaml, is the one read
            assert read.path == stem_path
    assert stems >= 20 and names >= 4
    without = set(demo.checkpoints) - set(demo.with_sidecar)
    for ckpt in without:
        assert read_sidecar(ckpt).path is None


def test_mtimes_are_fixed_dates_in_october_2025(demo: DemoSummary) -> None:
    october = (
        datetime(2025, 10, 1, tzinfo=timezone.utc).timestamp(),
        datetime(2025, 11, 1, tzinfo=timezone.utc).timestamp(),
    )
    stamps = []
    for ckpt in demo.checkpoints:
        mtime = ckpt.lstat().st_mtime
        assert october[0] <= mtime < october[1], ckpt
        assert mtime == int(mtime)  # whole seconds: the same on every filesystem
        stamps.append(mtime)
    assert len(set(stamps)) > 0.9 * len(stamps)
    for ckpt in demo.with_sidecar:
        sidecar = read_sidecar(ckpt).path
        assert sidecar is not None and sidecar.stat().st_mtime > ckpt.stat().st_mtime


def test_size_and_time_bounds(demo: DemoSummary) -> None:
    total = sum(
        p.stat().st_size for p in demo.root.rglob("*") if p.is_file() and not p.is_symlink()
    )
    assert total < 25_000_000
    assert demo.total_bytes < total
    assert demo.elapsed < 30  # hang detection only; the bench-style figure is in the report


@pytest.mark.parametrize("module", ["ckpt_tui.demo", "ckpt_tui.cli.demo_cmd"])
def test_importing_the_demo_does_not_import_torch(module: str) -> None:
    code = f"import sys, {module}; print('torch' in sys.modules, 'lightning' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
