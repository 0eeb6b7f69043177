"""Discovery: patterns, skipped folders, links, loops, unreadable folders, odd names and files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ckpt_tui.catalog.api import build_catalog
from ckpt_tui.catalog.discover import walk
from ckpt_tui.model.entry import Issue


def found(root: Path, **kwargs: object) -> tuple[list[str], list[Issue]]:
    issues: list[Issue] = []
    rels = [f.rel for _, files in walk(str(root), issues, **kwargs) for f in files]  # type: ignore[arg-type]
    return rels, issues


def test_default_patterns_and_case(tmp_path: Path, write_checkpoint) -> None:
    for name in ("a.ckpt", "b.pt", "c.pth", "d.safetensors", "E.CKPT", "notes.txt", "f.ckpt.bak"):
        write_checkpoint(tmp_path / name)
    rels, issues = found(tmp_path)
    assert sorted(rels) == ["E.CKPT", "a.ckpt", "b.pt", "c.pth", "d.safetensors"]
    assert issues == []


def test_patterns_are_configurable(tmp_path: Path, write_checkpoint) -> None:
    write_checkpoint(tmp_path / "a.ckpt")
    write_checkpoint(tmp_path / "model.bin")
    rels, _ = found(tmp_path, patterns=["*.bin"])
    assert rels == ["model.bin"]


def test_skipped_and_allowed_folders(tmp_path: Path, write_checkpoint) -> None:
    for folder in (".git", "__pycache__", "wandb", ".venv", "node_modules", ".cache", "ok"):
        write_checkpoint(tmp_path / folder / "x.ckpt")
    write_checkpoint(tmp_path / ".hydra" / "x.ckpt")
    write_checkpoint(tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "x.ckpt")
    rels, _ = found(tmp_path)
    assert sorted(rels) == [
        ".hydra/x.ckpt",
        "lightning_logs/version_0/checkpoints/x.ckpt",
        "ok/x.ckpt",
    ]


def test_file_link_is_followed_with_target_size(tmp_path: Path, write_checkpoint) -> None:
    target = write_checkpoint(tmp_path / "run" / "checkpoints" / "epoch=3-step=30.ckpt")
    (tmp_path / "run" / "checkpoints" / "last.ckpt").symlink_to("epoch=3-step=30.ckpt")
    catalog = build_catalog(tmp_path, use_cache=False, inspect=False)
    by_path = {e.checkpoint_path: e for e in catalog.entries}
    last = by_path["run/checkpoints/last.ckpt"]
    assert last.size_bytes == target.stat().st_size
    assert not last.has_errors


def test_dangling_link_is_an_error_entry(tmp_path: Path) -> None:
    (tmp_path / "last.ckpt").symlink_to("gone.ckpt")
    catalog = build_catalog(tmp_path, use_cache=False)
    (entry,) = catalog.entries
    assert entry.checkpoint_path == "last.ckpt"
    assert entry.issues[0].code == "checkpoint.dangling-link"
    assert entry.issues[0].severity == "error"


def test_directory_link_loops_terminate(tmp_path: Path, write_checkpoint) -> None:
    write_checkpoint(tmp_path / "runs" / "a" / "x.ckpt")
    (tmp_path / "runs" / "a" / "again").symlink_to(tmp_path / "runs")  # loop
    (tmp_path / "runs" / "self").symlink_to(".")  # loop to itself
    (tmp_path / "up").symlink_to(tmp_path.parent)  # above the root
    (tmp_path / "slash").symlink_to("/")
    result: list[list[str]] = []
    thread = threading.Thread(target=lambda: result.append(found(tmp_path)[0]), daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the walk looped"
    assert result[0] == ["runs/a/x.ckpt"]


def test_directory_link_outside_root_is_walked_once(tmp_path: Path, write_checkpoint) -> None:
    outside = tmp_path / "disk2" / "run"
    write_checkpoint(outside / "x.ckpt")
    root = tmp_path / "outputs"
    root.mkdir()
    (root / "run-link").symlink_to(outside)
    (root / "run-link-2").symlink_to(outside)
    rels, _ = found(root)
    assert rels == ["run-link/x.ckpt"]


def test_real_path_wins_over_link_seen_first(tmp_path: Path, write_checkpoint) -> None:
    write_checkpoint(tmp_path / "version_3" / "x.ckpt")
    (tmp_path / "a-latest").symlink_to("version_3")  # sorts before the real folder
    rels, _ = found(tmp_path)
    assert rels == ["version_3/x.ckpt"]


def test_nested_checkpoints_folders_found_once(tmp_path: Path, write_checkpoint) -> None:
    write_checkpoint(tmp_path / "run" / "checkpoints" / "sub" / "checkpoints" / "epoch=1.ckpt")
    write_checkpoint(tmp_path / "run" / "checkpoints" / "epoch=0.ckpt")
    catalog = build_catalog(tmp_path, use_cache=False, inspect=False)
    paths = [e.checkpoint_path for e in catalog.entries]
    assert sorted(paths) == [
        "run/checkpoints/epoch=0.ckpt",
        "run/checkpoints/sub/checkpoints/epoch=1.ckpt",
    ]


def test_fifo_socket_are_not_checkpoints_and_never_opened(tmp_path: Path, write_checkpoint) -> None:
    write_checkpoint(tmp_path / "good.ckpt")
    os.mkfifo(tmp_path / "pipe.ckpt")
    os.mkfifo(tmp_path / "good.metadata.yaml")  # a FIFO sidecar must not be opened either
    os.mkfifo(tmp_path / "config.yaml")  # nor a FIFO config
    result: list[object] = []
    thread = threading.Thread(
        target=lambda: result.append(build_catalog(tmp_path, use_cache=False)), daemon=True
    )
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "something opened a FIFO"
    catalog = result[0]
    assert [e.checkpoint_path for e in catalog.entries] == ["good.ckpt"]  # type: ignore[attr-defined]
    codes = [i.code for i in catalog.scan_issues]  # type: ignore[attr-defined]
    assert "scan.not-a-file" in codes
    entry = catalog.entries[0]  # type: ignore[attr-defined]
    assert "sidecar.unreadable" in [i.code for i in entry.issues]


def test_non_utf8_names_keep_working(tmp_path: Path, write_checkpoint) -> None:
    raw = os.fsencode(tmp_path) + b"/run\xff/checkpoints/epoch=2-\xfe.ckpt"
    os.makedirs(os.path.dirname(raw))
    write_checkpoint(Path(os.fsdecode(raw)), "bare")
    catalog = build_catalog(tmp_path)  # with the cache: keys hold the raw bytes
    (entry,) = catalog.entries
    assert os.fsencode(entry.checkpoint_path) == b"run\xff/checkpoints/epoch=2-\xfe.ckpt"
    assert entry.epoch == 2
    assert os.path.exists(entry.abs_path)
    again = build_catalog(tmp_path)
    assert again.entries[0].checkpoint_path == entry.checkpoint_path


def _unreadable_scan(root: Path) -> dict[str, object]:
    """Scan ``root`` in a real subprocess that permission bits apply to.

    root reads every folder, so as root the subprocess runs without the capabilities that
    bypass permission checks (``setpriv``); as any other user it runs as is.
    """
    code = (
        "import json, sys\n"
        "from ckpt_tui.catalog.api import build_catalog\n"
        "c = build_catalog(sys.argv[1], use_cache=False)\n"
        "print(json.dumps({'paths': [e.checkpoint_path for e in c.entries],"
        " 'issues': [i.code for i in c.scan_issues]}))\n"
    )
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: every folder is readable")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]
    out = subprocess.run(
        [*prefix, sys.executable, "-c", code, str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_unreadable_folder_is_an_issue_and_walk_goes_on(tmp_path: Path, write_checkpoint) -> None:
    write_checkpoint(tmp_path / "ok" / "a.ckpt")
    write_checkpoint(tmp_path / "locked" / "b.ckpt")
    write_checkpoint(tmp_path / "z-after" / "c.ckpt")
    (tmp_path / "locked").chmod(0)
    try:
        result = _unreadable_scan(tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert result["paths"] == ["ok/a.ckpt", "z-after/c.ckpt"]
    assert result["issues"] == ["scan.unreadable"]
