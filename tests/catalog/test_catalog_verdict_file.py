"""The verdict belongs to the file: no sidecar sets it, the cache never keeps a replaced file's
verdict, verified verdicts come back from a warm cache, and the filter language asks for it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from payloads import MarkerPayload

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.cache import clear_memory
from ckpt_tui.catalog.filter import FilterError, parse_filter
from ckpt_tui.catalog.verify import remember_verdicts, verify_entries
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.sources.merge import TierResult, merge_tiers


def _save(path: Path, payload: object, note: str = "") -> Path:
    import torch

    data = {"epoch": 2, "global_step": 20, "state_dict": {"w": torch.zeros(2, 2)}, "note": note}
    if payload is not None:
        data["hook"] = payload
    path.parent.mkdir(parents=True, exist_ok=True)
    # The pre-1.6 format grows byte for byte with the note: a clean twin of the same size.
    torch.save(data, path, _use_new_zipfile_serialization=False)
    return path


def _same_size_pair(folder: Path, marker: Path) -> tuple[Path, Path]:
    hostile = _save(folder / "hostile.pt", MarkerPayload(marker))
    size = hostile.stat().st_size
    clean = folder / "clean.ckpt"
    for pad in range(0, 400):
        _save(clean, None, "x" * pad)
        if clean.stat().st_size == size:
            return clean, hostile
    raise AssertionError("no clean checkpoint of the hostile one's size")


def _sidecar(ckpt: Path, extra: str = "") -> None:
    ckpt.with_name(ckpt.stem + ".metadata.yaml").write_text(
        f"checkpoint_path: {ckpt.name}\n"
        "exp_name: verdicts\n"
        "created_at: '2026-12-07T10:00:00+00:00'\n"
        "training: {epoch: 2, global_step: 20}\n"
        "model: {architecture: dbnet, encoder: {model_name: resnet18}}\n"
        "metrics: {hmean: 0.5}\n" + extra
    )


def test_no_tier_but_the_checkpoint_tier_gives_the_verdict() -> None:
    sidecar = TierResult(kind="sidecar", values={"safety": "safe", "epoch": 1})
    config = TierResult(kind="config", values={"unsafe_globals": []})
    merged = merge_tiers([sidecar, config])
    assert "safety" not in merged.values and "unsafe_globals" not in merged.values
    checkpoint = TierResult(
        kind="checkpoint",
        values={"safety": "unsafe", "unsafe_globals": ["posix.system"]},
        provenance={"safety": "the file"},
    )
    merged = merge_tiers([sidecar, config, checkpoint])
    assert merged.values["safety"] == "unsafe"
    assert merged.values["unsafe_globals"] == ["posix.system"]
    assert merged.provenance["safety"] == "the file" and merged.source == "sidecar"


def test_a_hostile_sidecar_claiming_safe_is_ignored(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    root = tmp_path / "tree"
    ckpt = _save(root / "run" / "bad.ckpt", MarkerPayload(marker))
    _sidecar(ckpt, "safety: safe\nunsafe_globals: []\n")
    (entry,) = build_catalog(root, use_cache=False).entries
    assert (entry.source, entry.safety) == ("sidecar", "unchecked")  # the keys say nothing
    (verified,) = [e for u in verify_entries([entry]) for e in u.entries]
    assert verified.safety == "unsafe"
    assert any("system" in name for name in verified.unsafe_globals)
    assert not marker.exists()


def test_a_file_copied_over_a_clean_one_with_the_same_size_and_mtime_is_read_again(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "marker"
    root = tmp_path / "tree"
    clean, hostile = _same_size_pair(root / "run", marker)
    hostile = hostile.rename(tmp_path / "hostile.pt")  # outside the tree
    (first,) = build_catalog(root).entries
    assert first.safety == "safe"
    before = clean.stat()
    shutil.copyfile(hostile, clean)  # same inode, same size
    os.utime(clean, ns=(before.st_atime_ns, before.st_mtime_ns))  # touch -r
    after = clean.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    (again,) = build_catalog(root).entries  # the in-process layer and the file both hold it
    assert again.safety == "unsafe"
    clear_memory()
    (cold,) = build_catalog(root).entries
    assert cold.safety == "unsafe"
    assert not marker.exists()


def test_verified_verdicts_come_back_from_a_warm_cache(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    root = tmp_path / "tree"
    bad = _save(root / "run" / "bad.ckpt", MarkerPayload(marker))
    good = _save(root / "run" / "good.ckpt", None)
    for ckpt in (bad, good):
        _sidecar(ckpt)
    entries = build_catalog(root).entries
    assert {e.safety for e in entries} == {"unchecked"}
    updates = list(verify_entries(entries, root=str(root)))
    assert updates[-1].final and updates[-1].scan_issues == []
    for memory in (True, False):
        if not memory:
            clear_memory()
        warm = {e.checkpoint_path: e for e in build_catalog(root).entries}
        assert warm["run/bad.ckpt"].safety == "unsafe", memory
        assert warm["run/good.ckpt"].safety == "safe", memory
        assert warm["run/bad.ckpt"].source == "sidecar"
        assert any(i.code.startswith("security.") for i in warm["run/bad.ckpt"].issues)
    # The file changes (its ctime, at least): its remembered verdict is not its verdict any more.
    stat = bad.stat()
    os.utime(bad, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = {e.checkpoint_path: e for e in build_catalog(root).entries}
    assert changed["run/bad.ckpt"].safety == "unchecked"
    assert changed["run/good.ckpt"].safety == "safe"
    assert not marker.exists()


def test_a_verdict_never_lands_on_the_row_of_another_file(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    root = tmp_path / "tree"
    clean, hostile = _same_size_pair(root / "run", marker)
    hostile.unlink()
    _sidecar(clean)
    (entry,) = build_catalog(root).entries
    (verified,) = [e for u in verify_entries([entry]) for e in u.entries]
    assert verified.safety == "safe"
    stat = clean.stat()
    os.utime(clean, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # changed since the row was made
    assert remember_verdicts(str(root), [verified]) == []
    clear_memory()
    (cached,) = build_catalog(root).entries
    assert cached.safety == "unchecked"


def _entry(name: str, safety: str) -> CheckpointCatalogEntry:
    return CheckpointCatalogEntry(
        checkpoint_path=name,
        abs_path=f"/x/{name}",
        size_bytes=1,
        safety=safety,  # type: ignore[arg-type]
    )


def test_the_safety_filter_is_exact() -> None:
    entries = [
        _entry(f"{verdict}.ckpt", verdict)
        for verdict in ("safe", "unsafe", "code", "unchecked", "unreadable")
    ]

    def names(expr: str) -> list[str]:
        return [e.checkpoint_path for e in parse_filter(expr).select(entries)]

    assert names("safety:unsafe") == ["unsafe.ckpt"]
    assert names("safety:safe") == ["safe.ckpt"]  # never "unsafe" by substring
    assert names("safety=Code") == ["code.ckpt"]
    assert names("safety:unchecked") == ["unchecked.ckpt"]
    assert names("-safety:safe") == names("safety!=safe")
    assert names("has:security") == ["unsafe.ckpt", "code.ckpt"]
    with pytest.raises(FilterError, match="one of"):
        parse_filter("safety:fine")
    with pytest.raises(FilterError):
        parse_filter("safety>safe")


def test_an_empty_file_is_unreadable_without_a_read(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "run").mkdir(parents=True)
    (root / "run" / "empty.ckpt").write_bytes(b"")
    (entry,) = build_catalog(root, use_cache=False).entries
    assert entry.safety == "unreadable"
    assert [i.code for i in entry.issues] == ["checkpoint.empty"]
    assert [e for u in verify_entries([entry]) for e in u.entries] == []
