"""Atomic file writes: a temp file in the same folder, fsync, then ``os.replace`` (replacing) or
``os.link`` (creating, never replacing).

A reader sees either the old file or the complete new one, never a partial write, even when the
writer is killed mid-way or the disk fills up. A writer killed mid-way may leave its temp file,
named ``.<name>.<12 hex digits>.tmp``: :func:`is_temp_name` recognises the pattern and
:func:`remove_stale_temps` removes such leftovers once they are old enough to belong to no
writer still running.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import time
from pathlib import Path

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_TEMP_ATTEMPTS = 16
_MAX_NAME_BYTES = 200
"""Longest target name kept whole in the temp file's name (folders allow 255 bytes a name)."""


def atomic_write_bytes(path: Path, data: bytes, *, sync_folder: bool = True) -> None:
    """Write ``data`` to ``path`` atomically; on any failure no partial file is left behind.

    The data is fsynced before the rename, so even after a power cut ``path`` holds either the
    old or the whole new content. ``sync_folder=False`` skips the folder's fsync, which only
    makes the rename itself durable: a caller writing many files in one folder then calls
    :func:`fsync_folder` once for all of them.
    """
    tmp_name = _filled_temp(path, data)
    try:
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    if sync_folder:
        fsync_folder(path.parent)


_NO_HARD_LINKS = frozenset(
    code
    for code in (
        errno.EPERM,  # FAT, exFAT and some FUSE and network filesystems refuse hard links
        getattr(errno, "ENOTSUP", None),
        getattr(errno, "EOPNOTSUPP", None),
        getattr(errno, "ENOSYS", None),
        errno.EMLINK,
    )
    if code is not None
)
"""What ``link()`` answers on a filesystem without hard links."""


def atomic_create_bytes(path: Path, data: bytes, *, sync_folder: bool = True) -> None:
    """Create ``path`` holding ``data``, atomically and never replacing anything.

    The data goes to a temp file in the same folder, is fsynced, and the temp file is then
    hard-linked to ``path``: the link fails with ``FileExistsError`` when anything (a file, a
    folder, a link, even a dangling one) already has that name, so a file that appeared since the
    caller looked is kept. The temp file is removed in every case. Where the filesystem has no
    hard links, ``path`` is created with ``O_EXCL`` and written in place instead: still never
    replacing, but a writer killed mid-way can leave it partial there.
    """
    tmp_name = _filled_temp(path, data)
    try:
        try:
            os.link(tmp_name, path, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            _create_exclusive(path, data)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
    if sync_folder:
        fsync_folder(path.parent)


def _create_exclusive(path: Path, data: bytes) -> None:
    """Create ``path`` with ``O_EXCL`` (no link followed) and write ``data``; removed on failure."""
    flags = _TEMP_FLAGS | getattr(os, "O_NOFOLLOW", 0)
    _fill(os.open(path, flags, 0o666), path, data)


def _filled_temp(path: Path, data: bytes) -> str:
    """A new temp file beside ``path`` holding ``data``, fsynced and closed: its name."""
    fd, tmp_name = _create_temp(path)
    _fill(fd, tmp_name, data)
    return tmp_name


def _fill(fd: int, name: str | Path, data: bytes) -> None:
    """Write ``data`` to the new file ``fd`` (called ``name``), fsync and close it; on any
    failure the file is removed."""
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{12}\.tmp", re.DOTALL)
"""The name of a temp file of :func:`atomic_write_bytes` and :func:`atomic_create_bytes`."""
STALE_TEMP_SECONDS = 120.0
"""How old a temp file must be before :func:`remove_stale_temps` takes it for a leftover: a
running writer keeps its temp file for the length of one write and fsync."""


def is_temp_name(name: str) -> bool:
    """Whether ``name`` names an atomic write's temp file (``.a.yaml.0123456789ab.tmp``)."""
    return name.endswith(".tmp") and _TEMP_NAME.fullmatch(name) is not None


def remove_stale_temps(
    folder: str | os.PathLike[str], *, suffix: str, older_than: float = STALE_TEMP_SECONDS
) -> list[str]:
    """Remove the temp files a killed writer left in ``folder``; returns the names removed.

    Only regular files (never links or folders) whose name is a temp file's for a target ending
    in ``suffix`` (``.metadata.yaml``, say) and whose modification time is more than
    ``older_than`` seconds ago: a writer at work in the same folder keeps its temp file.
    Never raises: a folder or file that cannot be read or removed is left alone.
    """
    removed: list[str] = []
    deadline = time.time() - older_than
    marker = suffix + "."
    try:
        with os.scandir(folder) as listing:
            entries = [e for e in listing if is_temp_name(e.name) and marker in e.name]
    except OSError:
        return removed
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_mtime > deadline:
                continue
            os.unlink(entry.path)
        except OSError:
            continue  # gone already, or not ours to remove: left as it is
        removed.append(entry.name)
    return removed


def atomic_write_text(path: Path, text: str, *, sync_folder: bool = True) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"), sync_folder=sync_folder)


def fsync_folder(folder: Path) -> None:
    """Make the renames done in ``folder`` durable; folders that cannot be synced are skipped."""
    # Some filesystems refuse to open or fsync folders; the renames are atomic regardless.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        return
    finally:
        os.close(fd)


def _create_temp(path: Path) -> tuple[int, str]:
    """Create ``.<name>.<random>.tmp`` beside ``path``, exclusively; returns (fd, its path).

    Opened directly rather than through ``tempfile.mkstemp``: mode 0o666 lets the umask decide
    the sidecar's permissions as for any new file (mkstemp's 0o600 needed a chmod), and the
    random part costs one ``getrandom`` call, which matters when converting thousands of files.
    """
    name = path.name
    if len(os.fsencode(name)) > _MAX_NAME_BYTES:
        # At most 46 characters (184 bytes in UTF-8); the end keeps the target's suffix, by
        # which remove_stale_temps knows whose leftover it is.
        name = name[:30] + "~" + name[-16:]
    last_error: FileExistsError | None = None
    for _ in range(_TEMP_ATTEMPTS):
        tmp_name = os.path.join(path.parent, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp_name, _TEMP_FLAGS, 0o666), tmp_name
        except FileExistsError as exc:  # 48 random bits: only a hostile folder gets here twice
            last_error = exc
    assert last_error is not None
    raise last_error
