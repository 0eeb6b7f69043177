"""Small inputs that make the reader repeat big work: one object built once, used a million times.

Each hostile pickle is a few MB at most and read with the default limits in a bounded subprocess
(1.5 GiB, a minute: the reader without the bounds needed minutes or gigabytes). What bounds the
work is asserted by count: the pickle refused with the budget's own message, or the value cut.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hardening_helpers import bounded_python
from reader_pickles import Asm, zip_checkpoint

from ckpt_tui.reader.unpickle.machine import Limits, UnpicklingError, unpickle
from ckpt_tui.reader.unpickle.plain import MAX_CHARS, MAX_STRING, TooComplex, to_plain
from ckpt_tui.reader.unpickle.resolve import Resolver

_ROOT = Path(__file__).resolve().parents[2]

_INSPECT = """
import json, sys
from pathlib import Path
from ckpt_tui.reader import inspect_checkpoint
result = inspect_checkpoint(Path(sys.argv[1]))
print(json.dumps({
    "safety": result.safety,
    "issues": [[issue.code, issue.message] for issue in result.issues],
    "unsafe_globals": result.unsafe_globals,
}))
"""


def inspect_bounded(path: Path) -> dict[str, Any]:
    """``inspect_checkpoint(path)`` in a subprocess limited in memory and time."""
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    done = bounded_python(_INSPECT, str(path), env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout))


def messages(result: dict[str, Any]) -> str:
    return " | ".join(message for _code, message in result["issues"])


# -- tuple keys: hashed (and checked) at every use -------------------------------------------------

_BIG_KEY = 9_000  # values in the memoized tuple (under the 10,000 one key may hold)


def _big_key(asm: Asm) -> Asm:
    """A tuple of ``_BIG_KEY`` small ints in memo slot 0, popped off the stack."""
    return asm.mark().raw(b"K\x01" * _BIG_KEY).tuple().put(0).pop()


def _keys_pickle(route: str, uses: int, prefix: bytes = b"") -> bytes:
    """The big tuple used ``uses`` times as a key or member, through ``route``."""
    asm = _big_key(Asm().raw(prefix))
    if route == "setitems":
        return asm.empty_dict().mark().raw(b"h\x00N" * uses).setitems().stop()
    if route == "additems":
        return asm.raw(b"\x8f").mark().raw(b"h\x00" * uses).raw(b"\x90").stop()
    if route == "frozenset":
        return asm.mark().raw(b"h\x00" * uses).raw(b"\x91").stop()
    if route == "set":
        asm.glob("builtins", "set").mark().raw(b"h\x00" * uses).raw(b"l")
        return asm.tuple1().reduce().stop()
    assert route == "ordered_dict"
    asm.get(0).none().tuple2().put(1).pop()  # one (key, value) pair, in slot 1
    asm.glob("collections", "OrderedDict").mark().raw(b"h\x01" * uses).raw(b"l")
    return asm.tuple1().reduce().stop()


KEY_ROUTES = ["setitems", "additems", "frozenset", "set", "ordered_dict"]


@pytest.mark.parametrize("route", KEY_ROUTES)
def test_key_checks_are_counted_per_pickle(route: str) -> None:
    """Every use of a big key counts against one budget for the pickle, whatever the route."""
    data = _keys_pickle(route, 12)  # 108k values in all
    with pytest.raises(UnpicklingError, match="more than 100000 values in all"):
        unpickle(data, Resolver(), None, limits=Limits(max_key_steps=100_000))
    # Within the budget the same keys are fine, and the budget starts afresh for each pickle.
    resolver = Resolver()
    for _ in range(3):
        unpickle(data, resolver, None, limits=Limits(max_key_steps=120_000))


def test_one_key_used_a_million_times(tmp_path: Path) -> None:
    """9,000 values hashed a million times (9e9 steps) are refused after the budget."""
    path = zip_checkpoint(tmp_path / "keys.ckpt", _keys_pickle("setitems", 1_000_000))
    result = inspect_bounded(path)
    assert result["safety"] == "unreadable"
    assert "values in all" in messages(result)


def test_a_refused_pickle_keeps_the_unsafe_globals_read_before(tmp_path: Path) -> None:
    prefix = bytes(Asm(0).glob("os", "system").pop().b)
    path = zip_checkpoint(tmp_path / "keys.ckpt", _keys_pickle("frozenset", 1_000_000, prefix))
    result = inspect_bounded(path)
    assert result["safety"] == "unsafe"
    assert result["unsafe_globals"] == ["os.system"]
    assert "values in all" in messages(result)


# -- BUILD: the state dict merged into the record's ------------------------------------------------


def _build_pickle(keys: int, builds: int) -> bytes:
    """A ``keys``-key dict in memo slot 0, given to one record's BUILD ``builds`` times."""
    asm = Asm().empty_dict().mark()
    for i in range(keys):
        asm.raw(b"M" + i.to_bytes(2, "little")).none()
    asm.setitems().put(0).pop()
    asm.glob("argparse", "Namespace").empty_tuple().newobj()
    return asm.raw(b"h\x00b" * builds).stop()


