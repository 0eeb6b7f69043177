"""Special files and moving targets: symlink loops, FIFOs, sockets and devices named like
checkpoints, sidecars and configs; files that vanish or change in the middle of scans; unreadable
files and folders (as the ``nobody`` user: root reads everything).

Every command finishes within a bound, lists every real checkpoint with its error, and changes
no checkpoint."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hardening_helpers import by_path, issue_codes, list_json, run_cli, tree_digest

from ckpt_tui.catalog import cache
from ckpt_tui.catalog.api import build_catalog

NOBODY = 65534


@pytest.fixture
def special_tree(tmp_path: Path, ckpt_bytes: bytes) -> Iterator[Path]:
    root = tmp_path / "outputs"
    (root / "ok").mkdir(parents=True)
    (root / "ok" / "good.ckpt").write_bytes(ckpt_bytes)
    links = root / "links"
    links.mkdir()
    os.symlink("self.ckpt", links / "self.ckpt")
    os.symlink("b.ckpt", links / "a.ckpt")
    os.symlink("a.ckpt", links / "b.ckpt")
    for i in range(60):  # a chain longer than the kernel follows (40)
        os.symlink(f"chain{i + 1}.ckpt", links / f"chain{i}.ckpt")
    (links / "chain60.ckpt").write_bytes(ckpt_bytes)
    os.symlink("..", links / "up")  # folder loops
    os.symlink(str(root), links / "root")
    os.symlink("loop-dir", links / "loop-dir")
    (links / "real.ckpt").write_bytes(ckpt_bytes)
    os.symlink("real.metadata.yaml", links / "real.metadata.yaml")  # a looping sidecar
    (links / ".hydra").mkdir()
    os.symlink("config.yaml", links / ".hydra" / "config.yaml")  # and a looping config
    special = root / "special"
    special.mkdir()
    os.mkfifo(special / "x.ckpt")
    os.mkfifo(special / "real.metadata.yaml")
    os.mkfifo(special / "config.yaml")
    (special / "real.ckpt").write_bytes(ckpt_bytes)
    for name, target in (("zero.ckpt", "/dev/zero"), ("urandom.pt", "/dev/urandom")):
        os.symlink(target, special / name)
    try:
        os.mknod(special / "null.ckpt", 0o644 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(special / "zero-device.pth", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    except OSError:
        os.symlink("/dev/null", special / "null.ckpt")  # no mknod here: a link to the device
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(special / "s.ckpt"))
    server.listen(1)
    try:
        yield root
    finally:
        server.close()


EXPECTED_ENTRIES = {
    "ok/good.ckpt": None,
    "links/self.ckpt": "checkpoint.dangling-link",
    "links/a.ckpt": "checkpoint.dangling-link",
    "links/b.ckpt": "checkpoint.dangling-link",
    "links/chain0.ckpt": "checkpoint.dangling-link",
    "links/real.ckpt": None,
    "special/real.ckpt": None,
}


def test_special_files_through_every_command(special_tree: Path) -> None:
    before = tree_digest(special_tree)
    started = time.monotonic()
    entries, stderr = list_json(special_tree)
    shown = by_path(entries)
    for path, code in EXPECTED_ENTRIES.items():
        assert path in shown, (path, sorted(shown))
        if code is None:
            assert shown[path]["epoch"] == 3, shown[path]
        else:
            assert code in issue_codes(shown[path]), shown[path]
    assert "special/x.ckpt" not in shown and "special/s.ckpt" not in shown
    assert "special/null.ckpt" not in shown and "special/zero.ckpt" not in shown
    for name in ("x.ckpt", "s.ckpt", "null.ckpt", "zero.ckpt", "urandom.pt"):
        assert f"special/{name}: not a regular file" in stderr, name
    assert "links/root: link to the root or above it" in stderr
    for command in (["validate"], ["convert", "--dry-run"], ["convert"]):
        done = run_cli(*command, special_tree)
        assert done.returncode in (0, 1), (command, done.stderr[-2000:])
        assert b"Traceback" not in done.stderr
    for name in ("x.ckpt", "s.ckpt", "null.ckpt", "zero.ckpt"):
        done = run_cli("show", special_tree / "special" / name)
        assert done.returncode == 2 and b"not a file" in done.stderr  # refused, never opened
    assert time.monotonic() - started < 60
    after = tree_digest(special_tree)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing changed
    assert stat.S_ISFIFO(os.lstat(special_tree / "special" / "x.ckpt").st_mode)


# -- files that vanish or change while a scan runs -------------------------------------------------


def _mutate(root: Path, data: bytes, stop: threading.Event, seed: int) -> None:
    """Delete, truncate, rewrite, replace with a folder or a FIFO, and restore, in a loop."""
    rng = random.Random(seed)
    victims = [
        root / f"moving{i:02d}" / "checkpoints" / f"e{j}.ckpt" for i in range(8) for j in range(5)
    ]
    while not stop.is_set():
        path = rng.choice(victims)
        sidecar = path.with_suffix(".metadata.yaml")
        action = rng.randrange(7)
        try:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            if action == 0:
                path.write_bytes(data[: rng.randrange(len(data))])  # truncated
            elif action == 1:
                path.mkdir()  # a folder now
            elif action == 2:
                os.mkfifo(path)  # a FIFO swapped in after the walk saw a file
            elif action == 3:
                sidecar.write_text("exp_name: [unclosed\n")
            elif action == 4 and sidecar.exists():
                sidecar.unlink()
            elif action in (5, 6):
                path.write_bytes(data)
        except OSError:
            pass
        time.sleep(rng.random() * 0.002)


def _build_into(root: Path, use_cache: bool, out: list[Any], errors: list[BaseException]) -> None:
    try:
        out.append(build_catalog(root, use_cache=use_cache))
    except BaseException as exc:  # the test reports it
        errors.append(exc)


def test_files_vanish_and_change_mid_scan(tmp_path: Path, ckpt_bytes: bytes) -> None:
    root = tmp_path / "outputs"
    stable = [
        root / f"stable{i:02d}" / "checkpoints" / f"e{j}.ckpt" for i in range(8) for j in range(5)
    ]
    moving = [
        root / f"moving{i:02d}" / "checkpoints" / f"e{j}.ckpt" for i in range(8) for j in range(5)
    ]
    for path in stable + moving:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ckpt_bytes)
    stable_digest = {k: v for k, v in tree_digest(root).items() if k.startswith(b"/stable")}
    stop = threading.Event()
    mutators = [
        threading.Thread(target=_mutate, args=(root, ckpt_bytes, stop, seed), daemon=True)
        for seed in (1, 2)
    ]
    for thread in mutators:
        thread.start()
    errors: list[BaseException] = []
    try:
        for round_ in range(12):
            result: list[Any] = []
            worker = threading.Thread(
                target=_build_into, args=(root, round_ % 2 == 0, result, errors), daemon=True
            )
            worker.start()
            worker.join(timeout=30)
            assert not worker.is_alive(), f"build {round_} hangs (a FIFO opened?)"
            assert not errors, errors
            shown = {entry.checkpoint_path: entry for entry in result[0].entries}
            for path in stable:
                rel = path.relative_to(root).as_posix()
                assert shown[rel].epoch == 3 and not shown[rel].has_errors, shown[rel]
    finally:
        stop.set()
        for thread in mutators:
            thread.join(timeout=10)
    # Once things settle, the cache must not remember anything stale.
    for path in moving:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        path.write_bytes(ckpt_bytes)
        path.with_suffix(".metadata.yaml").unlink(missing_ok=True)
    cached = build_catalog(root)
    cache.clear_memory()
    fresh = build_catalog(root, use_cache=False)
    assert [e.to_json() for e in cached.entries] == [e.to_json() for e in fresh.entries]
    assert all(entry.epoch == 3 for entry in fresh.entries)
    assert {k: v for k, v in tree_digest(root).items() if k.startswith(b"/stable")} == stable_digest


# -- unreadable files and folders, as nobody -------------------------------------------------------

_AS_NOBODY = r"""
import contextlib, io, json, os, sys
from ckpt_tui.cli import main
warm, root, command = sys.argv[1], sys.argv[2], sys.argv[3:]
# Import everything the command needs while still root (the interpreter's own files live under
# /root, which nobody cannot read), then drop to nobody for the real run.
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    main([command[0], warm, *command[1:]])
    main(["show", os.path.join(warm, "run", "w.ckpt")])
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
assert os.geteuid() == 65534
sys.exit(main([command[0], root, *command[1:]]))
"""


@pytest.fixture
def shared_tmp(ckpt_bytes: bytes) -> Iterator[Path]:
    """A folder under /tmp that nobody can reach (pytest's own tmp folders are root-only)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to the nobody user")
    base = Path(tempfile.mkdtemp(prefix="ckpt-hardening-", dir="/tmp"))
    base.chmod(0o755)
    # In a run folder: a checkpoint directly in the root has no experiment name, so converting
    # it would stop before the schema that the real run needs is imported.
    (base / "warm" / "run").mkdir(parents=True)
    (base / "warm" / "run" / "w.ckpt").write_bytes(ckpt_bytes)
    try:
        yield base
    finally:
        for folder, dirs, _files in os.walk(base):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        shutil.rmtree(base)


def _as_nobody(base: Path, root: Path, *command: str) -> Any:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _AS_NOBODY, str(base / "warm"), str(root), *command],
        capture_output=True,
        timeout=60,
        env={**os.environ, "CKPT_TUI_CACHE_DIR": str(base / "root-only-cache")},
        check=False,
    )
    if b"PermissionError: [Errno 1] Operation not permitted" in done.stderr:
        pytest.skip("cannot switch to the nobody user here (setuid refused)")
    return done


