"""Session fixtures for the reader tests: real files written by torch.save and Lightning."""

from __future__ import annotations

import argparse
import json
import struct
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _plain_objects(legacy: bool = False) -> dict[str, Any]:
    import torch
    from omegaconf import OmegaConf

    weights: OrderedDict[str, Any] = OrderedDict()
    weights["fp32"] = torch.randn(3, 4)
    weights["fp16"] = torch.randn(2, 5).half()
    weights["bf16"] = torch.randn(7).bfloat16()
    weights["int8"] = torch.tensor([1, -2, 3], dtype=torch.int8)
    weights["int64"] = torch.arange(6).reshape(2, 3)
    weights["bool"] = torch.tensor([True, False])
    weights["param"] = torch.nn.Parameter(torch.randn(4, 2))
    weights["view"] = weights["fp32"][1]
    weights["transposed"] = weights["fp32"].t()
    weights["scalar"] = torch.tensor(0.8125)
    weights["empty"] = torch.zeros(0, 3)
    if not legacy:
        # torch.load cannot read these dtypes back from the legacy format (its own limitation).
        weights["float8"] = torch.zeros(4, dtype=torch.float8_e4m3fn)
        weights["uint16"] = torch.arange(5).to(torch.uint16)
    cfg = OmegaConf.create(
        {"model": {"architecture": "dbnet", "encoder": {"model_name": "resnet50"}},
         "lst": [1, "two", {"three": 3.0}], "missing": "???", "interp": "${model.architecture}"}
    )  # fmt: skip
    return {
        "state_dict": weights,
        "epoch": 0,
        "global_step": 12,
        "nested": {"a": {"b": [torch.tensor([1.5, 2.5]), 1, "x", (1, 2)]}, "empty": {}},
        "scores": {"hmean": torch.tensor(0.75, dtype=torch.float64), "n": torch.tensor(3)},
        "set": {3, 1, 2},
        "path": Path("/data/run"),
        "ns": argparse.Namespace(lr=0.01, name="run"),
        "cfg": cfg,
        "blob": b"abc",
        "big": 2**70,
        "neg": -5,
        "none": None,
        "dtype": torch.float16,
    }


@pytest.fixture(scope="session")
def torch_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Trusted fixtures written by real torch.save, in several formats and protocols."""
    import torch

    root = tmp_path_factory.mktemp("torch_files")
    files: dict[str, Path] = {}
    objects = _plain_objects()
    for proto in (1, 2, 3, 4, 5):
        files[f"zip_p{proto}"] = root / f"zip_p{proto}.pt"
        torch.save(objects, files[f"zip_p{proto}"], pickle_protocol=proto)
    for proto in (1, 2, 4):
        files[f"legacy_p{proto}"] = root / f"legacy_p{proto}.pt"
        torch.save(
            _plain_objects(legacy=True),
            files[f"legacy_p{proto}"],
            pickle_protocol=proto,
            _use_new_zipfile_serialization=False,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensors are deprecated; still in old files
        quantized = torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.qint8)
    files["quantized"] = root / "quantized.pt"
    torch.save({"state_dict": {"q": quantized, "w": torch.ones(2)}}, files["quantized"])
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    files["bare"] = root / "bare.pth"
    torch.save(model.state_dict(), files["bare"])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    files["model_state_dict"] = root / "msd.pt"
    torch.save(
        {"model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
         "epoch": 7},
        files["model_state_dict"],
    )  # fmt: skip
    files["whole_module"] = root / "module.pt"
    torch.save(model, files["whole_module"])
    files["safetensors"] = _write_safetensors(root / "weights.safetensors", model.state_dict())
    return files


def _write_safetensors(path: Path, weights: dict[str, Any]) -> Path:
    codes = {"float32": "F32", "float16": "F16", "int64": "I64"}
    header: dict[str, Any] = {"__metadata__": {"format": "pt", "epoch": "4"}}
    blobs = []
    offset = 0
    for name, value in weights.items():
        data = value.contiguous().numpy().tobytes()
        dtype = codes[str(value.dtype).removeprefix("torch.")]
        header[name] = {"dtype": dtype, "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(data)]}  # fmt: skip
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))
    return path


@pytest.fixture(scope="session")
def lightning_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ``Trainer.fit`` (CPU, 2 epochs, 2 batches) with two ModelCheckpoint callbacks."""
    import lightning as L
    import torch
    from lightning_runs import RegressionModule, fit_with_two_monitors
    from omegaconf import OmegaConf
    from torch.utils.data import DataLoader, TensorDataset

    root = tmp_path_factory.mktemp("lightning")
    torch.manual_seed(0)

    class Module(RegressionModule):
        optimizer_class = torch.optim.AdamW

        def __init__(self, cfg: Any, lr: float = 0.01, ns: Any = None) -> None:
            super().__init__()
            self.save_hyperparameters()

        def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            checkpoint["cleval_metrics"] = {"hmean": 0.5, "precision": 0.625, "recall": 0.4375}

    class Data(L.LightningDataModule):
        def __init__(self, batch_size: int = 4, root: Path = Path("/data/set")) -> None:
            super().__init__()
            self.save_hyperparameters()

        def train_dataloader(self) -> Any:
            return DataLoader(TensorDataset(torch.randn(8, 4), torch.randn(8, 1)), batch_size=4)

        def val_dataloader(self) -> Any:
            return DataLoader(TensorDataset(torch.randn(4, 4), torch.randn(4, 1)), batch_size=4)

    cfg = OmegaConf.create(
        {"model": {"architecture": "dbnet", "encoder": {"model_name": "resnet18"},
                   "decoder": {"name": "unet", "in_channels": [64, 128]}},
         "trainer": {"max_epochs": 2}}
    )  # fmt: skip
    module = Module(cfg, ns=argparse.Namespace(seed=7, tag="t"))
    fit_with_two_monitors(module, Data(), dirpath=root / "ckpt", root_dir=root, max_epochs=2)
    return root / "ckpt"


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    """A path hostile payloads try to create; the test fails if it ever exists."""
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "code from a checkpoint ran"
