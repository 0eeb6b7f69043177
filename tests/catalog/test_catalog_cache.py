"""The cache: per-file invalidation anywhere in the tree, persistence, damage, concurrency."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from catalog_helpers import HYDRA_CONFIG, write_text

from ckpt_tui.catalog import cache
from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.cache import CACHE_FILE
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue


def by_path(root: Path, **kwargs: object) -> dict[str, CheckpointCatalogEntry]:
    return {e.checkpoint_path: e for e in build_catalog(root, **kwargs).entries}  # type: ignore[arg-type]


def stale_rewrite(path: Path, old: str, new: str) -> None:
    """Change a file's content but keep its size and mtime: only a cache would miss this."""
    info = path.stat()
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


_TAMPER = Issue(severity="error", code="test.tampered", message="changed by a caller")


def fresh_process_build(root: Path) -> dict[str, object]:
    code = (
        "import json, sys\n"
        "from ckpt_tui.catalog.api import build_catalog\n"
        "c = build_catalog(sys.argv[1])\n"
        "print(json.dumps({'entries': [e.to_json() for e in c.entries],"
        " 'issues': [i.code for i in c.scan_issues]}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=dict(os.environ),
    )
    return json.loads(out.stdout)


@pytest.fixture
def tree(tmp_path: Path, write_checkpoint, write_sidecar) -> Path:
    root = tmp_path / "outputs"
    run = root / "run"
    write_text(run / ".hydra" / "config.yaml", HYDRA_CONFIG)
    write_sidecar(write_checkpoint(run / "checkpoints" / "epoch=1-step=10.ckpt"), exp_name="aaaa")
    write_checkpoint(run / "checkpoints" / "last.ckpt")
    return root


def test_persistent_cache_is_used_by_a_new_process(tree: Path, cache_folder: Path) -> None:
    first = by_path(tree)
    assert (cache_folder / CACHE_FILE).exists()
    sidecar = tree / "run" / "checkpoints" / "epoch=1-step=10.metadata.yaml"
    stale_rewrite(sidecar, "exp_name: aaaa", "exp_name: bbbb")
    result = fresh_process_build(tree)
    assert [e["checkpoint_path"] for e in result["entries"]] == list(first)  # type: ignore[index]
    # served from the cache: the same size and mtime means "unchanged"
    assert result["entries"][0]["exp_name"] == "hydra-exp"  # type: ignore[index]
    assert result["issues"] == []


def test_in_process_layer_serves_repeated_builds(tree: Path) -> None:
    sidecar = tree / "run" / "checkpoints" / "epoch=1-step=10.metadata.yaml"
    first = by_path(tree)["run/checkpoints/epoch=1-step=10.ckpt"]
    stale_rewrite(sidecar, "architecture: dbnet", "architecture: craft")
    (cache.cache_dir() / CACHE_FILE).unlink()  # only the in-process layer is left
    second = by_path(tree)["run/checkpoints/epoch=1-step=10.ckpt"]
    assert second.architecture == first.architecture == "dbnet"
    assert (
        by_path(tree, use_cache=False)["run/checkpoints/epoch=1-step=10.ckpt"].architecture
        == "craft"
    )


def test_no_cache_bypasses_everything(tree: Path, cache_folder: Path) -> None:
    by_path(tree, use_cache=False)
    assert not (cache_folder / CACHE_FILE).exists()


def test_handed_out_entries_are_copies(tree: Path) -> None:
    entry = by_path(tree)["run/checkpoints/last.ckpt"]
    provenance = dict(entry.provenance)
    entry.issues.append(entry.issues[0] if entry.issues else _TAMPER)
    entry.provenance["epoch"] = "tampered"
    again = by_path(tree)["run/checkpoints/last.ckpt"]
    assert again.provenance == provenance
    assert again.provenance["epoch"] == "checkpoint epoch"
    assert _TAMPER not in again.issues


def test_new_checkpoint_three_folders_deep_is_seen(tree: Path, write_checkpoint) -> None:
    deep = tree / "a" / "b" / "c"
    deep.mkdir(parents=True)
    by_path(tree)
    root_mtime = tree.stat().st_mtime_ns
    write_checkpoint(deep / "epoch=5-step=50.ckpt", "bare")  # no epoch inside: the name's
    assert tree.stat().st_mtime_ns == root_mtime  # ROOT untouched
    assert by_path(tree)["a/b/c/epoch=5-step=50.ckpt"].epoch == 5
    result = fresh_process_build(tree)
    assert "a/b/c/epoch=5-step=50.ckpt" in [e["checkpoint_path"] for e in result["entries"]]  # type: ignore[index]


