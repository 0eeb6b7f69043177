"""Atomic file writes: a temp file in the same folder, fsync, then ``os.replace``.

A reader sees either the old file or the complete new one, never a partial write, even when the
writer is killed mid-way or the disk fills up.
"""

from __future__ import annotations

import contextlib
import os
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
    fd, tmp_name = _create_temp(path)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    if sync_folder:
        fsync_folder(path.parent)


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
        name = name[:40]  # at most 160 bytes in UTF-8; the name only helps a human spot it
    last_error: FileExistsError | None = None
    for _ in range(_TEMP_ATTEMPTS):
        tmp_name = os.path.join(path.parent, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp_name, _TEMP_FLAGS, 0o666), tmp_name
        except FileExistsError as exc:  # 48 random bits: only a hostile folder gets here twice
            last_error = exc
    assert last_error is not None
    raise last_error
