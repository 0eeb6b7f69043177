"""TorchScript and torch.export archives: what they carry as plain data; verdict ``code``."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scripted module (torch.jit.save, with extra files) and an exported program
    (torch.export.save, with extra files), each holding a parameter, a buffer and a constant."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)
            self.register_buffer("scale", torch.ones(2))
            self.offset = torch.tensor([1.0, 2.0])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x) * self.scale + self.offset.sum()

    folder = tmp_path_factory.mktemp("archives") / "run"
    folder.mkdir()
    net = Net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(
            torch.jit.script(net),
            str(folder / "scripted.pt"),
            _extra_files={"training.json": json.dumps({"epoch": 3, "val_acc": 0.5}), "a.txt": "hi"},
        )
        exported = torch.export.export(net, (torch.randn(1, 4),))
        torch.export.save(exported, folder / "exported.pt", extra_files={"note.json": '{"k": 1}'})
    return folder


def show(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "show", str(path), "--json", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_torchscript_tensors_and_extra_files_are_shown(archives: Path) -> None:
    data = show(archives / "scripted.pt")
    assert data["safety"] == "code"
    contents = data["details"]["archive_contents"]
    assert contents["tensors"]["tensors"] == {
        "lin.weight": "float32[2, 4]",
        "lin.bias": "float32[2]",
        "scale": "float32[2]",
        "offset": "float32[2]",
    }
    assert contents["tensors"]["count"] == 4
    assert data["details"]["archive_extra"]["training.json"] == {"epoch": 3, "val_acc": 0.5}
    assert data["details"]["archive_extra"]["a.txt"] == "hi"
    # The archive's own class names (its module pickle) do not turn the verdict into "unsafe".
    assert data["unsafe_globals"] == []


def test_export_tensors_and_program_metadata_are_shown(archives: Path) -> None:
    import torch

    data = show(archives / "exported.pt")
    assert data["safety"] == "code"
    contents = data["details"]["archive_contents"]
    assert contents["parameters_and_buffers"]["tensors"] == {
        "lin.weight": "float32[2, 4]",
        "lin.bias": "float32[2]",
        "scale": "float32[2]",
    }
    assert contents["constants"]["tensors"] == {"offset": "float32[2]"}
    program = contents["program"]
    assert program["torch_version"] == torch.__version__
    assert program["inputs"]["parameter"] == 2 and program["inputs"]["user_input"] == 1
    assert program["graph_nodes"] >= 3
    assert data["details"]["archive_extra"]["note.json"] == {"k": 1}


def test_archive_contents_reach_the_catalog_entry(archives: Path) -> None:
    from ckpt_tui import build_catalog

    entries = {e.file_name: e for e in build_catalog(archives, use_cache=False).entries}
    assert entries["scripted.pt"].details["archive_contents"]["tensors"]["count"] == 4
    assert entries["exported.pt"].safety == "code"


def test_the_detail_pane_lists_an_archives_tensors(archives: Path) -> None:
    from datetime import datetime, timezone

    from ckpt_tui import build_catalog
    from ckpt_tui.tui.widgets.detail_sections import render_sections

    entries = {e.file_name: e for e in build_catalog(archives, use_cache=False).entries}
    sections = render_sections(entries["exported.pt"], datetime.now(timezone.utc))
    (archive,) = [
        s for s in sections if s.heading is not None and s.heading.plain == "Archive contents"
    ]
    rows = {label.plain: value.plain for label, value in archive.rows}
    assert rows["lin.weight"] == "float32[2, 4]"
    assert rows["offset"] == "float32[2]"


class Payload:
    """Pickles as os.system creating a marker file, if anything ever ran it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, (f"touch {self.marker}",))


def test_hostile_archives_are_described_never_run(tmp_path: Path) -> None:
    import pickle
    import zipfile

    from ckpt_tui.sources.details import checkpoint_details

    marker = tmp_path / "PWNED"
    scripted = tmp_path / "evil_script.pt"
    with zipfile.ZipFile(scripted, "w") as archive:
        archive.writestr("evil/constants.pkl", pickle.dumps((), protocol=2))
        archive.writestr("evil/data.pkl", pickle.dumps({"w": Payload(marker)}, protocol=2))
        archive.writestr("evil/extra/deep.json", "[" * 100_000 + "]" * 100_000)
        archive.writestr("evil/version", "3")
    exported = tmp_path / "evil_export.pt2"
    with zipfile.ZipFile(exported, "w") as archive:
        archive.writestr("evil/archive_format", "pt2")
        archive.writestr("evil/models/model.json", '{"graph_module": {"graph": "not a dict"},'
                         ' "torch_version": {"a": [1]}}')  # fmt: skip
        archive.writestr("evil/data/weights/model_weights_config.json", '{"config": [1, 2]}')
        archive.writestr(
            "evil/data/constants/model_constants_config.json",
            json.dumps({"config": {"c": {"tensor_meta": {"dtype": "x", "sizes": "y"}}}}),
        )
    for path in (scripted, exported):
        details = checkpoint_details(path)
        assert "archive_contents" in details
        json.dumps(details)  # plain data only
    assert checkpoint_details(exported)["archive_contents"]["constants"]["tensors"] == {"c": "?[]"}
    assert show(scripted)["safety"] == "code"
    assert not marker.exists()
