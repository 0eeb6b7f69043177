"""What the reader recovers from real Lightning checkpoints and plain torch layouts."""

from __future__ import annotations

import shutil
from pathlib import Path

from ckpt_tui.reader import inspect_checkpoint
from ckpt_tui.sources.statedict import infer_model_from_shapes


def test_epoch_zero_is_a_real_epoch(lightning_run: Path) -> None:
    result = inspect_checkpoint(lightning_run / "epoch=0-step=2.ckpt")
    assert result.epoch == 0
    assert result.global_step == 2
    assert result.format == "zip"


def test_own_score_comes_from_best_k_models(lightning_run: Path) -> None:
    for name in ("epoch=0-step=2.ckpt", "epoch=1-step=4.ckpt"):
        path = lightning_run / name
        result = inspect_checkpoint(path)
        assert result.monitor == "val/hmean"
        assert result.monitor_mode == "max"
        state = next(s for s in result.checkpoint_callbacks if s.monitor == "val/hmean")
        assert result.monitor_value == state.best_k_models[str(path)]
        assert result.metrics["hmean"] == result.monitor_value
        assert result.metrics["val/hmean"] == result.monitor_value
        # cleval_metrics fill in what the monitor does not name.
        assert result.metrics["precision"] == 0.625
        assert result.metrics["recall"] == 0.4375


def test_last_checkpoint_uses_current_score(lightning_run: Path) -> None:
    result = inspect_checkpoint(lightning_run / "last.ckpt")
    state = next(s for s in result.checkpoint_callbacks if s.monitor == "val/hmean")
    assert result.monitor_value == state.current_score is not None
    assert state.last_model_path is not None and state.last_model_path.endswith("last.ckpt")


def test_a_min_monitor_is_chosen_for_its_own_files(lightning_run: Path) -> None:
    paths = sorted(lightning_run.glob("loss-*.ckpt"))
    assert paths
    for path in paths:
        result = inspect_checkpoint(path)
        assert result.monitor == "val/loss"
        assert result.monitor_mode == "min"
        assert result.metrics["val/loss"] == result.monitor_value
        assert result.metrics["hmean"] == 0.5  # from cleval_metrics: the monitor is not hmean


def test_moved_checkpoint_still_finds_its_score(lightning_run: Path, tmp_path: Path) -> None:
    source = lightning_run / "epoch=1-step=4.ckpt"
    moved = tmp_path / "elsewhere" / source.name
    moved.parent.mkdir()
    shutil.copy(source, moved)
    here, there = inspect_checkpoint(source), inspect_checkpoint(moved)
    assert there.monitor_value == here.monitor_value is not None


def test_hyper_parameters_are_plain_data(lightning_run: Path) -> None:
    result = inspect_checkpoint(lightning_run / "last.ckpt")
    assert result.hyper_parameters == {
        "cfg": {
            "model": {
                "architecture": "dbnet",
                "encoder": {"model_name": "resnet18"},
                "decoder": {"name": "unet", "in_channels": [64, 128]},
            },
            "trainer": {"max_epochs": 2},
        },
        "lr": 0.01,
        "ns": {"seed": 7, "tag": "t"},
    }
    assert result.datamodule_hyper_parameters == {"batch_size": 4, "root": "/data/set"}
    assert result.optimizer == "AdamW"
    assert result.learning_rate == 0.01
    assert result.lightning_version is not None
    assert result.bytes_read < 64 * 1024


def test_plain_torch_layouts(torch_files: dict[str, Path]) -> None:
    bare = inspect_checkpoint(torch_files["bare"])
    assert bare.weights_key == ""
    assert list(bare.tensors) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert bare.parameter_count == 4 * 3 + 3 + 3 * 2 + 2
    msd = inspect_checkpoint(torch_files["model_state_dict"])
    assert msd.weights_key == "model_state_dict"
    assert msd.epoch == 7
    assert (msd.optimizer, msd.learning_rate) == ("SGD", 0.05)
    module = inspect_checkpoint(torch_files["whole_module"])
    assert module.weights_key == ""
    assert sorted(module.tensors) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert "torch.nn.modules.linear.Linear" in module.unknown_globals
    assert module.safety == "unsafe"  # a whole module names its classes


def test_safetensors_header(torch_files: dict[str, Path]) -> None:
    result = inspect_checkpoint(torch_files["safetensors"])
    assert result.format == "safetensors"
    assert result.safetensors_metadata == {"format": "pt", "epoch": "4"}
    assert result.tensors["0.weight"].shape == (3, 4)
    assert result.tensors["0.weight"].dtype == "float32"
    assert result.parameter_count == 23
    assert result.bytes_read < 512 + 1024  # the first 512 bytes every file is told by, the header


def test_quantized_and_new_dtypes(torch_files: dict[str, Path]) -> None:
    quantized = inspect_checkpoint(torch_files["quantized"])
    assert quantized.tensors["q"].dtype == "qint8"
    plain = inspect_checkpoint(torch_files["zip_p2"])
    assert plain.tensors["float8"].dtype == "float8_e4m3fn"
    assert plain.tensors["uint16"].nbytes == 10
    assert plain.tensors["bf16"].nbytes == 14


def test_detector_checkpoint_end_to_end(tmp_path: Path) -> None:
    import torch
    from reader_models import DBHead, Detector, PANDecoder, ResNet, mobilenetv3

    with torch.device("meta"):
        detector = Detector(ResNet(50), PANDecoder([256, 512, 1024, 2048]), DBHead())
        small = Detector(mobilenetv3("small", 0.5), PANDecoder([16, 24]), DBHead())
    for model, encoder in ((detector, "resnet50"), (small, "mobilenetv3_small_050")):
        path = tmp_path / f"{encoder}.ckpt"
        weights = {f"model.{k}": v for k, v in model.state_dict().items()}
        torch.save({"epoch": 3, "global_step": 30, "state_dict": weights}, path)
        result = inspect_checkpoint(path)
        assert not result.issues, result.issues
        guess = infer_model_from_shapes({k: t.shape for k, t in result.tensors.items()})
        assert (guess.encoder, guess.decoder, guess.head) == (encoder, "pan_decoder", "db_head")
        assert "model.encoder.model." in guess.provenance["encoder"]
