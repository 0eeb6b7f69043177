"""Wrong types under the known keys: ignored (null, a note), never a crash, never a wrong value."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


class Payload:
    """Pickles as os.system creating a marker file, if anything ever ran it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"epoch": 3}
    for _ in range(depth):
        node = {"x": node}
    return node


def _cases(marker: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """File name → (the dict saved, the fields that must come out, ``None`` meaning null)."""
    import torch

    weights = {"w": torch.zeros(2)}
    imagenet = {"arch": "resnet18", "state_dict": weights, "best_acc1": torch.tensor(50.0)}

    def ns(**values: Any) -> argparse.Namespace:
        return argparse.Namespace(**values)

    return {
        "epoch_string.pth": ({**imagenet, "epoch": "x"},
                             {"epoch": None, "architecture": "resnet18"}),
        "epoch_negative.pth": ({**imagenet, "epoch": -5}, {"epoch": None}),
        "epoch_huge.pth": ({**imagenet, "epoch": 2**70}, {"epoch": None}),
        "epoch_bool.pth": ({**imagenet, "epoch": True}, {"epoch": None}),
        "epoch_zero.pth": ({**imagenet, "epoch": 0}, {"epoch": None, "monitor_value": 50.0}),
        "acc_nan.pth": ({**imagenet, "epoch": 1, "best_acc1": torch.tensor(float("nan"))},
                        {"monitor_value": None, "monitor": None, "epoch": 0}),
        "acc_inf.pth": ({**imagenet, "epoch": 1, "best_acc1": float("inf")},
                        {"monitor_value": None}),
        "acc_huge_int.pth": ({**imagenet, "epoch": 1, "best_acc1": 10**400},
                             {"monitor_value": None}),
        "acc_string.pth": ({**imagenet, "epoch": 1, "best_acc1": "76.1"}, {"monitor_value": None}),
        "arch_dict.pth": ({**imagenet, "epoch": 1, "arch": {"name": {"nested": "resnet"}}},
                          {"architecture": None, "backbone": None}),
        "arch_long.pth": ({**imagenet, "epoch": 1, "arch": "r" * 1_000_000},
                          {"architecture": None}),
        "arch_control.pth": ({**imagenet, "epoch": 1, "arch": "res\x1b[31mnet\x07"},
                             {"architecture": None}),
        "arch_bidi.pth": ({**imagenet, "epoch": 1, "arch": "resnet\u202e81"},
                          {"architecture": None}),
        "arch_unknown.pth": ({**imagenet, "epoch": 1, "arch": "unknown"}, {"architecture": None}),
        "timm_wrong_types.pth": (
            {"epoch": "3", "arch": ["x"], "state_dict": weights, "version": "2", "metric": "high",
             "args": ns(model=["resnet50"], eval_metric={"a": 1}, epochs=-1)},
            {"epoch": None, "architecture": None, "monitor": None, "monitor_value": None},
        ),
        "timm_newline_model.pth": (
            {"epoch": 1, "state_dict": weights, "version": 2, "metric": 1.5,
             "args": ns(model="resnet\n50", eval_metric="top1\x00")},
            {"architecture": None, "monitor": "metric", "monitor_value": 1.5, "epoch": 1},
        ),
        "timm_args_not_namespace.pth": (
            {"epoch": 1, "state_dict": weights, "metric": 2.0, "args": "model=resnet50"},
            {"architecture": None, "monitor": None},
        ),
        "mmcv_meta_list.pth": ({"meta": [1, 2], "state_dict": weights}, {"epoch": None}),
        "mmcv_wrong_types.pth": (
            {"meta": {"epoch": "12", "iter": -1, "hook_msgs": "x", "time": "garbage",
                      "config": "x = 1\n" * 200_000}, "state_dict": weights},
            {"epoch": None, "global_step": None, "monitor": None, "architecture": None},
        ),
        "mmcv_bad_values.pth": (
            {"meta": {"epoch": 2**64, "iter": 10**30, "time": "Mon Dec 99 99:99:99 2026",
                      "hook_msgs": {"best_score": float("nan"), "best_ckpt": {"a": 1}},
                      "config": "model = dict(type='A\\x1bB')"}, "state_dict": weights},
            {"epoch": None, "global_step": None, "monitor_value": None, "architecture": None},
        ),
        "mmcv_deep.pth": ({"meta": _nested(200), "state_dict": weights}, {"epoch": None}),
        "unsafe_args.pth": (
            {"epoch": 2, "state_dict": weights, "version": 2, "metric": 3.0,
             "args": ns(model="resnet50", eval_metric="top1", hook=Payload(marker))},
            {"safety": "unsafe", "architecture": "resnet50", "monitor_value": 3.0, "epoch": 2},
        ),
    }  # fmt: skip


SAFETENSORS_CASES = {
    "bad_metadata.safetensors": (
        {"epoch": "-1", "global_step": "99999999999999999999", "architecture": "\x07bell",
         "val_acc": "nan", "step": "1e3", "val_loss": "inf"},
        {"epoch": None, "global_step": None, "architecture": None},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    import torch
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("hostile_keys")
    folder = root / "run"
    folder.mkdir()
    expected: dict[str, dict[str, Any]] = {}
    for name, (saved, fields) in _cases(root / "PWNED").items():
        torch.save(saved, folder / name)
        expected[name] = fields
    for name, (metadata, fields) in SAFETENSORS_CASES.items():
        save_file({"w": torch.zeros(2)}, str(folder / name), metadata=metadata)
        expected[name] = fields
    return root, expected


def test_hostile_values_are_ignored_not_trusted(
    hostile: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    root, expected = hostile
    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "list", str(root), "--json", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    entries = {e["file_name"]: e for e in json.loads(done.stdout)}
    assert set(entries) == set(expected)
    for name, fields in expected.items():
        entry = entries[name]
        for field_name, value in fields.items():
            assert entry[field_name] == value, (name, field_name, entry[field_name])
        codes = {issue["code"] for issue in entry["issues"]}
        assert not codes & {"catalog.internal", "checkpoint.inspect-failed"}, (name, codes)
    assert not (root / "PWNED").exists()


def test_ignored_values_say_so(hostile: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    from ckpt_tui import build_catalog

    root, _expected = hostile
    entries = {e.file_name: e for e in build_catalog(root, use_cache=False).entries}
    notes = [i.message for i in entries["arch_dict.pth"].issues if i.severity == "info"]
    assert any("checkpoint arch" in note for note in notes), notes
    assert any(i.code == "checkpoint.too-complex" for i in entries["mmcv_deep.pth"].issues)
    # NaN and inf in safetensors metadata are not metrics.
    assert entries["bad_metadata.safetensors"].additional_metrics == {}
    assert entries["bad_metadata.safetensors"].validation_loss is None
