"""Fuzzing (hypothesis): the reader, the sidecar loader and the filter parser.

Properties, for any input:
- the reader returns an inspection and never needs its catch-all ("reader failed: ...");
  the restricted unpickler raises nothing but its documented errors;
- the sidecar loaders return metadata or issues; the YAML layer raises only
  ``UnsafeDocumentError``; the fast reader answers a value or FALLBACK;
- ``parse_filter`` returns a filter or raises ``FilterError`` with a position inside the text;
  a parsed filter applies to any entries.

CI runs a small fixed-seed budget (profile ``ci``); ``make fuzz MINUTES=5`` runs rounds of random
examples for five minutes in all (profile ``fuzz``, ``FUZZ_MINUTES``).
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

import pytest
from hardening_fuzzing import fuzz_timeout, run_rounds
from hypothesis import given
from hypothesis import strategies as st
from reader_pickles import legacy_checkpoint, zip_checkpoint

from ckpt_tui.catalog.filter import FilterError, parse_filter
from ckpt_tui.io.safe_yaml import UnsafeDocumentError, dump_yaml, parse_yaml
from ckpt_tui.io.yaml_subset import parse_simple_yaml
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.reader import inspect_checkpoint
from ckpt_tui.reader.unpickle.machine import TruncatedPickle, UnpicklingError, unpickle
from ckpt_tui.reader.unpickle.resolve import Resolver
from ckpt_tui.sidecar.files import parse_metadata, read_sidecar_file

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(fuzz_timeout())]

Mutation = tuple[int, int, int, bytes]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def data_pkl(ckpt_bytes: bytes) -> bytes:
    """The real checkpoint's ``data.pkl``."""
    with zipfile.ZipFile(io.BytesIO(ckpt_bytes)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        return archive.read(name)


def mutations(size: int) -> st.SearchStrategy[list[Mutation]]:
    """Edits of a byte string: (kind, position, length, bytes) — flip, insert, delete, repeat."""
    return st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, max(0, size - 1)),
            st.integers(0, 64),
            st.binary(min_size=1, max_size=16),
        ),
        min_size=1,
        max_size=12,
    )


def mutate(data: bytes, edits: list[Mutation]) -> bytes:
    out = bytearray(data)
    for kind, position, length, chunk in edits:
        position = min(position, len(out))
        if kind == 0:
            out[position : position + len(chunk)] = chunk  # overwrite
        elif kind == 1:
            out[position:position] = chunk  # insert
        elif kind == 2:
            del out[position : position + length]  # delete
        else:
            out[position:position] = out[position : position + length] * 3  # repeat a slice
    return bytes(out)


def check_inspection(path: Path) -> None:
    result = inspect_checkpoint(path)
    for issue in result.issues:
        assert issue.severity in ("error", "warning", "info")
        assert not issue.message.startswith("reader failed"), issue  # an unexpected exception
    assert result.bytes_read <= 64 * 1024 * 1024


PREFIXES = [b"", b"PK\x03\x04", b"\x80\x02", b"\x80\x04\x95", b"(dp0\n", b"\x08\x00\x00\x00"]


def test_reader_random_bytes(workdir: Path) -> None:
    path = workdir / "random.ckpt"

    @given(st.sampled_from(PREFIXES), st.binary(max_size=2048))
    def inner(prefix: bytes, body: bytes) -> None:
        path.write_bytes(prefix + body)
        check_inspection(path)

    assert run_rounds(inner) > 0


def test_reader_mutated_real_checkpoint(workdir: Path, ckpt_bytes: bytes) -> None:
    path = workdir / "mutated.ckpt"

    @given(mutations(len(ckpt_bytes)))
    def inner(edits: list[Mutation]) -> None:
        path.write_bytes(mutate(ckpt_bytes, edits))
        check_inspection(path)

    assert run_rounds(inner) > 0


