"""The safety verdict against torch's own safe loader, on real files.

A file is ``safe`` exactly when ``torch.load(weights_only=True)`` loads it with the reader's
documented extra allowlist (``EXTRA_ALLOWED``) passed to ``torch.serialization.safe_globals``;
hostile files are never ``safe``; TorchScript and torch.export archives are ``code``.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

import pytest
from reader_pickles import hostile_pickles, legacy_checkpoint, zip_checkpoint

from ckpt_tui.reader import inspect_checkpoint
from ckpt_tui.reader.unpickle.allowlist import ALLOWED, EXTRA_ALLOWED, TORCH_ALLOWED


def _resolve(qualname: str) -> Any:
    """The object ``qualname`` names, or ``None`` when this environment has no such name."""
    module, _, name = qualname.rpartition(".")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy.core's deprecation notice
            return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _extras() -> list[Any]:
    import numpy as np

    named = [(obj, name) for name in EXTRA_ALLOWED if (obj := _resolve(name)) is not None]
    # torch also checks the type of what BUILD updates: a numpy dtype's class (Float64DType...)
    # is no global any pickle names, only the type of what ``numpy.dtype`` returns.
    dtype_classes = {type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDG"}
    return [*named, *dtype_classes]


def torch_safe_load(path: Path) -> bool:
    """Whether torch's weights_only unpickler, with the documented extras, loads ``path``."""
    import torch

    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(_extras()):
            warnings.simplefilter("ignore")
            torch.load(path, weights_only=True)
    except Exception:
        return False
    return True


def test_torch_part_is_exactly_torchs_weights_only_set() -> None:
    from torch._weights_only_unpickler import _get_allowed_globals

    assert set(TORCH_ALLOWED) == set(_get_allowed_globals())
    assert all(reason for reason in ALLOWED.values())  # every entry says why


_NEWER_PROTOCOLS = ("zip_p3", "zip_p4", "zip_p5", "legacy_p4")


def test_newer_protocols_name_the_same_globals(torch_files: dict[str, Path]) -> None:
    protocol_2 = inspect_checkpoint(torch_files["zip_p2"])
    assert protocol_2.safety == "safe"
    for name in _NEWER_PROTOCOLS:
        assert inspect_checkpoint(torch_files[name]).safety == "safe", name


@pytest.fixture(scope="module")
def corpus(
    torch_files: dict[str, Path], lightning_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Real checkpoints: plain torch in every format, Lightning runs (OmegaConf and Namespace
    hyper-parameters), bf16 weights, a compiled model's ``_orig_mod.`` keys, numpy scalars."""
    import numpy as np
    import torch

    root = tmp_path_factory.mktemp("verdict")
    # torch's weights_only unpickler knows protocol 2's opcodes only (torch.save's default):
    # protocols 3-5 files fail there for their opcodes, not their globals (tested below).
    files = {
        name: p
        for name, p in torch_files.items()
        if p.suffix != ".safetensors" and name not in _NEWER_PROTOCOLS
    }
    files.update({f"lightning_{p.stem}": p for p in sorted(lightning_run.glob("*.ckpt"))})
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    files["bf16"] = root / "bf16.pt"
    torch.save({k: v.bfloat16() for k, v in model.state_dict().items()}, files["bf16"])
    compiled = torch.compile(model)  # no compilation happens until it is called
    assert all(k.startswith("_orig_mod.") for k in compiled.state_dict())
    files["compiled"] = root / "compiled.ckpt"
    torch.save({"state_dict": compiled.state_dict(), "epoch": 2}, files["compiled"])
    files["numpy_scalars"] = root / "np.pt"
    torch.save({"best": np.float64(0.5), "step": np.int64(3), "dtype": np.dtype("float32")},
               files["numpy_scalars"])  # fmt: skip
    return files


def test_safe_exactly_when_torch_weights_only_loads(corpus: dict[str, Path]) -> None:
    verdicts = {name: inspect_checkpoint(path).safety for name, path in corpus.items()}
    expected = {
        name: "safe" if torch_safe_load(path) else "unsafe" for name, path in corpus.items()
    }
    assert verdicts == expected
    # The corpus is no trivial one: ordinary training output is safe, a pickled module is not.
    assert all(v == "safe" for n, v in verdicts.items() if n.startswith("lightning_"))
    assert verdicts["bf16"] == verdicts["compiled"] == verdicts["zip_p2"] == "safe"
    assert verdicts["whole_module"] == "unsafe"


def test_hostile_files_are_never_safe(tmp_path: Path, marker: Path) -> None:
    for name, payload in hostile_pickles(marker).items():
        for container in ("zip", "legacy"):
            path = tmp_path / f"{container}-{name}.ckpt"
            if container == "zip":
                zip_checkpoint(path, payload)
            else:
                legacy_checkpoint(path, payload)
            result = inspect_checkpoint(path)
            assert result.safety == "unsafe", (name, container)
            assert not torch_safe_load(path), (name, container)


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real ``torch.jit.save`` (named ``.ckpt``, as torch.load would take it) and a real
    ``torch.export.save`` archive, each with an ``extra/`` file."""
    import torch

    root = tmp_path_factory.mktemp("archives")
    model = torch.nn.Linear(2, 2)
    script = root / "scripted.ckpt"
    exported = root / "exported.pt2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notices
        torch.jit.save(torch.jit.script(model), script, _extra_files={"meta.json": '{"epoch": 4}'})
        program = torch.export.export(model, (torch.zeros(1, 2),))
    torch.export.save(program, exported, extra_files={"note.txt": "trained on set A"})
    return {"TorchScript": script, "torch.export": exported}


@pytest.mark.parametrize("kind", ["TorchScript", "torch.export"])
def test_code_archives_are_code(kind: str, archives: dict[str, Path]) -> None:
    result = inspect_checkpoint(archives[kind])
    assert result.safety == "code"
    assert result.code_archive == kind
    issues = [i for i in result.issues if i.code == "security.code"]
    assert len(issues) == 1 and issues[0].severity == "warning"
    assert kind in issues[0].message and "runs the code" in issues[0].message
    assert not result.has_errors, result.issues
    expected = (
        {"meta.json": {"epoch": 4}} if kind == "TorchScript" else {"note.txt": "trained on set A"}
    )
    assert result.archive_extra == expected


def test_code_archive_whatever_its_extension(archives: dict[str, Path], tmp_path: Path) -> None:
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(archives["torch.export"].read_bytes())
    assert inspect_checkpoint(renamed).safety == "code"