def test_build_counts_the_state_it_copies() -> None:
    data = _build_pickle(1_000, 30)
    with pytest.raises(UnpicklingError, match="more than 20000 objects"):
        unpickle(data, Resolver(), None, limits=Limits(max_objects=20_000))
    value, _end = unpickle(data, Resolver(), None, limits=Limits(max_objects=40_000))
    assert value.state == dict.fromkeys(range(1_000))


def test_build_updates_a_copy_of_the_state() -> None:
    """Later BUILDs add to the record's state; the dict the pickle built stays as it was."""
    asm = Asm().empty_dict().str("a").int(1).setitem().put(0)  # the first state, kept on the stack
    asm.glob("argparse", "Namespace").empty_tuple().newobj().get(0).build()
    asm.empty_dict().str("b").int(2).setitem().build()
    asm.empty_dict().str("a").int(3).setitem().build()
    first, record = unpickle(asm.tuple2().stop(), Resolver(), None)[0]
    assert first == {"a": 1}
    assert record.state == {"a": 3, "b": 2}


def test_one_state_built_a_million_times(tmp_path: Path) -> None:
    """A 50,000-key state given to a million BUILDs (5e10 copies) is refused by the budget."""
    path = zip_checkpoint(tmp_path / "build.ckpt", _build_pickle(50_000, 1_000_000))
    result = inspect_bounded(path)
    assert result["safety"] == "unreadable"
    assert "more than 2000000 objects" in messages(result)


# -- to_plain: a (dict, slots) state merged at every visit -----------------------------------------


def _slots_pickle(keys: int, references: int) -> bytes:
    """``{"hyper_parameters": [record] * references}``, the record's state ``(dict, slots)``
    with a ``keys``-key dict (the slots name OmegaConf's ``_content``: only it is walked)."""
    asm = Asm().empty_dict().mark()
    asm.raw(b"".join(b"J" + i.to_bytes(4, "little") + b"N" for i in range(keys)))
    asm.setitems().put(0).pop()
    asm.glob("argparse", "Namespace").empty_tuple().newobj().get(0)
    asm.empty_dict().mark().str("_content").int(1).str("_metadata").none().setitems()
    asm.tuple2().build().put(1).pop()
    asm.empty_dict().str("hyper_parameters").mark().raw(b"h\x01" * references).raw(b"l")
    return asm.setitem().stop()


def test_slots_state_merges_count_against_the_walk() -> None:
    root, _end = unpickle(_slots_pickle(1_000, 50), Resolver(), None)
    assert to_plain(root["hyper_parameters"][:1]) == [1]
    with pytest.raises(TooComplex, match="more values"):
        to_plain(root["hyper_parameters"], max_nodes=10_000)


def test_one_slots_state_referenced_many_times(tmp_path: Path) -> None:
    """A 300,000-key state merged for 90,000 references (2.7e10 copies) stops the walk."""
    path = zip_checkpoint(tmp_path / "slots.ckpt", _slots_pickle(300_000, 90_000))
    result = inspect_bounded(path)
    assert result["safety"] == "safe"  # the hyper-parameters are left out, not the file
    assert ["checkpoint.too-complex", "hyper_parameters: more values than the reader walks"] in (
        result["issues"]
    )


