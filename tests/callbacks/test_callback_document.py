"""The one sidecar builder the callback shares with ``convert``, on hostile and odd values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ckpt_tui.model.schema import CkptTuiBlock
from ckpt_tui.sidecar.document import (
    VIA_SIDECAR,
    build_document,
    via_sidecar,
    with_checkpoint_path,
    write_document,
)
from ckpt_tui.sidecar.files import read_sidecar

BY = "ckpt-tui 0.0.0 MetadataCallback"
AT = "2026-12-07T21:00:00+00:00"


def base(**more: Any) -> dict[str, Any]:
    return {
        "exp_name": "run",
        "created_at": AT,
        "training.epoch": 0,
        "training.global_step": 0,
        **more,
    }


def test_placeholders_and_blanks_are_unknown_never_written() -> None:
    values = base(
        **{
            "model.architecture": "unknown",
            "model.encoder.model_name": " None ",
            "model.decoder.name": "",
            "hydra_config_path": None,
            "metrics.hmean": None,
        }
    )
    document, unknown = build_document("a.ckpt", values, {}, written_by=BY, written_at=AT)
    assert document["model"] == {} and document["metrics"] == {}
    assert "checkpointing" not in document and "hydra_config_path" not in document
    assert unknown == [
        "model.architecture",
        "model.encoder.model_name",
        "model.decoder.name",
        "hydra_config_path",
        "metrics.hmean",
    ]


@pytest.mark.parametrize("key", ["exp_name", "created_at", "training.epoch"])
def test_a_required_field_no_source_knew_writes_nothing(key: str) -> None:
    values = base()
    values[key] = None
    with pytest.raises(ValueError, match=key):
        build_document("a.ckpt", values, {}, written_by=BY, written_at=AT)
    del values[key]
    with pytest.raises(ValueError, match=key):
        build_document("a.ckpt", values, {}, written_by=BY, written_at=AT)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("metrics.hmean", 85.0),
        ("training.epoch", -1),
        ("checkpointing.mode", "sideways"),
        ("training.max_epochs", 0),
    ],
)
def test_values_the_schema_refuses_are_refused_by_name(key: str, value: Any) -> None:
    values = base(**{"model.architecture": "dbnet", "model.encoder.model_name": "r18"})
    values[key] = value
    with pytest.raises(ValueError, match=key.rpartition(".")[2]):
        build_document("a.ckpt", values, {}, written_by=BY, written_at=AT)


def test_undecodable_names_are_escaped_and_written(tmp_path: Path) -> None:
    name = "inv\udcffalid"
    values = base(**{"exp_name": name, "model.architecture": "dbnet"})
    values["model.encoder.model_name"] = "res\udcfe"
    ckpt = tmp_path / "last.ckpt"
    ckpt.write_bytes(b"not read")
    document, _ = build_document(
        f"{name}.ckpt", values, {"exp_name": f"run folder {name}"}, written_by=BY, written_at=AT
    )
    assert document["exp_name"] == "inv\\xffalid"
    assert document["ckpt_tui"]["provenance"]["exp_name"] == "run folder inv\\xffalid"
    linked = with_checkpoint_path(document, "link\udcff.ckpt")
    assert (
        linked["checkpoint_path"] == "link\\xff.ckpt"
        and document["checkpoint_path"] != (linked["checkpoint_path"])
    )
    write_document(linked, ckpt)
    read = read_sidecar(ckpt)
    assert read.metadata is not None, read.issues
    assert read.metadata.model.encoder.model_name == "res\\xfe"


def test_a_stale_read_back_suffix_is_not_written_again() -> None:
    provenance = {
        "training.epoch": "trainer current_epoch (via sidecar, written during training 2026-12-01)",
        "exp_name": "hparams exp_name (via sidecar, converted 2026-12-02)",
    }
    values = base(**{"model.architecture": None, "model.encoder.model_name": None})
    document, _ = build_document("a.ckpt", values, provenance, written_by=BY, written_at=AT)
    assert document["ckpt_tui"]["provenance"] == {
        "training.epoch": "trainer current_epoch",
        "exp_name": "hparams exp_name",
    }


def test_a_required_name_left_out_without_saying_so_is_refused() -> None:
    # A writer that never looked for the architecture may not drop it silently.
    with pytest.raises(ValueError, match=r"model\.architecture"):
        build_document("a.ckpt", base(), {}, written_by=BY, written_at=AT)


@pytest.mark.parametrize(
    ("written_by", "wording"),
    [
        ("ckpt-tui 0.1.0 MetadataCallback", "written during training"),
        ("ckpt-tui 0.1.0 convert", "converted"),
        ("someone MetadataCallbackX", "converted"),  # only the exact writer name counts
    ],
)
def test_read_back_wording_names_the_writer(written_by: str, wording: str) -> None:
    block = CkptTuiBlock(written_by=written_by, written_at=AT)
    text = via_sidecar(block, "trainer global_step")
    assert text == f"trainer global_step (via sidecar, {wording} 2026-12-07)"
    assert VIA_SIDECAR.sub("", text) == "trainer global_step"


def test_the_document_is_plain_yaml_with_no_defaults(tmp_path: Path) -> None:
    ckpt = tmp_path / "e.ckpt"
    ckpt.write_bytes(b"x")
    values = base(**{"model.architecture": "dbnet", "model.encoder.model_name": "r18"})
    document, _ = build_document(str(ckpt), values, {}, written_by=BY, written_at=AT)
    text = write_document(document, ckpt).read_text()
    assert yaml.safe_load(text) == document
    for default in ("pretrained", "frozen", "mode", "save_top_k", "training_phase", "params"):
        assert f"{default}:" not in text