def test_deleted_checkpoint_disappears(tree: Path) -> None:
    assert "run/checkpoints/last.ckpt" in by_path(tree)
    (tree / "run" / "checkpoints" / "last.ckpt").unlink()
    assert "run/checkpoints/last.ckpt" not in by_path(tree)
    rows = sqlite3.connect(cache.cache_dir() / CACHE_FILE).execute("SELECT rel FROM entries")
    assert b"run/checkpoints/last.ckpt" not in [row[0] for row in rows]


def test_changed_checkpoint_is_reread(tree: Path) -> None:
    path = tree / "run" / "checkpoints" / "last.ckpt"
    size = by_path(tree)["run/checkpoints/last.ckpt"].size_bytes
    with path.open("ab") as handle:
        handle.write(b"\0" * 10)
    assert by_path(tree)["run/checkpoints/last.ckpt"].size_bytes == size + 10


def test_sidecar_added_changed_deleted(tree: Path, write_sidecar) -> None:
    rel = "run/checkpoints/last.ckpt"
    assert by_path(tree)[rel].source == "config"
    sidecar = write_sidecar(tree / rel, exp_name="x")
    assert by_path(tree)[rel].source == "sidecar"
    write_sidecar(tree / rel, exp_name="x", training={"epoch": 42, "global_step": 1})
    assert by_path(tree)[rel].epoch == 42
    sidecar.unlink()
    assert by_path(tree)[rel].source == "config"


def test_config_change_is_seen(tree: Path) -> None:
    rel = "run/checkpoints/last.ckpt"
    assert by_path(tree)[rel].architecture == "dbnetpp"
    config = tree / "run" / ".hydra" / "config.yaml"
    config.write_text(HYDRA_CONFIG.replace("dbnetpp", "psenet"))
    assert by_path(tree)[rel].architecture == "psenet"
    config.unlink()
    assert by_path(tree)[rel].architecture is None
    write_text(tree / "run" / "config.yaml", "model:\n  architecture: craft\n")
    assert by_path(tree)[rel].architecture == "craft"