def test_reader_mutated_pickle(workdir: Path, data_pkl: bytes) -> None:
    """The real data.pkl mutated: alone through the VM, and inside zip and legacy containers."""
    zipped, legacy = workdir / "pickle.ckpt", workdir / "legacy.ckpt"

    def persistent_load(pid: object) -> object:
        return pid

    @given(mutations(len(data_pkl)))
    def inner(edits: list[Mutation]) -> None:
        data = mutate(data_pkl, edits)
        with contextlib.suppress(UnpicklingError, TruncatedPickle):  # the documented errors
            unpickle(data, Resolver(), persistent_load)
        check_inspection(zip_checkpoint(zipped, data))
        check_inspection(legacy_checkpoint(legacy, data))

    assert run_rounds(inner) > 0


# -- the sidecar loader ----------------------------------------------------------------------------

YAML_ATOMS = [
    "\n", "  ", "- ", ": ", "key", "exp_name", "training", "epoch", "metrics", "hmean", "0.5",
    "'q'", '"d"', "[", "]", "{", "}", ",", "&a ", "*a", "!!python/object/apply:os.system ",
    "!!str ", "? ", "|", ">", "#", "---", "...", "%YAML 1.1", "\t", "~", "null", "yes", "1e3",
    "0x1F", ".inf", "é", "\u2028", "\ufeff", "\x00", "\\", "\r",
]  # fmt: skip


def _sidecar_text() -> str:
    from catalog_helpers import metadata

    return dump_yaml(metadata().to_yaml_dict())


def check_sidecar_text(text: str, path: Path) -> None:
    value = parse_simple_yaml(text)  # a value or FALLBACK, never an exception
    try:
        data = parse_yaml(text)
    except UnsafeDocumentError:
        data = None
    parse_metadata(data, source="fuzz")
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    metadata, issues = read_sidecar_file(path)
    assert metadata is not None or any(issue.severity == "error" for issue in issues)
    del value


def test_sidecar_loader_random_text(workdir: Path) -> None:
    path = workdir / "random.metadata.yaml"

    @given(st.lists(st.sampled_from(YAML_ATOMS) | st.text(max_size=6), max_size=60).map("".join))
    def inner(text: str) -> None:
        check_sidecar_text(text, path)

    assert run_rounds(inner) > 0


def test_sidecar_loader_mutated_real_sidecar(workdir: Path) -> None:
    path = workdir / "mutated.metadata.yaml"
    real = _sidecar_text().encode()

    @given(mutations(len(real)))
    def inner(edits: list[Mutation]) -> None:
        text = mutate(real, edits).decode("utf-8", "replace")
        check_sidecar_text(text, path)

    assert run_rounds(inner) > 0


# -- the filter parser -----------------------------------------------------------------------------

FILTER_ATOMS = [
    " ", "-", '"', "'", ":", ">", ">=", "<", "<=", "=", "!=", "hmean", "epoch", "size", "arch",
    "exp", "path", "has", "is", "best", "sidecar", "issues", "security", "unknown_field", "0.8",
    "-1", "1e309", "nan", "inf", "100MB", "1.5GiB", "2k", "10XB", "dbnet", "é", "\\", "*", "(",
    ")", "\t", "\x1b[31m", "_", "..",
]  # fmt: skip


def _entries() -> list[CheckpointCatalogEntry]:
    error = Issue(severity="error", code="checkpoint.corrupt", message="bad")
    return [
        CheckpointCatalogEntry(checkpoint_path="a/e.ckpt"),
        CheckpointCatalogEntry(
            checkpoint_path="b/epoch=3.ckpt",
            exp_name="dbnet-r18",
            architecture="dbnet",
            epoch=3,
            hmean=0.8,
            size_bytes=10**8,
            issues=[error],
        ),
        CheckpointCatalogEntry(checkpoint_path="c/last.ckpt", epoch=0, hmean=0.0, sidecar_path="x"),
    ]


def test_filter_parser() -> None:
    entries = _entries()

    def check(expr: str) -> None:
        try:
            parsed = parse_filter(expr)
        except FilterError as exc:
            assert 0 <= exc.position <= len(expr), (expr, exc.position)
            return
        parsed.select(entries)
        for entry in entries:
            parsed.matches(entry)

    @given(st.lists(st.sampled_from(FILTER_ATOMS) | st.text(max_size=4), max_size=24).map("".join))
    def inner(expr: str) -> None:
        check(expr)

    assert run_rounds(inner) > 0
