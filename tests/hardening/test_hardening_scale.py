"""Scale: a tree of 3,000 sidecar-backed checkpoints (plus 200 read by the safe reader) through
``list --json`` and the headless app. Completion only: the timings are ``bench/bench_scale.py``'s
(``make bench``), run there on 50,000."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from hardening_helpers import list_json
from hardening_tui import run_headless

COUNT = 3_000


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_scale.py"
    spec = importlib.util.spec_from_file_location("hardening_bench_scale", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with pytest.MonkeyPatch.context() as patch:
        # As under `python bench/bench_scale.py`: its folder on the path, for `bench/common.py`.
        patch.syspath_prepend(str(path.parent))
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def big_tree(tmp_path_factory: pytest.TempPathFactory, ckpt_bytes: bytes) -> tuple[Path, int]:
    base = tmp_path_factory.mktemp("scale")
    sample = base / "sample.ckpt"
    sample.write_bytes(ckpt_bytes)
    total = _bench().write_tree(base / "outputs", COUNT, sample)
    return base / "outputs", total


def test_list_json_completes(big_tree: tuple[Path, int]) -> None:
    root, total = big_tree
    entries, _stderr = list_json(root)
    assert len(entries) == total
    assert sum(entry["source"] == "sidecar" for entry in entries) == COUNT
    assert all(entry["epoch"] is not None for entry in entries)


async def test_headless_app_completes(big_tree: tuple[Path, int]) -> None:
    root, total = big_tree
    async with run_headless(root, size=(120, 36)) as (_app, pilot, table):
        assert len(table.rows) == total
        table.move_to(total - 1)
        await pilot.pause()
        assert table.cursor_entry is not None