def test_code_version_is_part_of_the_key(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rel = "run/checkpoints/epoch=1-step=10.ckpt"
    by_path(tree)
    stale_rewrite(tree / "run/checkpoints/epoch=1-step=10.metadata.yaml", "dbnet", "craft")
    monkeypatch.setattr(cache, "_code_version", "another-version")
    assert by_path(tree)[rel].architecture == "craft"


def test_corrupt_cache_file_is_rebuilt_with_a_warning(tree: Path, cache_folder: Path) -> None:
    expected = by_path(tree, use_cache=False)
    cache_folder.mkdir(parents=True, exist_ok=True)
    (cache_folder / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    catalog = build_catalog(tree)
    assert [i.code for i in catalog.scan_issues] == ["cache.rebuilt"]
    assert [e.to_json() for e in catalog.entries] == [e.to_json() for e in expected.values()]
    cache.clear_memory()
    again = build_catalog(tree)
    assert again.scan_issues == []
    assert [e.checkpoint_path for e in again.entries] == list(expected)


def test_deleted_cache_file_is_recreated_with_a_warning(tree: Path, cache_folder: Path) -> None:
    by_path(tree)
    for name in os.listdir(cache_folder):
        os.unlink(cache_folder / name)
    cache.clear_memory()
    catalog = build_catalog(tree)
    assert [i.code for i in catalog.scan_issues] == ["cache.rebuilt"]
    assert len(catalog.entries) == 2
    assert (cache_folder / CACHE_FILE).exists()
    assert build_catalog(tree).scan_issues == []


def test_locked_cache_is_skipped_with_a_warning(tree: Path, cache_folder: Path) -> None:
    cache_folder.mkdir(parents=True, exist_ok=True)
    holder = sqlite3.connect(cache_folder / CACHE_FILE, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        catalog = build_catalog(tree)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [i.code for i in catalog.scan_issues] == ["cache.unavailable"]
    assert len(catalog.entries) == 2


def test_unwritable_cache_folder_is_skipped(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CKPT_TUI_CACHE_DIR", str(blocker / "cache"))
    catalog = build_catalog(tree)
    assert [i.code for i in catalog.scan_issues] == ["cache.unavailable"]
    assert len(catalog.entries) == 2


def test_two_processes_share_the_cache(tree: Path, write_checkpoint) -> None:
    for index in range(40):
        write_checkpoint(tree / f"run{index % 4}" / "checkpoints" / f"epoch={index}.ckpt")
    code = (
        "import sys\n"
        "from ckpt_tui.catalog.api import build_catalog\n"
        "for _ in range(5):\n"
        "    c = build_catalog(sys.argv[1])\n"
        "    assert len(c.entries) == 42, len(c.entries)\n"
        "    assert not c.scan_issues, c.scan_issues\n"
        "print('ok')\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tree)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "ok"


def test_xdg_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CKPT_TUI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "ckpt-tui"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "ckpt-tui"


# -- reading the file's rows as lookups need them ------------------------------------------


@pytest.fixture
def wide_tree(tmp_path: Path, write_checkpoint, write_sidecar) -> Path:
    """More checkpoints than EARLY_LOOKUPS, in the root, in folders and in nested folders."""
    root = tmp_path / "wide"
    write_sidecar(write_checkpoint(root / "top.ckpt"))
    for run in range(4):
        for epoch in range(cache.EARLY_LOOKUPS // 3):
            ckpt = write_checkpoint(root / f"run{run}" / "checkpoints" / f"epoch={epoch}.ckpt")
            write_sidecar(ckpt)
    write_sidecar(write_checkpoint(root / "run1" / "checkpoints" / "deeper" / "last.ckpt"))
    return root


def stored_rows(cache_folder: Path) -> int:
    with sqlite3.connect(cache_folder / CACHE_FILE) as db:
        return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])


def test_a_lookup_reads_its_own_folder_first(wide_tree: Path, cache_folder: Path) -> None:
    build_catalog(wide_tree)
    view = cache.CatalogCache(os.path.realpath(wide_tree))
    try:
        row = view.lookup(
            "run1/checkpoints/epoch=0.ckpt", "no such signature", need_inspected=False
        )
        assert row is None  # a miss: the signature differs
        # run1's subtree only (its own checkpoints and the deeper folder's), not the whole file
        assert sorted({rel.split("/")[0] for rel in view._disk}) == ["run1"]
        assert "run1/checkpoints/deeper/last.ckpt" in view._disk
    finally:
        view.close()


def test_warm_builds_equal_cold_ones_past_the_early_lookups(
    wide_tree: Path, cache_folder: Path
) -> None:
    cold = [e.to_json() for e in build_catalog(wide_tree, use_cache=False).entries]
    assert len(cold) > cache.EARLY_LOOKUPS
    build_catalog(wide_tree)
    cache.clear_memory()
    warm = build_catalog(wide_tree)
    assert [e.to_json() for e in warm.entries] == cold
    assert warm.scan_issues == []


def test_rows_of_a_deleted_folder_are_dropped_though_no_lookup_read_them(
    tmp_path: Path, cache_folder: Path, write_checkpoint
) -> None:
    root = tmp_path / "two"
    write_checkpoint(root / "a" / "checkpoints" / "epoch=1.ckpt")
    write_checkpoint(root / "b" / "checkpoints" / "epoch=2.ckpt")
    build_catalog(root)
    assert stored_rows(cache_folder) == 2
    shutil.rmtree(root / "b")
    cache.clear_memory()
    assert len(build_catalog(root).entries) == 1  # only a/ was looked up
    assert stored_rows(cache_folder) == 1


def test_a_cache_damaged_before_its_rows_are_read_is_rebuilt(
    wide_tree: Path, cache_folder: Path
) -> None:
    expected = [e.to_json() for e in build_catalog(wide_tree).entries]
    cache.clear_memory()
    view = cache.CatalogCache(os.path.realpath(wide_tree))  # opened: no row read yet
    path = cache_folder / CACHE_FILE
    size = path.stat().st_size
    with open(path, "r+b") as damaged:  # scribble over every page after the first
        damaged.seek(4096)
        damaged.write(os.urandom(size - 4096))
    assert view.lookup("top.ckpt", "any", need_inspected=False) is None
    assert [issue.code for issue in view.issues] == ["cache.rebuilt"]
    view.close()
    cache.clear_memory()
    assert [e.to_json() for e in build_catalog(wide_tree).entries] == expected
