"""Hostile and broken files: one inspection each, never code execution, bounded time and memory."""

from __future__ import annotations

import json
import os
import pickletools
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reader_pickles import (
    Asm,
    hostile_pickles,
    legacy_checkpoint,
    shell,
    tensor,
    zip_checkpoint,
)

from ckpt_tui.reader import CheckpointInspection, inspect_checkpoint
from ckpt_tui.reader.unpickle.machine import DEFAULT_LIMITS

HANG_LIMIT_CPU_S = 30.0
"""A hang guard, not a speed target: a hostile file must not cost minutes of CPU. CPU time, not
wall time, so a loaded machine does not fail it; bench/ holds the reader's real figures."""


def inspect(path: Path) -> CheckpointInspection:
    started = time.process_time()
    result = inspect_checkpoint(path)
    spent = time.process_time() - started
    assert spent < HANG_LIMIT_CPU_S, "inspection did not finish in bounded CPU time"
    return result


def codes(result: CheckpointInspection) -> list[str]:
    return [issue.code for issue in result.issues]


# -- code-execution attempts ----------------------------------------------------------------------

EXPECTED_DANGER = {
    "reduce_os_system": "os.system",
    "reduce_builtins_eval": "builtins.eval",
    "reduce_builtins_exec": "builtins.exec",
    "reduce_subprocess": "subprocess.check_call",
    "stack_global_memo": "os.system",
    "getattr_import": "builtins.getattr",
    "inst_os_system": "os.system",
    "obj_builtins_exec": "builtins.exec",
    "newobj_build_setstate": "os.system",
    "newobj_ex_popen": "subprocess.Popen",
    "fake_rebuild": "os.system",
}


@pytest.mark.parametrize("proto", [2, 4])
@pytest.mark.parametrize("name", sorted(EXPECTED_DANGER))
@pytest.mark.parametrize("container", ["zip", "legacy", "pickle"])
def test_code_execution_attempts_are_reported_never_run(
    name: str, proto: int, container: str, tmp_path: Path, marker: Path
) -> None:
    payload = hostile_pickles(marker, proto)[name]
    with open(os.devnull, "w") as sink:
        pickletools.dis(payload, out=sink)  # well formed (dis never executes anything)
    path = tmp_path / f"{name}.ckpt"
    if container == "zip":
        zip_checkpoint(path, payload)
    elif container == "legacy":
        legacy_checkpoint(path, payload)
    else:
        path.write_bytes(payload)
    result = inspect(path)
    assert EXPECTED_DANGER[name] in result.unsafe_globals
    assert result.safety == "unsafe"
    error = [i for i in result.issues if i.code == "security.unsafe-global"]
    assert len(error) == 1 and error[0].severity == "error"
    assert EXPECTED_DANGER[name] in error[0].message
    if container == "pickle":
        # A bare pickle is no torch checkpoint (torch.load would still run it: hence the error).
        assert "checkpoint.pickle-invalid" in codes(result)
    else:
        # The rest of the file is still read: the payload is just an inert record.
        assert [i.code for i in result.issues if i.severity == "error"] == [
            "security.unsafe-global"
        ]
        assert result.epoch == 3


def test_getattr_trick_names_its_target(tmp_path: Path, marker: Path) -> None:
    path = zip_checkpoint(tmp_path / "g.ckpt", hostile_pickles(marker)["getattr_import"])
    result = inspect(path)
    assert {"builtins.getattr", "builtins.__import__"} <= set(result.unsafe_globals)
    assert result.safety == "unsafe"
    assert "getattr chains reach os.system" in result.issues[0].message


