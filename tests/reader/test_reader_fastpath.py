"""The unpickler's tensor fast path against its opcode loop: identical results, whatever the bytes.

Every test runs the same pickle twice, with the fast path off and on, and compares everything a
run shows (``reader_fastpath_cases.outcome``): the object and which objects are shared, every
memo slot, the storages, the unsafe names and calls, the error and its message. The pickles
are real ``torch.save`` output (protocols 2-5, a ResNet-50 layout with Adam state, the Lightning
files), edits of it that break each assumption of the fast path, every truncation, every object
budget, and seeded random mutations. Each test also checks the fast path really ran, so that it
cannot pass by comparing the loop with itself.
"""

from __future__ import annotations

import random
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reader_fastpath_cases import (
    compare,
    data_pkl,
    fast_path,
    get_op,
    outcome,
    record_ops,
    record_starts,
    with_memo_dump,
)

from ckpt_tui.reader import inspect_checkpoint
from ckpt_tui.reader.unpickle.machine import Limits, unpickle
from ckpt_tui.reader.unpickle.resolve import Resolver
from ckpt_tui.reader.zipformat import _storage_loader


def _adam_checkpoint() -> dict[str, Any]:
    """A Lightning-shaped checkpoint: a narrow ResNet-50, its Adam state, and odd tensors."""
    import torch
    from reader_models import ResNet

    torch.manual_seed(0)
    model = ResNet(50, scale=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for param in model.parameters():
        param.grad = torch.randn_like(param)
    optimizer.step()
    base = torch.randn(4, 6)
    odd = {
        "base": base,
        "view": base[1],  # shares base's storage: the key is a memo GET, not a new string
        "transposed": base.t(),
        "grad": torch.randn(3, requires_grad=True),  # NEWTRUE
        "conv3d": torch.zeros(2, 3, 1, 2, 2),
        "seven_dims": torch.zeros(1, 1, 1, 1, 1, 1, 2),  # more than the pattern's six
        "scalar": torch.tensor(0.5),
        "empty": torch.zeros(0, 3),
        "int8": torch.tensor([1, -2], dtype=torch.int8),
        "bool": torch.tensor([True]),
        "bf16": torch.ones(2, dtype=torch.bfloat16),
        "float8": torch.zeros(2, dtype=torch.float8_e4m3fn),  # _rebuild_tensor_v3: the loop's
        "big_stride": torch.zeros(2, 70000)[:, ::2],  # BININT strides
    }
    return {
        "epoch": 3,
        "global_step": 40,
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        "odd": odd,
        "optimizer_states": [optimizer.state_dict()],
        "hyper_parameters": {"lr": 1e-3},
    }


@pytest.fixture(scope="module")
def adam() -> dict[str, Any]:
    return _adam_checkpoint()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_real_checkpoint_every_protocol(adam: dict[str, Any], protocol: int) -> None:
    data = data_pkl(adam, protocol)
    records = len(record_starts(data))
    _outcome, hits = compare(with_memo_dump(data))
    assert records > 500
    # Protocols 4 and 5 cut the pickle into frames: records with a FRAME inside go to the loop.
    assert hits >= records * (0.95 if protocol < 4 else 0.8), (hits, records)


def test_inspection_is_identical(adam: dict[str, Any], tmp_path: Path) -> None:
    import torch

    path = tmp_path / "adam.ckpt"
    torch.save(adam, path)
    with fast_path(False):
        slow = inspect_checkpoint(path)
    with fast_path(True) as hits:
        quick = inspect_checkpoint(path)
    assert hits[0] > 500
    assert quick == slow
    assert not quick.has_errors, quick.issues
    assert quick.optimizer == "Adam" and quick.epoch == 3


def _zip_pickle(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        (name,) = [n for n in z.namelist() if n.endswith("data.pkl")]
        return z.read(name)


def test_real_fixture_files(torch_files: dict[str, Path], lightning_run: Path) -> None:
    zips = [p for _name, p in sorted(torch_files.items()) if zipfile.is_zipfile(p)]
    files = zips + sorted(lightning_run.glob("*.ckpt"))
    total = 0
    for path in files:
        _outcome, hits = compare(with_memo_dump(_zip_pickle(path)))
        total += hits
        with fast_path(False):
            slow = inspect_checkpoint(path)
        with fast_path(True):
            assert inspect_checkpoint(path) == slow, path.name
    assert total >= 2 * len(files)


# -- edits that break one assumption of the fast path each ----------------------------------------


def _base(long_slots: bool, protocol: int = 2) -> bytes:
    import torch

    torch.manual_seed(1)
    obj: dict[str, Any] = {"pad": [f"s{i}" for i in range(300)]} if long_slots else {}
    obj.update(
        a=torch.randn(2, 3),
        b=torch.randn(4),
        c=torch.randn(2, 2, 2, 2),
        d=torch.tensor(1.5),
        e=torch.randn(4),  # as b: the fast path's cached memo reads serve it
        f=torch.randn(5, 1),
    )
    return data_pkl(obj, protocol)


@pytest.fixture(scope="module", params=[False, True], ids=["short-slots", "long-slots"])
def base(request: pytest.FixtureRequest) -> bytes:
    return _base(request.param)


def _ops(data: bytes, record: int, *names: str) -> list[tuple[Any, int, int]]:
    """(argument, offset, length) of the ``names`` opcodes of tensor record ``record`` (counted
    from the first record the fast path can take)."""
    found = record_ops(data, record_starts(data)[record])
    return [(arg, at, length) for name, arg, at, length in found if name in names]


_GETS = ("BINGET", "LONG_BINGET")
_PUTS = ("BINPUT", "LONG_BINPUT")
_INTS = ("BININT1", "BININT2", "BININT")


def _splice(data: bytes, at: int, length: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + length :]


def _put_to(record: int, nth: int, slot: Callable[[bytes], int]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        _arg, at, length = _ops(data, record, *_PUTS)[nth]
        new = b"q" + bytes([slot(data)]) if length == 2 else b"r" + struct.pack("<I", slot(data))
        return _splice(data, at, length, new)

    return edit


def _get_to(record: int, nth: int, slot: Callable[[bytes], int]) -> Callable[[bytes], bytes]:
    # The record's GETs: 'storage', storage type, location, hooks factory.
    def edit(data: bytes) -> bytes:
        _arg, at, length = _ops(data, record, *_GETS)[nth]
        return _splice(data, at, length, get_op(slot(data)))

    return edit


def _key_slot(record: int) -> Callable[[bytes], int]:
    return lambda data: int(_ops(data, record, *_PUTS)[0][0])


def _get_slot(record: int, nth: int) -> Callable[[bytes], int]:
    return lambda data: int(_ops(data, record, *_GETS)[nth][0])


def _rebuild_slot(data: bytes) -> int:
    start = record_starts(data)[0]
    if data[start - 2] == 0x68:  # BINGET
        return data[start - 1]
    return int(struct.unpack_from("<I", data, start - 4)[0])


def _int_to(nth: int, value: int) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        _arg, at, length = _ops(data, 1, *_INTS)[nth]  # numel, offset, sizes..., strides...
        return _splice(data, at, length, b"J" + struct.pack("<i", value))

    return edit


def _key_length(delta: int) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        _arg, at, _length = _ops(data, 2, "BINUNICODE")[0]
        return data[: at + 1] + bytes([data[at + 1] + delta]) + data[at + 2 :]

    return edit


def _requires_grad(data: bytes) -> bytes:
    _arg, at, length = _ops(data, 2, "NEWFALSE")[0]
    return _splice(data, at, length, b"\x88")


def _shared_key(data: bytes) -> bytes:
    # Record 3 names record 2's storage (as a view does): its key is a GET, its PUT is gone.
    _arg, at, _length = _ops(data, 3, "BINUNICODE")[0]
    _put, put_at, put_length = _ops(data, 3, *_PUTS)[0]
    return _splice(data, at, put_at + put_length - at, get_op(_key_slot(2)(data)))


def _insert_before(record: int, payload: bytes) -> Callable[[bytes], bytes]:
    # Before the GET of the rebuild function: stack-neutral payloads only.
    def edit(data: bytes) -> bytes:
        start = record_starts(data)[record]
        get = 2 if data[start - 2] == 0x68 else 5
        return data[: start - get] + payload + data[start - get :]

    return edit


def _overwrite_location(data: bytes) -> bytes:
    # Between records 2 and 3: PUT "gpu" over the slot every record reads its location from.
    slot = _get_slot(2, 2)(data)
    return _insert_before(3, b"X\x03\x00\x00\x00gpu" + b"r" + struct.pack("<I", slot) + b"0")(data)


EDITS: dict[str, Callable[[bytes], bytes]] = {
    "put_skips_a_slot": _put_to(1, 0, lambda d: _key_slot(1)(d) + 1),
    "put_overwrites_slot_5": _put_to(1, 1, lambda d: 5),
    "last_put_elsewhere": _put_to(1, -1, lambda d: 3),
    "scalar_put_overwrites_slot_5": _put_to(2, 1, lambda d: 5),
    "location_reads_own_key": _get_to(2, 2, _key_slot(2)),
    "location_reads_slot_2": _get_to(2, 2, lambda d: 2),
    "storage_type_is_a_string": _get_to(2, 1, _get_slot(2, 2)),
    "tag_is_not_storage": _get_to(2, 0, _get_slot(2, 2)),
    "hooks_factory_is_a_string": _get_to(2, 3, _get_slot(2, 2)),
    "hooks_factory_is_the_rebuild": _get_to(2, 3, _rebuild_slot),
    "hooks_factory_is_the_storage_type": _get_to(2, 3, _get_slot(2, 1)),
    "key_length_short": _key_length(-1),
    "key_length_long": _key_length(1),
    "numel_negative": _int_to(0, -1),
    "offset_negative": _int_to(1, -4),
    "offset_huge": _int_to(1, 2**31 - 1),
    "size_negative": _int_to(2, -2),
    "stride_negative": _int_to(-1, -1),
    "requires_grad": _requires_grad,
    "frame_inside_a_record": _insert_before(2, b"\x95" + struct.pack("<Q", 0)),
    "location_overwritten_between_records": _overwrite_location,
    "sparse_memo_first": lambda d: d[:2] + b"Nr\xff\xff\x00\x000" + d[2:],
    "storage_shared_with_a_view": _shared_key,
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edits_give_identical_results(edit: str, base: bytes) -> None:
    edited = EDITS[edit](base)
    assert edited != base
    compare(edited)
    try:
        dumped = with_memo_dump(edited)
    except ValueError:  # pickletools cannot list this edit's memo (a lying length)
        assert edit.startswith("key_length")
    else:
        compare(dumped)


def test_unedited_base_goes_fast(base: bytes) -> None:
    _outcome, hits = compare(with_memo_dump(base))
    assert hits == len(record_starts(base))  # all but the first tensor (whose GLOBAL is new)


def test_overwritten_location_is_seen(base: bytes) -> None:
    """The fast path caches its memo reads; a PUT over a slot it read must show afterwards."""
    resolver = Resolver()
    with fast_path(True) as hits:
        root, _end = unpickle(_overwrite_location(base), resolver, _storage_loader(resolver))
    assert hits[0] >= 3
    locations = {key: t.storage.location for key, t in root.items() if key != "pad"}
    assert locations == {"a": "cpu", "b": "cpu", "c": "cpu", "d": "cpu", "e": "gpu", "f": "gpu"}


def test_sparse_memo_with_memoize() -> None:
    """With a sparse memo slot, MEMOIZE writes past it: the fast path must stay out."""
    data = _base(long_slots=False, protocol=4)
    _outcome, hits = compare(with_memo_dump(data))
    assert hits > 3
    # Between records, after the slots the records read: only the guard keeps the fast path out.
    sparse = _insert_before(2, b"Nr\xff\xff\x00\x000")(data)
    _outcome, sparse_hits = compare(with_memo_dump(sparse))
    assert sparse_hits == 2


def test_every_object_budget(base: bytes) -> None:
    """The fast path counts objects as the loop does: it stops at the same place, every time."""
    seen = {"ok": 0, "error": 0}
    budget = 0
    while seen["ok"] < 5:
        outcome, _hits = compare(base, Limits(max_objects=budget))
        seen[outcome[0]] += 1
        budget += 1
    assert seen["error"] > 50


def test_every_truncation(base: bytes) -> None:
    start = record_starts(base)[1] - 40
    for cut in range(start, len(base), 3 if len(base) > 3000 else 1):
        compare(base[:cut])


def test_seeded_random_mutations(base: bytes) -> None:
    """Random byte edits inside the tensor records: the outcomes still agree, fast path or not."""
    rng = random.Random(4)
    starts = record_starts(base)
    region = (starts[1] - 10, starts[-1] + 80)
    fast_runs = 0
    for _ in range(400):
        data = bytearray(base)
        for _edit in range(rng.choice((1, 1, 2, 3))):
            at = rng.randrange(region[0], min(region[1], len(data)))
            kind = rng.random()
            if kind < 0.6:
                data[at] = rng.randrange(256)
            elif kind < 0.8:
                data.insert(at, rng.randrange(256))
            else:
                del data[at]
        _outcome, hits = compare(bytes(data))
        fast_runs += hits > 0
        try:
            dumped = with_memo_dump(bytes(data))
        except ValueError:
            continue  # pickletools cannot list its memo
        compare(dumped)  # the memo too: a PUT's slot shows only in later GETs
    assert fast_runs > 100


def test_a_failure_inside_the_fast_path_falls_back_to_the_opcode_loop(base: bytes) -> None:
    """The fast path is hand-written: if it raises, even after writing a memo slot, the result is
    the opcode loop's, not an error."""
    from ckpt_tui.reader.unpickle import machine

    slow, _ = outcome(base, fast=False)
    real = machine.tensor_records
    calls = [0]

    def breaking(rebuild: Any, memo: list[Any], load: Any) -> Any:
        read, forget = real(rebuild, memo, load)

        def broken(data: bytes, pos: int, budget: int) -> Any:
            calls[0] += 1
            if calls[0] == 3:
                memo.append("left behind by a failed fast read")
                raise ValueError("a bug in the fast path")
            return read(data, pos, budget)

        return broken, forget

    machine.tensor_records = breaking  # type: ignore[assignment]
    try:
        quick, _ = outcome(base, fast=True)
    finally:
        machine.tensor_records = real
    assert calls[0] >= 3
    assert quick == slow and quick[0] == "ok"
