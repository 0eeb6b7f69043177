"""The safe reader against ``torch.load(weights_only=False)`` (in a subprocess) on trusted files.

Every value the file holds is compared: keys, nesting, tensor dtypes and shapes, the values of
one-element tensors, hyper-parameters (OmegaConf, Namespace, paths), epoch, step and scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from reader_oracle_client import oracle

from ckpt_tui.reader import inspect_checkpoint
from ckpt_tui.reader.legacy import parse_legacy
from ckpt_tui.reader.source import CheckpointFile, ParsedFile
from ckpt_tui.reader.unpickle.objects import Call, DType, TensorRef
from ckpt_tui.reader.unpickle.plain import to_plain
from ckpt_tui.reader.zipformat import parse_zip


def parse(path: Path) -> ParsedFile:
    with CheckpointFile(path) as f:
        parsed = parse_zip(f) if f.read(0, 2) == b"PK" else parse_legacy(f)
        # Read every scalar while the file is open.
        return ParsedFile(parsed.format, canon(parsed.root, parsed), parsed.issues)


def canon(value: Any, parsed: ParsedFile) -> Any:
    """The reader's tree in the oracle's canonical form."""
    if isinstance(value, TensorRef):
        out: dict[str, Any] = {"__tensor__": [value.dtype, list(value.shape)]}
        if value.numel == 1 and value.storage is not None and not value.dtype.startswith("q"):
            scalar = parsed.scalar(value)
            if scalar is not None:
                out["value"] = scalar
        return out
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): canon(v, parsed) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canon(v, parsed) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(canon(v, parsed) for v in value)
    if isinstance(value, DType):
        return f"torch.{value.name}"
    if isinstance(value, Call):
        return canon(to_plain(value, parsed.scalar), parsed)
    return to_plain(value, parsed.scalar)


@pytest.fixture(scope="module")
def torch_oracle(torch_files: dict[str, Path]) -> dict[str, Any]:
    differential = [p for name, p in torch_files.items() if name != "whole_module"]
    return oracle([p for p in differential if p.suffix != ".safetensors"])


@pytest.mark.parametrize(
    "name",
    [
        *("zip_p1", "zip_p2", "zip_p3", "zip_p4", "zip_p5"),
        *("legacy_p1", "legacy_p2", "legacy_p4", "quantized", "bare", "model_state_dict"),
    ],
)
def test_whole_tree_matches_torch_load(
    name: str, torch_files: dict[str, Path], torch_oracle: dict[str, Any]
) -> None:
    path = torch_files[name]
    parsed = parse(path)
    assert parsed.issues == []
    assert parsed.root == torch_oracle[str(path)]


def test_inspection_matches_torch_load(
    torch_files: dict[str, Path], torch_oracle: dict[str, Any]
) -> None:
    for name in ("zip_p2", "legacy_p2", "zip_p5"):
        path = torch_files[name]
        expected = torch_oracle[str(path)]
        result = inspect_checkpoint(path)
        assert result.issues == [], result.issues
        assert result.epoch == expected["epoch"] == 0
        assert result.global_step == 12
        assert result.weights_key == "state_dict"
        assert list(result.tensors) == list(expected["state_dict"])
        for key, info in result.tensors.items():
            dtype, shape = expected["state_dict"][key]["__tensor__"]
            assert (info.dtype, list(info.shape)) == (dtype, shape), key
        assert result.parameter_count == sum(t.numel for t in result.tensors.values())


@pytest.fixture(scope="module")
def lightning_oracle(lightning_run: Path) -> dict[str, Any]:
    return oracle(sorted(lightning_run.glob("*.ckpt")))


def test_lightning_files_match_torch_load(
    lightning_run: Path, lightning_oracle: dict[str, Any]
) -> None:
    files = sorted(lightning_run.glob("*.ckpt"))
    assert {p.name for p in files} == {
        "epoch=0-step=2.ckpt",
        "epoch=1-step=4.ckpt",
        "last.ckpt",
        "loss-epoch=0.ckpt",
        "loss-epoch=1.ckpt",
    } - _replaced(lightning_oracle)
    for path in files:
        assert parse(path).root == lightning_oracle[str(path)], path.name


def _replaced(expected: dict[str, Any]) -> set[str]:
    # save_top_k=1 keeps only the better of the two loss checkpoints.
    names = {Path(p).name for p in expected}
    return {n for n in ("loss-epoch=0.ckpt", "loss-epoch=1.ckpt") if n not in names}


def _value(tensor: dict[str, Any] | None) -> Any:
    return None if tensor is None else tensor["value"]


def test_lightning_summary_matches_torch_load(
    lightning_run: Path, lightning_oracle: dict[str, Any]
) -> None:
    for path in sorted(lightning_run.glob("*.ckpt")):
        expected = lightning_oracle[str(path)]
        result = inspect_checkpoint(path)
        assert not result.has_errors, result.issues
        assert result.safety == "safe", result.unsafe_globals
        assert result.epoch == expected["epoch"]
        assert result.global_step == expected["global_step"]
        assert result.lightning_version == expected["pytorch-lightning_version"]
        assert result.hyper_parameters == expected["hyper_parameters"]
        assert result.datamodule_hyper_parameters == expected["datamodule_hyper_parameters"]
        assert result.cleval_metrics == expected["cleval_metrics"]
        assert result.learning_rate == expected["optimizer_states"][0]["param_groups"][0]["lr"]
        assert result.optimizer == "AdamW"
        states = {s.state_key: s for s in result.checkpoint_callbacks}
        assert len(states) == 2
        for key, state in expected["callbacks"].items():
            got = states[key]
            assert got.monitor == state["monitor"]
            assert got.best_model_score == _value(state["best_model_score"])
            assert got.current_score == _value(state["current_score"])
            assert got.best_k_models == {p: v["value"] for p, v in state["best_k_models"].items()}
            assert got.best_model_path == (state["best_model_path"] or None)  # "" is unknown
            assert got.mode == ("max" if state["monitor"] == "val/hmean" else "min")