def test_unreadable_files_and_folders_as_nobody(shared_tmp: Path, ckpt_bytes: bytes) -> None:
    root = shared_tmp / "outputs"
    files = {
        "ok/a.ckpt": 0o644,
        "secret.ckpt": 0o000,
        "locked/b.ckpt": 0o644,
        "noexec/c.ckpt": 0o644,
        "run/checkpoints/d.ckpt": 0o644,
        "hydra/checkpoints/e.ckpt": 0o644,
        "readonly/f.ckpt": 0o644,
    }
    for rel, mode in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ckpt_bytes)
        path.chmod(mode)
    sidecar = root / "run" / "checkpoints" / "d.metadata.yaml"
    sidecar.write_text("exp_name: hidden\n")
    sidecar.chmod(0o000)
    config = root / "hydra" / ".hydra" / "config.yaml"
    config.parent.mkdir()
    config.write_text("exp_name: hidden\n")
    config.chmod(0o000)
    (shared_tmp / "root-only-cache").mkdir(mode=0o700)  # the cache: unusable for nobody
    before = tree_digest(root)
    for folder in (
        "ok",
        "locked",
        "noexec",
        "run",
        "run/checkpoints",
        "hydra",
        "hydra/checkpoints",
    ):
        (root / folder).chmod(0o755)
    os.chown(root / "ok", NOBODY, NOBODY)  # the one folder nobody may write sidecars into
    (root / "locked").chmod(0o000)
    (root / "noexec").chmod(0o644)  # listable, but nothing inside can be opened
    (root / "readonly").chmod(0o555)
    root.chmod(0o755)

    done = _as_nobody(shared_tmp, root, "list", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    entries = by_path(json.loads(done.stdout))
    stderr = done.stderr.decode()
    assert entries["ok/a.ckpt"]["epoch"] == 3
    assert "checkpoint.unreadable" in issue_codes(entries["secret.ckpt"])
    assert "sidecar.unreadable" in issue_codes(entries["run/checkpoints/d.ckpt"])
    assert entries["run/checkpoints/d.ckpt"]["epoch"] == 3  # the checkpoint still answers
    assert "config.unreadable" in issue_codes(entries["hydra/checkpoints/e.ckpt"])
    assert "locked/b.ckpt" not in entries and "locked: cannot read folder" in stderr
    assert "noexec" in stderr
    assert "cache.unavailable" in stderr

    done = _as_nobody(shared_tmp, root, "validate")
    assert done.returncode == 1 and b"Traceback" not in done.stderr, done.stderr[-3000:]
    assert b"d.metadata.yaml" in done.stdout

    done = _as_nobody(shared_tmp, root, "convert", "--json", "--no-cache")
    assert done.returncode == 1, done.stderr[-3000:]  # the read-only folder's item failed
    report = json.loads(done.stdout)
    outcome = {item["checkpoint_path"]: item for item in report["items"]}
    assert outcome["readonly/f.ckpt"]["outcome"] == "failed"
    assert "Permission denied" in outcome["readonly/f.ckpt"]["reason"]
    assert outcome["ok/a.ckpt"]["outcome"] == "written"
    assert not [p for p in (root / "readonly").iterdir() if p.name != "f.ckpt"]  # no temp file

    for folder, dirs, _files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
    after = tree_digest(root)
    assert {k: v for k, v in after.items() if k in before} == before  # checkpoints untouched
