"""The restricted pickle machine, opcode by opcode, and the reader package's import hygiene."""

from __future__ import annotations

import ast
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from reader_pickles import Asm

from ckpt_tui.reader.unpickle.machine import Limits, TruncatedPickle, UnpicklingError, unpickle
from ckpt_tui.reader.unpickle.objects import Call, GlobalRef
from ckpt_tui.reader.unpickle.plain import TooComplex, to_plain
from ckpt_tui.reader.unpickle.resolve import Resolver


def run(data: bytes, **limits: int) -> Any:
    value, end = unpickle(data, Resolver(), None, limits=Limits(**limits))
    assert end == len(data)
    return value


def test_protocol_0_text_opcodes() -> None:
    data = (
        b"(dp0\nS'name'\np1\nVvalu\\u00e9\np2\nsS'n'\nI42\nsS'f'\nF1.5\nsS'l'\nL7L\nsS't'\nI01\ns."
    )
    assert run(data) == {"name": "valué", "n": 42, "f": 1.5, "l": 7, "t": True}


def test_protocol_4_framing_memoize_and_short_strings() -> None:
    frame = Asm(4).raw(b"\x95" + (0).to_bytes(8, "little"))
    data = (
        frame.empty_dict().memoize().mark().short_str("a").memoize().int(1)
        .short_str("b").raw(b"h\x01").setitems().stop()
    )  # fmt: skip
    assert run(data) == {"a": 1, "b": "a"}


def test_containers_bytes_and_longs() -> None:
    data = (
        Asm(4).mark().raw(b"\x8f").mark().int(1).int(2).raw(b"\x90")  # set via ADDITEMS
        .mark().int(3).raw(b"\x91")  # FROZENSET
        .raw(b"C\x02ab")  # SHORT_BINBYTES
        .raw(b"\x8a\x09" + (2**70).to_bytes(9, "little"))  # LONG1
        .raw(b"G" + struct.pack(">d", 2.5))  # BINFLOAT
        .raw(b"\x8d" + (3).to_bytes(8, "little") + b"xyz")  # BINUNICODE8
        .tuple().stop()
    )  # fmt: skip
    assert run(data) == ({1, 2}, frozenset({3}), b"ab", 2**70, 2.5, "xyz")


def test_sparse_memo_indices() -> None:
    data = Asm().int(5).raw(b"r\x00\x00\x00\x40").pop().raw(b"j\x00\x00\x00\x40").stop()
    assert run(data) == 5


def test_unknown_globals_become_inert_records() -> None:
    data = (
        Asm().glob("mylib.models", "Config").mark().int(1).tuple().reduce()
        .empty_dict().str("x").int(2).setitem().build().stop()
    )  # fmt: skip
    value = run(data)
    assert isinstance(value, Call) and isinstance(value.func, GlobalRef)
    assert (value.name, value.args, value.state) == ("mylib.models.Config", (1,), {"x": 2})
    assert to_plain(value) == {"__class__": "mylib.models.Config", "args": [1], "x": 2}


def test_dict_subclass_items_are_kept() -> None:
    data = (
        Asm().glob("lightning.fabric.utilities.data", "AttributeDict").empty_tuple().newobj()
        .mark().str("lr").int(3).setitems().empty_dict().build().stop()
    )  # fmt: skip
    assert to_plain(run(data)) == {"lr": 3}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (Asm().raw(b"\xff").stop(), "unknown opcode"),
        (Asm().raw(b"h\x07").stop(), "never set"),
        (Asm().raw(b"\x82\x01").stop(), "EXT"),
        (Asm().raw(b"\x97").stop(), "out-of-band"),
        (Asm().raw(b"u").stop(), "malformed"),
        (Asm().empty_list().empty_list().raw(b"s").stop(), "malformed"),
        (Asm().empty_dict().empty_list().int(1).setitem().stop(), "unhashable"),
        (b"\x80\x06.", "protocol 6"),
        (Asm().raw(b"\x8b" + (10**6).to_bytes(4, "little")).stop(), "LONG4"),
    ],
)
def test_malformed_streams(data: bytes, message: str) -> None:
    with pytest.raises(UnpicklingError, match=message):
        run(data)


def test_truncated_stream() -> None:
    with pytest.raises(TruncatedPickle):
        run(Asm().str("abc").stop()[:-3])
    with pytest.raises(TruncatedPickle):
        run(bytes(Asm().empty_dict().raw(b"X\xff\x00\x00\x00ab").b))


def test_limits() -> None:
    with pytest.raises(UnpicklingError, match="objects"):
        run(Asm().mark().raw(b"]" * 50).raw(b"l").stop(), max_objects=20)
    with pytest.raises(UnpicklingError, match="bytes"):
        run(Asm().str("x" * 100).stop(), max_bytes=50)
    with pytest.raises(UnpicklingError, match="objects"):
        run(Asm().raw(b"(" * 30).stop(), max_objects=20)  # each MARK allocates a list


def test_distinct_globals_are_capped() -> None:
    body = Asm().mark()
    for i in range(10_001):
        body.glob("m", f"g{i}")
    with pytest.raises(UnpicklingError, match="distinct globals"):
        run(body.tuple().stop())


def test_plain_conversion_is_bounded_and_cycle_safe() -> None:
    shared: list[Any] = []
    for _ in range(40):
        shared = [shared, shared]  # 2**40 leaves if walked as a tree
    with pytest.raises(TooComplex):
        to_plain(shared)
    loop: dict[str, Any] = {}
    loop["self"] = loop
    assert to_plain(loop) == {"self": "<cycle>"}


def test_reader_imports_neither_pickle_nor_torch(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "x.pt"
    torch.save({"epoch": 1, "w": torch.ones(2)}, path)
    code = (
        "import sys; from pathlib import Path\n"
        "import ckpt_tui.reader as r, ckpt_tui.sources.statedict\n"
        f"res = r.inspect_checkpoint(Path({str(path)!r}))\n"
        "assert res.epoch == 1, res\n"
        "bad = {'pickle', '_pickle', 'torch', 'numpy', 'lightning', 'textual'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_reader_imports_no_pickle_module() -> None:
    """No module loads a pickle with the ``pickle`` module, and nothing calls torch.load unsafely.

    Only the demo writer imports ``pickle`` (to write legacy-format files reproducibly).
    """
    package = Path(__file__).resolve().parents[2] / "ckpt_tui"
    for source in package.rglob("*.py"):
        tree = ast.parse(source.read_text())
        in_demo = source.relative_to(package).parts[0] == "demo"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and not in_demo:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                assert "pickle" not in [*names, getattr(node, "module", None)], source
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                loads = node.value.id == "pickle" and node.attr in {"load", "loads", "Unpickler"}
                assert not loads, source
            if isinstance(node, ast.keyword) and node.arg == "weights_only":
                assert not (isinstance(node.value, ast.Constant) and node.value.value is False)
