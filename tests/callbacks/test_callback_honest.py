"""The callback's sidecars say only what a source said: no "unknown" strings, no schema default
written as a fact, and a ``ckpt_tui`` block with who wrote them, what no source knew and where
each value came from. Real ``Trainer.fit`` runs; read back by ``show``, ``validate`` and
``convert`` as the command line does."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from callback_helpers import HPARAMS, checkpoints_in, fit, same_float32, val_metrics
from lightning.pytorch.callbacks import ModelCheckpoint

from ckpt_tui import __version__
from ckpt_tui.callbacks import MetadataCallback
from ckpt_tui.cli import main
from ckpt_tui.sidecar.files import read_sidecar, sidecar_path_for

WRITTEN_BY = f"ckpt-tui {__version__} MetadataCallback"
DURING_TRAINING = re.compile(r" \(via sidecar, written during training \d{4}-\d\d-\d\d\)$")
EPOCHS = 2


class Run:
    """One finished fit: its checkpoint folder and each checkpoint's raw sidecar text."""

    def __init__(self, root: Path, module_hparams: dict[str, Any], **options: Any) -> None:
        self.root = root
        self.folder = root / "run" / "checkpoints"
        checkpoint = ModelCheckpoint(dirpath=self.folder, **options.pop("checkpoint", {}))
        callback = MetadataCallback(**options.pop("callback", {}))
        fit(root, [checkpoint, callback], hparams=module_hparams, max_epochs=EPOCHS, **options)
        self.checkpoints = checkpoints_in(self.folder)
        assert self.checkpoints

    def text(self, ckpt: Path) -> str:
        return sidecar_path_for(ckpt).read_text()

    def document(self, ckpt: Path) -> dict[str, Any]:
        data = yaml.safe_load(self.text(ckpt))
        assert isinstance(data, dict)
        return data


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """hparams without any model names ("unknown" is a placeholder, not a name), no validation
    (so no metric is logged), a ModelCheckpoint without monitor."""
    hparams = {"exp_name": "bare-run", "model": {"architecture": "unknown"}}
    return Run(tmp_path_factory.mktemp("bare"), hparams, limit_val_batches=0)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """hparams with every name, metrics logged, a monitored ModelCheckpoint, a phase given."""
    return Run(
        tmp_path_factory.mktemp("full"),
        HPARAMS,
        checkpoint={"monitor": "val/hmean", "mode": "max", "save_top_k": 2, "save_last": True},
        callback={"training_phase": "finetuning"},
    )


def strings_in(data: Any) -> list[str]:
    """Every key and string value in a nested document."""
    if isinstance(data, dict):
        found: list[str] = []
        for key, value in data.items():
            found += [str(key), *strings_in(value)]
        return found
    if isinstance(data, list):
        return [text for item in data for text in strings_in(item)]
    return [data] if isinstance(data, str) else []


def assert_no_unknown_outside_its_key(text: str, document: dict[str, Any]) -> None:
    # The raw YAML: "unknown" appears once, as the ckpt_tui block's key.
    lines = [line for line in text.splitlines() if "unknown" in line.lower()]
    assert lines == ["  unknown:"] or lines == ["  unknown: []"], lines
    block = dict(document["ckpt_tui"])
    del block["unknown"]
    rest = {**document, "ckpt_tui": block}
    assert not [text for text in strings_in(rest) if "unknown" in text.lower()]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in args else out


# --------------------------------------------------------------------------- no source knew it


def test_bare_run_sidecars_say_nothing_no_source_said(bare: Run) -> None:
    for ckpt in bare.checkpoints:
        text, document = bare.text(ckpt), bare.document(ckpt)
        assert_no_unknown_outside_its_key(text, document)
        model = document["model"]
        assert "architecture" not in model  # the hparams said "unknown": a placeholder
        assert "encoder" not in model or not {"pretrained", "frozen"} & set(model["encoder"])
        assert "training_phase" not in document["training"]
        assert set(document["metrics"]) <= {"additional_metrics"}  # no metric field logged
        checkpointing = document.get("checkpointing", {})
        # No monitor: no mode (it compares nothing), no monitor key, save_last never set.
        assert not {"mode", "monitor", "save_last"} & set(checkpointing)
        for key, value in document["model"].items():
            assert value not in ({}, [], None), key
        block = document["ckpt_tui"]
        assert block["written_by"] == WRITTEN_BY
        assert {
            "model.architecture",
            "model.encoder.model_name",
            "model.encoder.pretrained",
            "model.encoder.frozen",
            "metrics.hmean",
            "metrics.precision",
            "metrics.recall",
            "metrics.validation_loss",
        } <= set(block["unknown"])
        assert not set(block["unknown"]) & set(block["provenance"])


def test_bare_run_values_that_are_known_carry_their_origin(bare: Run) -> None:
    ckpt = bare.checkpoints[-1]
    document = bare.document(ckpt)
    provenance = document["ckpt_tui"]["provenance"]
    assert provenance["training.epoch"] == "trainer current_epoch"
    assert provenance["training.global_step"] == "trainer global_step"
    assert provenance["exp_name"] == "hparams exp_name"
    assert document["exp_name"] == "bare-run"
    # What the ModelCheckpoint really does (its save_top_k) is a fact, from the ModelCheckpoint.
    assert document["checkpointing"] == {"save_top_k": 1}
    assert provenance["checkpointing.save_top_k"] == "ModelCheckpoint save_top_k"
    assert document["metrics"]["additional_metrics"].keys() == {"train/loss"}
    assert provenance["metrics.additional_metrics"] == "callback_metrics"
    # Every written leaf (but the fixed ones) has its provenance.
    assert set(provenance) >= {"exp_name", "created_at", "training.max_epochs"}


