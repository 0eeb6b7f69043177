"""The zip directory's quick parse against its member-by-member one.

``zipdir._parse_clean`` walks a well-formed directory and checks names and sizes all at once; it
must give exactly what ``_parse_checked`` gives, and hand anything unusual over to it.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from ckpt_tui.reader import zipdir


def _directory(path: Path) -> tuple[bytes, int, int]:
    """The central directory of ``path``, its member count and where it ends (no zip64)."""
    data = path.read_bytes()
    eocd = data.rfind(b"PK\x05\x06")
    _sig, _disk, _cd_disk, _here, count, size, offset, _comment = struct.unpack_from(
        "<4s4H2LH", data, eocd
    )
    return data[offset : offset + size], count, eocd


def _both(path: Path) -> tuple[zipdir.Directory | None, zipdir.Directory]:
    directory, count, end = _directory(path)
    checked, _issues = zipdir._parse_checked(directory, count, end, duplicates_ok=True)
    return zipdir._parse_clean(directory, count, end), checked


def test_real_checkpoints_parse_the_same(torch_files: dict[str, Path], lightning_run: Path) -> None:
    paths = [p for p in torch_files.values() if zipfile.is_zipfile(p)]
    paths += sorted(lightning_run.glob("*.ckpt"))
    for path in paths:
        clean, checked = _both(path)
        assert clean is not None, path.name
        assert list(clean.entries.items()) == list(checked.entries.items())
        assert clean.pickles == checked.pickles and len(clean.pickles) == 1


def _zip(path: Path, names: list[str]) -> Path:
    # zipfile cuts names at a NUL: write a stand-in and patch the NUL into the headers after.
    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            z.writestr(name.replace("\x00", "_NUL_"), b"x" * 3)
    data = path.read_bytes()
    for name in names:
        if "\x00" in name:
            stand_in = name.replace("\x00", "_NUL_").encode()
            data = data.replace(stand_in, name.encode().ljust(len(stand_in), b"_"))
    path.write_bytes(data)
    return path


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize(
    "names",
    [
        ["a/data.pkl", "a/data/0", "a/xdata.pkl", "b/c/data.pkl", "data.pkl", "a/data.pkl.1"],
        ["a/data.pkl", "../evil", "a/data/0"],  # a traversal name: reported by the checked parse
        ["a/data.pkl", "/abs"],
        ["a/data.pkl", "a/\\win"],
        ["a/data.pkl", "a/da\x00ta"],
        ["a/data.pkl", "a/données"],  # not ASCII
        ["a/data.pkl", "a/x", "a/x"],  # repeated
        ["a/..data.pkl"],
        [],
    ],
)
def test_unusual_names_go_to_the_checked_parse(names: list[str], tmp_path: Path) -> None:
    clean, checked = _both(_zip(tmp_path / "t.zip", names))
    if clean is not None:  # only for names the quick parse can take as they are
        assert list(clean.entries.items()) == list(checked.entries.items())
        assert clean.pickles == checked.pickles
    unusual = any(
        ".." in n or "\x00" in n or n[:1] in "/\\" or not n.isascii() or names.count(n) > 1
        for n in names
    )
    assert (clean is None) == (unusual or not names)


def test_members_past_the_end_go_to_the_checked_parse(tmp_path: Path) -> None:
    path = _zip(tmp_path / "t.zip", ["a/data.pkl", "a/data/0"])
    directory, count, end = _directory(path)
    assert zipdir._parse_clean(directory, count, end) is not None
    assert zipdir._parse_clean(directory, count, 40) is None
    with pytest.raises(zipdir.FormatError, match="extends past the end"):
        zipdir._parse_checked(directory, count, 40)
    assert zipdir._parse_clean(directory, count + 1, end) is None  # shorter than declared
    assert zipdir._parse_clean(b"PK\x01\x03" + directory[4:], count, end) is None