class _Payload:
    """Pickles as ``os.system(cmd)`` (``__reduce__`` runs at save time, returning a tuple)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
        return (os.system, (self.command,))


def test_torch_saved_reduce_payload(tmp_path: Path, marker: Path) -> None:
    import torch

    path = tmp_path / "evil.ckpt"
    torch.save({"epoch": 5, "state_dict": {"w": torch.ones(2)}, "x": _Payload(shell(marker))}, path)
    result = inspect(path)
    assert result.unsafe_globals == ["os.system"]
    assert result.epoch == 5 and list(result.tensors) == ["w"]
    assert "torch.load(weights_only=False) would import and may call os.system" in (
        result.issues[0].message
    )


def test_danger_in_hyper_parameters_stays_inert(tmp_path: Path, marker: Path) -> None:
    body = (
        Asm().empty_dict().mark().str("epoch").int(1).str("hyper_parameters").empty_dict()
        .mark().str("cmd").glob("posix", "system").str(shell(marker)).tuple1().reduce()
        .setitems().setitems().stop()
    )  # fmt: skip
    result = inspect(zip_checkpoint(tmp_path / "h.ckpt", body))
    assert result.hyper_parameters == {
        "cmd": {"__class__": "posix.system", "args": [shell(marker)]}
    }
    assert result.unsafe_globals == ["os.system"]


# -- broken containers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    path = tmp_path_factory.mktemp("real") / "real.ckpt"
    torch.save({"epoch": 1, "state_dict": {"w": torch.randn(64, 64)}}, path)
    return path


def _truncated(src: Path, dst: Path, keep: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def _patch(path: Path, find: bytes, offset: int, value: bytes, from_end: bool = True) -> Path:
    data = bytearray(path.read_bytes())
    at = data.rfind(find) if from_end else data.find(find)
    data[at + offset : at + offset + len(value)] = value
    path.write_bytes(bytes(data))
    return path


def _zip_bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\0" * (64 * 1024 * 1024))
    return path


def _lying_bomb(path: Path) -> Path:
    # Deflated data.pkl of 8 MiB whose directory and local header claim 100 bytes.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\0" * (8 * 1024 * 1024))
    _patch(path, b"PK\x01\x02", 24, struct.pack("<I", 100))
    return _patch(path, b"PK\x03\x04", 22, struct.pack("<I", 100), from_end=False)


def _zip_without_pickle(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes/readme.txt", "hello")
    return path


def _many_members(path: Path) -> Path:
    zip_checkpoint(path, Asm().empty_dict().stop())
    return _patch(path, b"PK\x05\x06", 8, struct.pack("<HHII", 60000, 60000, 2**31, 0))


def _corrupt_pickle(path: Path) -> Path:
    zip_checkpoint(path, Asm().empty_dict().mark().str("epoch").int(1).setitems().stop())
    return _patch(path, b"epoch", 0, b"EPOCH", from_end=False)


def _traversal(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "archive/data.pkl", Asm().empty_dict().mark().str("epoch").int(2).setitems().stop()
        )
        z.writestr("../../../etc/evil", "x")
    return path


def _absurd_shape(path: Path) -> Path:
    body = Asm().empty_dict().mark().str("state_dict").empty_dict().mark().str("w")
    tensor(body, "FloatStorage", "0", 4, (2**40, 2**40)).setitems().setitems()
    return zip_checkpoint(path, body.stop(), {"0": b"\0" * 16})


def _lying_storage(path: Path) -> Path:
    body = Asm().empty_dict().mark().str("state_dict").empty_dict().mark().str("w")
    tensor(body, "FloatStorage", "0", 10**12, (10**12,)).setitems().setitems()
    return zip_checkpoint(path, body.stop(), {"0": b"\0" * 16})


def _missing_storage(path: Path) -> Path:
    body = Asm().empty_dict().mark().str("state_dict").empty_dict().mark().str("w")
    tensor(body, "FloatStorage", "0", 4, (4,)).setitems().setitems()
    return zip_checkpoint(path, body.stop())


def _deep_memo_nesting(path: Path, depth: int = 200_000) -> Path:
    # hyper_parameters = [[[...]]] nested 200k deep without one MARK, built through the memo.
    body = Asm().empty_dict().mark().str("epoch").int(1).str("hyper_parameters")
    body.empty_list().put(0)
    for _ in range(depth):
        body.empty_list().put(2).append().pop().get(2)
    body.pop().get(0).setitems()
    return zip_checkpoint(path, body.stop())


def _deep_marks(path: Path) -> Path:
    return zip_checkpoint(path, Asm().raw(b"(" * 100_000).stop())


def _deep_tuple_key(path: Path) -> Path:
    body = Asm().empty_dict().none().raw(b"\x85" * 100_000).int(1).setitem()
    return zip_checkpoint(path, body.stop())


def _huge_list(path: Path) -> Path:
    body = Asm().empty_dict().mark().str("epoch").int(1).str("big").empty_list().mark()
    body.raw(b"]" * 3_000_000).appends().setitems()
    return zip_checkpoint(path, body.stop())


def _memo_index_bomb(path: Path) -> Path:
    body = Asm().empty_dict().raw(b"r\xff\xff\xff\xff").mark().str("epoch").int(4).setitems()
    return zip_checkpoint(path, body.raw(b"j\xff\xff\xff\xff").pop().stop())


def _legacy_truncated(path: Path) -> Path:
    import torch

    torch.save({"w": torch.randn(256)}, path, _use_new_zipfile_serialization=False)
    return _truncated(path, path, 0.6)


def _bad_persistent_id(path: Path) -> Path:
    body = Asm().empty_dict().mark().str("w").mark().str("storage").glob("posix", "system")
    body.str("0").str("cpu").int(4).tuple().raw(b"Q").setitems()
    return zip_checkpoint(path, body.stop())


def _tar(path: Path) -> Path:
    """A tar archive as torch < 0.4 saved (members ``storages``, ``tensors``, ``pickle``)."""
    import io
    import tarfile

    with tarfile.open(path, "w") as archive:
        for name in ("storages", "tensors", "pickle"):
            info = tarfile.TarInfo(name)
            info.size = 2
            archive.addfile(info, io.BytesIO(b"N."))
    return path


def _write(data: bytes) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return build


BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "zero_bytes": (_write(b""), "checkpoint.empty"),
    "not_a_checkpoint": (_write(b"hello world\n"), "checkpoint.not-a-checkpoint"),
    "zip_without_pickle": (_zip_without_pickle, "checkpoint.not-a-checkpoint"),
    "zip_bomb": (_zip_bomb, "checkpoint.too-large"),
    "lying_inflated_size": (_lying_bomb, "checkpoint.zip-bomb"),
    "many_members": (_many_members, "checkpoint.too-large"),
    "corrupt_pickle_crc": (_corrupt_pickle, "checkpoint.corrupt"),
    "absurd_shape": (_absurd_shape, "checkpoint.corrupt"),
    "lying_storage_size": (_lying_storage, "checkpoint.corrupt"),
    "missing_storage": (_missing_storage, "checkpoint.corrupt"),
    "deep_memo_nesting": (_deep_memo_nesting, "checkpoint.too-complex"),
    "deep_mark_nesting": (_deep_marks, "checkpoint.pickle-invalid"),
    "deep_tuple_key": (_deep_tuple_key, "checkpoint.pickle-invalid"),
    "huge_list": (_huge_list, "checkpoint.pickle-invalid"),
    "legacy_truncated": (_legacy_truncated, "checkpoint.truncated"),
    "bad_persistent_id": (_bad_persistent_id, "checkpoint.pickle-invalid"),
    "tar_format": (lambda path: _tar(path), "checkpoint.unsupported"),
    "ustar_magic_only": (
        _write(b"x" * 257 + b"ustar" + b"\0" * 300),
        "checkpoint.not-a-checkpoint",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_is_one_error(name: str, tmp_path: Path) -> None:
    build, code = BROKEN[name]
    path = build(tmp_path / f"{name}.ckpt")
    result = inspect(path)
    assert result.has_errors
    assert code in codes(result), result.issues
    assert result.issues[0].severity == "error"
    assert result.bytes_read <= DEFAULT_LIMITS.max_bytes + 1024 * 1024  # never more than a pickle


@pytest.mark.parametrize("keep", [0.0001, 0.3, 0.6, 0.99])
def test_truncated_real_zip(keep: float, real_zip: Path, tmp_path: Path) -> None:
    result = inspect(_truncated(real_zip, tmp_path / "cut.ckpt", keep))
    assert result.has_errors
    assert codes(result)[0].startswith("checkpoint.")


def test_absurd_shape_is_reported_without_allocating(tmp_path: Path) -> None:
    result = inspect(_absurd_shape(tmp_path / "a.ckpt"))
    assert result.tensors["w"].numel == 2**80
    assert "extends past" in result.issues[0].message


def test_traversal_names_are_ignored_and_reported(tmp_path: Path) -> None:
    result = inspect(_traversal(tmp_path / "t.ckpt"))
    assert result.epoch == 2
    assert "checkpoint.suspicious-name" in codes(result)
    assert not result.has_errors


def test_fake_end_record_in_the_zip_comment(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "archive/data.pkl", Asm().empty_dict().mark().str("epoch").int(9).setitems().stop()
        )
        z.comment = b"PK\x05\x06" + b"\xff" * 40
    result = inspect(path)
    assert (result.epoch, result.issues) == (9, [])


def test_memo_index_bomb_allocates_nothing(tmp_path: Path) -> None:
    result = inspect(_memo_index_bomb(tmp_path / "m.ckpt"))
    assert not result.has_errors, result.issues
    assert result.epoch == 4


def test_unreadable_path_is_an_issue(tmp_path: Path) -> None:
    result = inspect(tmp_path / "missing.ckpt")
    assert codes(result) == ["checkpoint.unreadable"]
    assert codes(inspect(tmp_path)) == ["checkpoint.unreadable"]  # a folder
    fifo = tmp_path / "pipe.ckpt"
    os.mkfifo(fifo)
    assert codes(inspect(fifo)) == ["checkpoint.unreadable"]  # and no hang waiting for a writer


_BOUNDED = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024, 1536 * 1024 * 1024))
from pathlib import Path
from ckpt_tui.reader import inspect_checkpoint
out = {}
for name in sys.argv[1:]:
    result = inspect_checkpoint(Path(name))
    out[name] = [i.code for i in result.issues]
print(json.dumps(out))
"""


def test_hostile_files_fit_in_bounded_memory(tmp_path: Path, marker: Path) -> None:
    """All broken and hostile files, inspected in a process limited to 1.5 GiB of address space."""
    paths = [build(tmp_path / f"{name}.ckpt") for name, (build, _code) in BROKEN.items()]
    for name, payload in hostile_pickles(marker).items():
        paths.append(zip_checkpoint(tmp_path / f"h_{name}.ckpt", payload))
    done = subprocess.run(
        [sys.executable, "-c", _BOUNDED, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    issues: dict[str, Any] = json.loads(done.stdout)
    for name, (_build, code) in BROKEN.items():
        assert code in issues[str(tmp_path / f"{name}.ckpt")]