# -- plain values: one long string shared many times -----------------------------------------------


def test_long_and_shared_strings_are_cut() -> None:
    long = "x" * (MAX_STRING + 5)
    assert to_plain({"text": long}) == {"text": "x" * MAX_STRING + "… (+5 chars)"}
    shared = "A" * 1_000
    plain = to_plain({"key": [shared] * 6}, max_chars=3_503)  # "key" costs 3 characters
    assert plain["key"][:3] == [shared] * 3
    assert plain["key"][3:] == ["A" * 500 + "… (+500 chars)"] + ["… (+1000 chars)"] * 2


_DETAILS = """
import json, sys
from pathlib import Path
from ckpt_tui.reader import inspect_checkpoint
from ckpt_tui.sources.details import inspection_details
inspection = inspect_checkpoint(Path(sys.argv[1]))
shown = inspection_details(inspection, hparams_limit=None)  # what show prints
kept = inspection_details(inspection)  # what list keeps
print(json.dumps({"shown": len(json.dumps(shown)), "tags": shown["hyper_parameters"]["tags"],
                  "kept": kept["hyper_parameters"], "issues": len(inspection.issues)}))
"""


def test_one_string_shared_a_thousand_times(tmp_path: Path) -> None:
    """A real-looking checkpoint (~1 MB): its hyper-parameters share one 1 MB string a thousand
    times, a gigabyte once written out. What ``show`` and ``list`` keep is cut."""
    asm = Asm().empty_dict().mark().str("epoch").int(1).str("hyper_parameters")
    asm.empty_dict().mark().str("lr").int(3).str("tags").empty_list().mark()
    asm.str("A" * (1 << 20)).put(0).raw(b"h\x00" * 999).appends().setitems().setitems()
    path = zip_checkpoint(tmp_path / "shared.ckpt", asm.stop())
    done = bounded_python(_DETAILS, str(path), env={**os.environ, "PYTHONPATH": str(_ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["issues"] == 0
    assert result["shown"] < 2 * MAX_CHARS
    tags = result["tags"]
    assert len(tags) == 1_000
    assert tags[0] == "A" * MAX_STRING + f"… (+{(1 << 20) - MAX_STRING} chars)"
    assert tags[-1] == f"… (+{1 << 20} chars)"
    assert list(result["kept"]) == ["(too large to keep)"]


# -- reader functions: one big argument copied at every call --------------------------------------


def _copies_pickle(function: str, argument: bytes, calls: int) -> bytes:
    """``[function(argument)] * calls``, each call a fresh copy; the argument is in slot 0."""
    asm = Asm().raw(argument).tuple1().put(0).pop()
    asm.glob(*function.rsplit(".", 1)).put(1).pop()
    return asm.mark().raw(b"h\x01h\x00R" * calls).raw(b"l").stop()


COPIES = {
    "builtins.list": b"(" + b"N" * 1_000 + b"l",
    "collections.OrderedDict": b"}("
    + b"".join(b"M" + i.to_bytes(2, "little") + b"N" for i in range(1_000))
    + b"u",
    "builtins.bytearray": b"B" + (128_000).to_bytes(4, "little") + b"\0" * 128_000,
}


@pytest.mark.parametrize("function", sorted(COPIES))
def test_copies_made_by_reader_functions_are_counted(function: str) -> None:
    data = _copies_pickle(function, COPIES[function], 30)
    with pytest.raises(UnpicklingError, match="more than 20000 objects"):
        unpickle(data, Resolver(), None, limits=Limits(max_objects=20_000))
    unpickle(data, Resolver(), None, limits=Limits(max_objects=40_000))


def test_one_blob_copied_a_thousand_times(tmp_path: Path) -> None:
    """bytearray() of one 8 MB blob a thousand times (8 GB) is refused by the object budget."""
    blob = b"B" + (8 << 20).to_bytes(4, "little") + b"\0" * (8 << 20)
    path = zip_checkpoint(
        tmp_path / "copies.ckpt", _copies_pickle("builtins.bytearray", blob, 1_000)
    )
    result = inspect_bounded(path)
    assert result["safety"] == "unreadable"
    assert "more than 2000000 objects" in messages(result)
