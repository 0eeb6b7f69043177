"""Files with two faces: what the reader takes them for, and what torch.load reads in them.

torch.load reads a zip by its first bytes, anything else as a tar archive when tarfile can read
its first header, else as a pickle from the first byte; its zip reader finds members whatever
their case. A file made to look like one thing to the reader and another to torch must be judged
by what torch would read: never ``safe`` when that runs code. Each case checks, with torch itself
(``weights_only=True`` or its zip reader, which run nothing), that torch takes the hostile path.
"""

from __future__ import annotations

import io
import itertools
import json
import pickle
import struct
import tarfile
import zipfile
from pathlib import Path

import pytest

from ckpt_tui.reader import inspect_checkpoint
from ckpt_tui.sources.folder_files import list_folder

PAYLOAD = b"cos\nsystem\n(S'echo ran'\ntR."
"""A protocol-0 pickle that calls os.system (never loaded here but by torch's refusing reader)."""


def _legacy_header() -> bytes:
    """The five pickles of an empty legacy checkpoint: magic number, version, sys_info, {}, []."""
    magic = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"."
    return magic + b"\x80\x02M\xe9\x03." + b"\x80\x02}." + b"\x80\x02}." + b"\x80\x02]."


def tar_polyglot(path: Path) -> Path:
    """An empty legacy checkpoint that is also a tar archive whose ``storages`` runs code."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in (("placeholder", b"x"), ("storages", PAYLOAD)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = bytearray(buffer.getvalue())
    header = raw[:512]
    pickles = _legacy_header()
    header[0:100] = pickles + b"\0" * (100 - len(pickles))  # the name field: the pickles
    header[257:265] = b"\0" * 8  # a v7 header: tarfile needs no "ustar" magic
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    raw[:512] = header
    path.write_bytes(bytes(raw))
    return path


def case_polyglot(path: Path) -> Path:
    """A real ``torch.save`` zip plus ``archive/DATA.PKL``, a pickle that runs code."""
    import torch

    saved = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, saved)
    source = zipfile.ZipFile(io.BytesIO(saved.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info.filename))
        archive.writestr("archive/DATA.PKL", b"\x80\x02" + PAYLOAD)
    return path


def safetensors_polyglot(path: Path) -> Path:
    """A valid safetensors file whose first bytes also open a pickle: ``S'`` and six NULs are the
    header's length, the header (JSON and spaces) is the STRING's text, and the one uint8 tensor
    holds the rest of the pickle: the STRING's closing quote, POP, then a call of os.system."""
    length = struct.unpack("<Q", b"S'" + b"\0" * 6)[0]
    data = b"'\n0" + PAYLOAD
    table = {"x": {"dtype": "U8", "shape": [len(data)], "data_offsets": [0, len(data)]}}
    header = json.dumps(table).encode()
    path.write_bytes(b"S'" + b"\0" * 6 + header.ljust(length) + data)
    return path


def _globals_called(data: bytes) -> list[str]:
    """The GLOBALs that pickle.load of ``data`` would import and call (read, never run)."""
    import pickletools

    ops = [(op.name, arg) for op, arg, _pos in pickletools.genops(data)]
    pairs = itertools.pairwise(ops)
    return [arg for (name, arg), after in pairs if name == "GLOBAL" and after[0] == "MARK"]


def test_a_legacy_checkpoint_that_is_also_a_tar_is_not_safe(tmp_path: Path) -> None:
    import torch

    path = tar_polyglot(tmp_path / "model.ckpt")
    with tarfile.open(path, mode="r:", format=tarfile.PAX_FORMAT) as tar:  # what torch opens
        member = tar.extractfile("storages")
        assert member is not None and member.read() == PAYLOAD
    with pytest.raises(RuntimeError, match=r"legacy \.tar format"):
        torch.load(path, weights_only=True)  # torch takes the tar path
    inspection = inspect_checkpoint(path)
    assert inspection.safety == "unreadable"
    assert [i.code for i in inspection.issues] == ["checkpoint.unsupported"]
    assert "tar" in inspection.issues[0].message


def test_a_member_named_in_another_case_is_not_hidden(tmp_path: Path) -> None:
    import torch

    path = case_polyglot(tmp_path / "model.ckpt")
    reader = torch._C.PyTorchFileReader(str(path))
    assert bytes(reader.get_record("data.pkl")) == b"\x80\x02" + PAYLOAD  # torch finds DATA.PKL
    inspection = inspect_checkpoint(path)
    assert inspection.safety == "unreadable"
    errors = [i for i in inspection.issues if i.code == "checkpoint.zip-invalid"]
    assert errors and "ignores case" in errors[0].message
    assert "'archive/DATA.PKL'" in errors[0].message


def test_a_safetensors_file_that_is_also_a_pickle_is_unsafe(tmp_path: Path) -> None:
    import torch
    from safetensors import safe_open

    path = safetensors_polyglot(tmp_path / "model.safetensors")
    with safe_open(str(path), framework="pt") as opened:  # a valid safetensors file
        assert list(opened.keys()) == ["x"]
    # torch.load hands a path ending in .safetensors to safetensors; any other name, an open
    # file (or an older torch) is unpickled from its first byte, "S".
    renamed = path.rename(tmp_path / "model.bin")
    with pytest.raises(pickle.UnpicklingError, match="Unsupported operand 83"):
        torch.load(renamed, weights_only=True)
    assert _globals_called(renamed.read_bytes()) == ["os system"]
    for name in ("model.bin", "model.safetensors"):
        inspection = inspect_checkpoint(renamed.rename(tmp_path / name))
        assert inspection.format == "safetensors"
        assert inspection.safety == "unsafe" and inspection.unsafe_globals == ["os.system"]
        codes = {i.code for i in inspection.issues}
        assert {"security.unsafe-global", "checkpoint.polyglot"} <= codes
        renamed = tmp_path / name


def test_a_polyglot_shard_makes_its_folder_unsafe(tmp_path: Path) -> None:
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["BertModel"], "model_type": "bert"}')
    safetensors_polyglot(folder / "model.safetensors")
    files = list_folder(str(folder))
    safety, unsafe, _issues = files.verdicts["model.safetensors"]
    assert (safety, unsafe) == ("unsafe", ["os.system"])


def test_a_file_torch_reads_as_a_pickle_names_its_globals(tmp_path: Path) -> None:
    # Neither zip, tar, safetensors nor a pickle as torch writes one: still unpickled by torch.
    import torch

    path = tmp_path / "model.pt"
    path.write_bytes(b"S'x'\n0" + PAYLOAD)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported operand 83"):
        torch.load(path, weights_only=True)
    assert _globals_called(path.read_bytes()) == ["os system"]
    inspection = inspect_checkpoint(path)
    assert inspection.safety == "unsafe" and inspection.unsafe_globals == ["os.system"]


def test_plain_files_keep_their_verdicts(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(3)}, str(tmp_path / "a.safetensors"))
    torch.save({"w": torch.zeros(3)}, tmp_path / "b.pt", _use_new_zipfile_serialization=False)
    torch.save({"w": torch.zeros(3)}, tmp_path / "c.pt")
    for name, kind in (("a.safetensors", "safetensors"), ("b.pt", "legacy"), ("c.pt", "zip")):
        inspection = inspect_checkpoint(tmp_path / name)
        assert (inspection.format, inspection.safety, inspection.issues) == (kind, "safe", [])
