"""Zip archives that hold code by design: TorchScript (``torch.jit.save``) and ``torch.export``.

``torch.load`` hands a zip holding ``constants.pkl`` to ``torch.jit.load``, which runs the
archive's ``code/``; a ``torch.export`` archive (``archive_format``, ``models/``) is a program
too. Their verdict is ``code`` whatever the file's extension; their pickles are not read (they
name the archive's own classes). What their ``extra/`` files hold is shown when it is plain
text or JSON.
"""

from __future__ import annotations

import json

from ckpt_tui.reader.source import CheckpointFile, FormatError, ParsedFile
from ckpt_tui.reader.zipdir import Directory, read_member

TORCHSCRIPT = "TorchScript"
EXPORT = "torch.export"
_EXPORT_MARKERS = ("archive_format", "serialized_exported_program.json")
_MAX_EXTRA_FILES = 16
_MAX_EXTRA_BYTES = 64 * 1024


def archive_kind(members: Directory) -> str | None:
    """``TorchScript``, ``torch.export`` or ``None``, from the archive's top-level members.

    torch writes every member under one folder; a few lookups by name keep this O(1) for the
    thousands of members a checkpoint has.
    """
    prefixes = {""}
    for name in members.pickles[:4]:
        prefixes.add(name.rpartition("/")[0] + "/" if "/" in name else "")
    first = next(iter(members.entries), "")
    if "/" in first:
        prefixes.add(first.partition("/")[0] + "/")
    entries = members.entries
    for prefix in prefixes:
        if prefix + "constants.pkl" in entries:
            return TORCHSCRIPT
        if any(prefix + marker in entries for marker in _EXPORT_MARKERS):
            return EXPORT
    return None


def code_archive(f: CheckpointFile, members: Directory) -> ParsedFile | None:
    """A ParsedFile for a code archive (``code`` set, ``extra/`` contents as the root), else
    ``None``."""
    kind = archive_kind(members)
    if kind is None:
        return None
    parsed = ParsedFile("zip", root={}, code=kind)
    extras: dict[str, object] = {}
    for name in members.entries:
        if len(extras) >= _MAX_EXTRA_FILES:
            break
        head, _, rest = name.partition("extra/")
        if not rest or head.count("/") > 1 or (head and not head.endswith("/")):
            continue
        member = members.get(name)
        if member is None or member.size > _MAX_EXTRA_BYTES:
            continue
        try:
            text = read_member(f, member, _MAX_EXTRA_BYTES).decode("utf-8")
        except (FormatError, UnicodeDecodeError):
            continue
        extras[rest] = _plain(text)
    parsed.extra["archive_extra"] = extras
    return parsed


def _plain(text: str) -> object:
    """JSON when the text is JSON (plain data only), else the text itself."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text
