"""Faults: a full disk during ``convert`` (a small tmpfs when this machine lets root mount one,
else ``RLIMIT_FSIZE``), the cache deleted, corrupted or locked while a build uses it, and
``list`` killed while it writes the cache. (SIGKILL/SIGTERM of a conversion and two converters
at once are in ``tests/conversion``.)

Afterwards every sidecar is absent or complete, no temp file is left, every build still returns
every entry, and every checkpoint is byte-identical."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hardening_helpers import ignore_sigxfsz, limit_memory, run_cli, tree_digest

from ckpt_tui.catalog import cache
from ckpt_tui.catalog.api import build_catalog, iter_catalog
from ckpt_tui.catalog.cache import CACHE_FILE
from ckpt_tui.model.entry import CheckpointCatalog
from ckpt_tui.sidecar.files import read_sidecar

HYDRA = "exp_name: full-disk\nmodel:\n  architecture: dbnet\n  encoder:\n    model_name: resnet18\n"
CHECKPOINTS = 24


def convertible_tree(root: Path, ckpt_bytes: bytes) -> Path:
    """``CHECKPOINTS`` real checkpoints without sidecars, in two Hydra runs."""
    for index in range(CHECKPOINTS):
        run = root / f"run{index % 2}"
        (run / ".hydra").mkdir(parents=True, exist_ok=True)
        (run / ".hydra" / "config.yaml").write_text(HYDRA)
        (run / "checkpoints").mkdir(exist_ok=True)
        (run / "checkpoints" / f"epoch={index}-step={index * 10}.ckpt").write_bytes(ckpt_bytes)
    return root


def assert_sidecars_whole_and_no_temp_files(root: Path) -> int:
    """Every sidecar present reads as valid metadata; no ``.*.tmp`` file is left; returns count."""
    leftovers = [p for p in root.rglob(".*") if p.is_file() and p.name.endswith(".tmp")]
    assert leftovers == [], leftovers
    count = 0
    for ckpt in root.rglob("*.ckpt"):
        read = read_sidecar(ckpt)
        if read.path is not None:
            assert read.metadata is not None, (ckpt, read.issues)
            count += 1
    return count


# -- a full disk -----------------------------------------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (skips when mounting is not allowed here)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def _fill(mount: Path, leave: int) -> None:
    """Fill the file system, then free ``leave`` bytes."""
    filler = mount / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - leave))


def _check_conversion(root: Path, done: subprocess.CompletedProcess[bytes], before: dict) -> int:
    assert done.returncode == 1, done.stderr[-3000:]  # some items failed
    assert b"Traceback" not in done.stderr
    report = json.loads(done.stdout)
    outcomes = [item["outcome"] for item in report["items"]]
    assert "failed" in outcomes and len(outcomes) == CHECKPOINTS
    reasons = {item["reason"] for item in report["items"] if item["outcome"] == "failed"}
    assert all(reason and reason.startswith("cannot write") for reason in reasons), reasons
    written = assert_sidecars_whole_and_no_temp_files(root)
    assert written == outcomes.count("written")
    after = tree_digest(root)
    assert {k: v for k, v in after.items() if k in before} == before  # checkpoints untouched
    return written


def test_full_tmpfs(small_tmpfs: Path, ckpt_bytes: bytes) -> None:
    root = convertible_tree(small_tmpfs / "outputs", ckpt_bytes)
    before = tree_digest(root)
    _fill(small_tmpfs, leave=3 * 4096)  # room for about three sidecars
    env = {**os.environ, "CKPT_TUI_CACHE_DIR": str(small_tmpfs / "cache")}  # full too
    done = subprocess.run(
        [sys.executable, "-m", "ckpt_tui", "convert", str(root), "--json"],
        capture_output=True,
        timeout=120,
        env=env,
        preexec_fn=limit_memory,
        check=False,
    )
    written = _check_conversion(root, done, before)
    assert b"No space left on device" in done.stdout
    assert written < CHECKPOINTS


def test_file_size_limit(tmp_path: Path, ckpt_bytes: bytes) -> None:
    """RLIMIT_FSIZE of 256 bytes (a sidecar is larger): every write fails with EFBIG."""
    root = convertible_tree(tmp_path / "outputs", ckpt_bytes)
    before = tree_digest(root)

    def limits() -> None:
        limit_memory()
        ignore_sigxfsz()
        resource.setrlimit(resource.RLIMIT_FSIZE, (256, 256))

    done = run_cli("convert", root, "--json", preexec=limits)
    written = _check_conversion(root, done, before)
    assert written == 0 and b"File too large" in done.stdout


# -- the cache damaged while a build uses it -------------------------------------------------------


def _delete(folder: Path) -> None:
    for path in folder.glob(f"{CACHE_FILE}*"):
        path.unlink()


def _garbage(folder: Path) -> None:
    for path in folder.glob(f"{CACHE_FILE}*"):
        size = path.stat().st_size
        path.write_bytes(random.Random(size).randbytes(max(size, 4096)))


def _garbage_pages(stride: int) -> Callable[[Path], None]:
    """Keep SQLite's header page, scramble every ``stride``-th byte after it: the file still
    opens, its pages lie (found when read, or only when written)."""

    def damage(folder: Path) -> None:
        path = folder / CACHE_FILE
        data = bytearray(path.read_bytes())
        rng = random.Random(stride)
        for offset in range(4096, len(data), stride):
            data[offset] = rng.randrange(256)
        path.write_bytes(bytes(data))

    return damage


SABOTAGE: dict[str, Callable[[Path], None]] = {
    "deleted": _delete,
    "garbage": _garbage,
    **{f"garbage_pages_{stride}": _garbage_pages(stride) for stride in (29, 97, 389)},
}


def _entries_ok(catalog: CheckpointCatalog, expected: int) -> None:
    assert len(catalog.entries) == expected
    assert all(entry.epoch is not None for entry in catalog.entries)


@pytest.mark.parametrize("damage", sorted(SABOTAGE))
def test_cache_damaged_mid_build(
    damage: str, tmp_path: Path, ckpt_bytes: bytes, cache_folder: Path
) -> None:
    root = convertible_tree(tmp_path / "outputs", ckpt_bytes)
    before = tree_digest(root)
    build_catalog(root)  # a populated cache file
    cache.clear_memory()
    entries = {}
    warnings = []
    for index, update in enumerate(iter_catalog(root)):
        if index == 0:
            SABOTAGE[damage](cache_folder)  # the build holds the database open right now
        for entry in update.entries:
            entries[entry.checkpoint_path] = entry
        warnings += [issue.code for issue in update.scan_issues]
    assert len(entries) == CHECKPOINTS
    for _ in range(3):  # the next builds notice, rebuild, and keep working
        cache.clear_memory()
        catalog = build_catalog(root)
        _entries_ok(catalog, CHECKPOINTS)
        warnings += [issue.code for issue in catalog.scan_issues]
    assert "cache.rebuilt" in warnings, warnings
    assert catalog.scan_issues == []  # healed: the last build used a sound cache again
    assert tree_digest(root) == before


def test_cache_locked_while_the_build_writes(
    tmp_path: Path, ckpt_bytes: bytes, cache_folder: Path
) -> None:
    root = convertible_tree(tmp_path / "outputs", ckpt_bytes)
    build_catalog(root)
    cache.clear_memory()
    (root / "run0" / "checkpoints" / "new.ckpt").write_bytes(ckpt_bytes)  # something to write
    before = tree_digest(root)
    holder = sqlite3.connect(cache_folder / CACHE_FILE, isolation_level=None, timeout=10)
    try:
        updates = iter_catalog(root)
        first = next(updates)  # rows are loaded; the write comes at the end
        holder.execute("BEGIN EXCLUSIVE")
        rest = list(updates)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    found = {e.checkpoint_path for u in [first, *rest] for e in u.entries}
    assert len(found) == CHECKPOINTS + 1
    codes = [i.code for u in [first, *rest] for i in u.scan_issues]
    assert "cache.write-failed" in codes
    cache.clear_memory()
    again = build_catalog(root)
    assert len(again.entries) == CHECKPOINTS + 1 and again.scan_issues == []
    assert tree_digest(root) == before


def test_cache_rows_of_the_wrong_type(
    tmp_path: Path, ckpt_bytes: bytes, cache_folder: Path
) -> None:
    """A database that opens but whose rows hold the wrong types (a damaged or foreign file)."""
    root = convertible_tree(tmp_path / "outputs", ckpt_bytes)
    before = tree_digest(root)
    build_catalog(root)
    cache.clear_memory()
    db = sqlite3.connect(cache_folder / CACHE_FILE, isolation_level=None)
    db.execute("UPDATE entries SET rel = id, sig = 7 WHERE id % 3 = 0")
    db.execute("UPDATE entries SET data = x'00ff' WHERE id % 3 = 1")
    db.close()
    catalog = build_catalog(root)
    _entries_ok(catalog, CHECKPOINTS)
    assert tree_digest(root) == before


def test_list_killed_while_writing_the_cache(tmp_path: Path, ckpt_bytes: bytes) -> None:
    root = convertible_tree(tmp_path / "outputs", ckpt_bytes)
    for index in range(300):
        (root / "run0" / "checkpoints" / f"more{index}.ckpt").write_bytes(ckpt_bytes)
    before = tree_digest(root)
    rng = random.Random(3)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "ckpt_tui", "list", str(root), "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.4 + rng.random() * 0.6)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    done = run_cli("list", root, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(json.loads(done.stdout)) == CHECKPOINTS + 300
    assert tree_digest(root) == before