def test_bare_run_validates_with_warnings_only(
    bare: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run_cli(capsys, "validate", str(bare.root), "--json")
    assert code == 0
    assert report["valid"] == len(bare.checkpoints) and report["invalid"] == 0
    # hmean was never logged and the names are known to no source: recorded, so warnings.
    assert set(report["error_counts"]) == {"sidecar.recorded-unknown"}
    for result in report["results"]:
        assert {issue["severity"] for issue in result["issues"]} == {"warning"}
        messages = " ".join(issue["message"] for issue in result["issues"])
        assert "metrics.hmean" in messages and "model.architecture" in messages


# --------------------------------------------------------------------------- sources gave it


def test_full_run_writes_what_the_sources_gave_with_provenance(full: Run) -> None:
    for ckpt in full.checkpoints:
        text, document = full.text(ckpt), full.document(ckpt)
        assert_no_unknown_outside_its_key(text, document)
        provenance = document["ckpt_tui"]["provenance"]
        assert document["model"]["encoder"] == {
            "model_name": "resnet18",
            "pretrained": False,
            "frozen": True,
        }
        assert provenance["model.encoder.model_name"] == "hparams model.encoder.model_name"
        assert provenance["model.encoder.pretrained"] == "hparams model.encoder.pretrained"
        assert provenance["model.architecture"] == "hparams model.architecture"
        assert document["checkpointing"] == {
            "monitor": "val/hmean",
            "mode": "max",
            "save_top_k": 2,
            "save_last": True,
        }
        assert provenance["checkpointing.monitor"] == "ModelCheckpoint monitor"
        assert provenance["checkpointing.mode"] == "ModelCheckpoint mode"
        assert document["training"]["training_phase"] == "finetuning"
        assert provenance["training.training_phase"] == "MetadataCallback training_phase"
        epoch = document["training"]["epoch"]
        assert same_float32(document["metrics"]["hmean"], val_metrics(epoch)["val/hmean"])
        assert provenance["metrics.hmean"] == "callback_metrics val/hmean"
        assert provenance["metrics.validation_loss"] == "callback_metrics val/loss"
        unknown = set(document["ckpt_tui"]["unknown"])
        assert not unknown & {"model.architecture", "metrics.hmean", "model.encoder.frozen"}


def test_full_run_validates_without_any_issue(
    full: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run_cli(capsys, "validate", str(full.root), "--json")
    assert code == 0 and report["valid"] == len(full.checkpoints)
    assert report["error_counts"] == {}


def test_show_json_names_the_training_origin(full: Run, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = full.folder / "last.ckpt"
    code, shown = run_cli(capsys, "show", str(ckpt), "--json")
    assert code == 0
    entry = shown.get("entry", shown)
    provenance = entry["provenance"]
    assert entry["source"] == "sidecar"
    for field, origin in (
        ("epoch", "trainer current_epoch"),
        ("global_step", "trainer global_step"),
        ("hmean", "callback_metrics val/hmean"),
        ("monitor", "ModelCheckpoint monitor"),
        ("backbone", "hparams model.encoder.model_name"),
        ("exp_name", "hparams exp_name"),
    ):
        assert DURING_TRAINING.sub("", provenance[field]) == origin, provenance[field]
        assert DURING_TRAINING.search(provenance[field]), provenance[field]
    assert "converted" not in json.dumps(provenance)


def test_bare_show_json_leaves_unknown_null(bare: Run, capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = run_cli(capsys, "show", str(bare.checkpoints[-1]), "--json")
    entry = shown.get("entry", shown)
    assert code == 0
    assert entry["architecture"] is None and entry["hmean"] is None
    assert entry["monitor_mode"] is None and entry["monitor"] is None
    assert "architecture" not in entry["provenance"]
    # (The checkpoint's own hparams, shown in its details, do say "unknown": that is the file's.)
    assert "unknown" not in json.dumps(entry["provenance"])
    assert not [key for key, value in entry.items() if value == "unknown" and key != "format"]


def test_converting_a_callback_sidecar_again_keeps_the_first_origin(
    full: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(full.root / "run", copy)
    ckpt = copy / "checkpoints" / "last.ckpt"
    before = yaml.safe_load(sidecar_path_for(ckpt).read_text())
    code, _ = run_cli(capsys, "convert", str(copy), "--force", "--no-cache")
    assert code == 0
    after = yaml.safe_load(sidecar_path_for(ckpt).read_text())
    assert after["ckpt_tui"]["written_by"].endswith(" convert")
    assert after["ckpt_tui"]["provenance"]["training.epoch"] == "trainer current_epoch"
    assert after["training"] == {
        key: value for key, value in before["training"].items() if key != "training_phase"
    }
    assert after["metrics"] == before["metrics"]
    assert read_sidecar(ckpt).metadata is not None
