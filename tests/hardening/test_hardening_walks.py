"""Small checkpoints that name the same things many times: shared dicts and long key prefixes.

A pickle can reference one dict from every key of another (memo), so listing the weights walks
it once per reference; and a long key prefix is copied into every tensor name under it. The
lists are cut at a budget, with a ``checkpoint.too-complex`` error, so a few KB (or an 8 MB
``torch.save``) never cost minutes or gigabytes. Each read runs in a bounded subprocess.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from hardening_helpers import bounded_python
from reader_pickles import zip_checkpoint

_INSPECT = """
import json, sys
from ckpt_tui.reader import inspect_checkpoint
inspection = inspect_checkpoint(sys.argv[1])
print(json.dumps({
    "safety": inspection.safety,
    "tensors": len(inspection.tensors),
    "longest": max(map(len, inspection.tensors), default=0),
    "archive": json.dumps(inspection.archive_contents or {})[:100000],
    "issues": [[i.code, i.message] for i in inspection.issues],
}))
"""


def _inspect(path: Path) -> dict[str, object]:
    done = bounded_python(_INSPECT, str(path))
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _text(value: str) -> bytes:
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def test_a_dict_shared_by_every_key_is_walked_within_a_budget(tmp_path: Path) -> None:
    # Seven levels of a 40-key dict whose values are all the next level: 40**7 paths, 3.6 KB.
    data = b"\x80\x02}r\x00\x00\x00\x00"
    for level in range(1, 8):
        data += b"}r" + struct.pack("<I", level) + b"("
        for key in range(40):
            data += _text(f"k{key}") + b"j" + struct.pack("<I", level - 1)
        data += b"u"
    data += b"0}" + _text("net") + b"j" + struct.pack("<I", 7) + b"s."
    result = _inspect(zip_checkpoint(tmp_path / "fan.ckpt", data))
    assert result["safety"] == "safe"
    assert ["checkpoint.too-complex", "only the first 0 tensors are listed: their names or "
            "nesting are too many"] in result["issues"]  # fmt: skip


def test_a_long_prefix_is_not_copied_into_every_name(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "prefix.ckpt"
    one = torch.zeros(1)
    torch.save({"state_dict": {"X" * (8 << 20): {str(i): one for i in range(200)}}}, path)
    result = _inspect(path)
    assert 0 < int(str(result["tensors"])) < 200
    assert any(code == "checkpoint.too-complex" for code, _ in result["issues"])  # type: ignore[misc]


def test_a_torchscript_listing_shortens_long_names(tmp_path: Path) -> None:
    import torch

    saved = tmp_path / "prefix.ckpt"
    one = torch.zeros(1)
    torch.save({"X" * (1 << 20): {str(i): one for i in range(100)}}, saved)
    import zipfile

    archive = tmp_path / "scripted.pt"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(archive, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr("prefix/constants.pkl", b"\x80\x02).")  # what makes it TorchScript
    result = _inspect(archive)
    assert result["safety"] == "code"
    listing = json.loads(str(result["archive"]))["tensors"]
    assert listing["count"] == 16 and "cut_short" in listing  # 16 MiB of names, then it stops
    assert all(len(name) <= 300 for name in listing["tensors"])
