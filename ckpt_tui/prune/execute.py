"""Carrying out a prune plan: each planned checkpoint and its sidecars, and nothing else.

Every deletion goes through file descriptors opened from the root down, one folder at a time,
with ``O_NOFOLLOW``: a link anywhere on the way (a folder swapped for a link since planning)
stops the item, so nothing outside the root is ever reached. A link that is itself an item or
a sidecar is removed as a link (``unlink`` never follows); its target is untouched.

Before anything of an item goes, the checkpoint (and each sidecar, and each file of a folder
checkpoint) must still be the very file planned: same kind, size, mtime, ctime, inode and
device. Otherwise the item is skipped with a message. The checkpoint goes first, its sidecars
after it, so an interrupted run can leave a sidecar without its checkpoint but never a
checkpoint without its sidecar; every file not yet reached stays intact.

(Between the last check and the ``unlink`` another process could still swap the file: POSIX
has no "unlink if unchanged". The window is a few microseconds per file.)
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ckpt_tui.catalog.discover import DEFAULT_PATTERNS, compile_patterns
from ckpt_tui.prune.facts import (
    MAX_FOLDER_DEPTH,
    FileState,
)
from ckpt_tui.prune.plan import PruneItem, PrunePlan
from ckpt_tui.sidecar.files import sidecar_names
from ckpt_tui.sources.layout import is_folder_checkpoint_file, is_nested_run_folder

Outcome = Literal["deleted", "gone", "skipped", "failed"]
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


@dataclass(slots=True)
class ItemResult:
    """What became of one planned deletion."""

    checkpoint_path: str
    """The checkpoint, relative to the root."""
    outcome: Outcome
    """``deleted``; ``gone`` (not there any more: nothing to do); ``skipped`` (changed since
    planning, or a plan made now keeps it); ``failed``."""
    message: str = ""
    """Why it was skipped or failed."""
    deleted: list[str] = field(default_factory=list)
    """Every path removed for it (checkpoint first, then sidecars), relative to the root."""
    freed_bytes: int = 0
    """Bytes freed."""

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data."""
        return {
            "checkpoint_path": self.checkpoint_path,
            "outcome": self.outcome,
            "message": self.message or None,
            "deleted": list(self.deleted),
            "freed_bytes": self.freed_bytes,
        }


@dataclass(slots=True)
class PruneReport:
    """What a run of :func:`execute_plan` did."""

    results: list[ItemResult] = field(default_factory=list)
    """One per planned deletion reached."""
    cancelled: bool = False
    """Whether it stopped early (the rest untouched)."""

    def count(self, outcome: Outcome) -> int:
        """How many items ended with ``outcome``."""
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def freed_bytes(self) -> int:
        """Bytes freed in all."""
        return sum(result.freed_bytes for result in self.results)

    @property
    def ok(self) -> bool:
        """Whether every planned deletion happened."""
        return not self.cancelled and all(r.outcome in ("deleted", "gone") for r in self.results)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data."""
        return {
            "deleted": self.count("deleted"),
            "gone": self.count("gone"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "freed_bytes": self.freed_bytes,
            "cancelled": self.cancelled,
            "results": [result.to_json() for result in self.results],
        }


class _Stop(Exception):
    """An item cannot go on: its outcome and message."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome: Outcome = outcome
        self.message = message


def execute_plan(
    plan: PrunePlan,
    *,
    confirm_with: PrunePlan | None = None,
    cancel: threading.Event | None = None,
    on_item: Callable[[int, int, ItemResult], None] | None = None,
) -> PruneReport:
    """Delete the plan's ``delete`` items, each only if it is still the file planned.

    ``confirm_with`` is a plan made afresh for the same root and options (a saved plan run
    later): an item goes only if that plan deletes it too. ``cancel`` stops between items;
    ``on_item(done, total, result)`` is called after each. Never raises for a file problem.
    """
    report = PruneReport()
    todo = plan.deleted
    fresh = None if confirm_with is None else {i.checkpoint_path: i for i in confirm_with.items}
    try:
        if os.path.realpath(plan.root) != plan.root:
            raise OSError(errno.ELOOP, "the root is now reached through a link")
        root_fd = os.open(plan.root, _DIR_FLAGS & ~os.O_NOFOLLOW)
    except OSError as exc:
        message = f"cannot open the root: {exc.strerror or exc}"
        for index, item in enumerate(todo):
            result = ItemResult(item.checkpoint_path, "failed", message)
            report.results.append(result)
            if on_item is not None:
                on_item(index + 1, len(todo), result)
        return report
    matcher = compile_patterns(DEFAULT_PATTERNS).match
    try:
        for index, item in enumerate(todo):
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            result = ItemResult(item.checkpoint_path, "deleted")
            try:
                _check_planned(item, fresh, matcher, plan.root)
                _delete_item(root_fd, item, result)
            except _Stop as stop:
                result.outcome, result.message = stop.outcome, stop.message
            except OSError as exc:  # an unreadable folder, a descriptor limit: this item only
                result.outcome, result.message = "failed", f"{exc.strerror or exc}"
            report.results.append(result)
            if on_item is not None:
                on_item(index + 1, len(todo), result)
    finally:
        os.close(root_fd)
    return report


def _check_planned(
    item: PruneItem, fresh: dict[str, PruneItem] | None, matcher: Callable[[str], Any], root: str
) -> None:
    """Refuse an item a plan file could hold but no plan of ours makes."""
    name = item.file_name
    if item.kind != "folder" and not matcher(name):
        raise _Stop("failed", "not a checkpoint file name: refused")
    folder = item.checkpoint_path.rpartition("/")[0]
    allowed = {f"{folder}/{n}" if folder else n for n in sidecar_names(name)}
    for sidecar in item.sidecars:
        if sidecar.path not in allowed:
            raise _Stop("failed", f"{sidecar.path} is not a sidecar of it: refused")
    if item.kind == "folder":
        if not item.members:
            raise _Stop("failed", "a folder checkpoint without its files listed: refused")
        for rel, state in item.members:
            # The planner's own rules, again: a plan file could list anything.
            parts = rel.split("/")
            leaf = parts[-1]
            fits = (
                is_folder_checkpoint_file(leaf)
                if state.kind == "file"
                else state.kind == "folder" and not is_nested_run_folder(leaf)
            )
            if len(parts) > MAX_FOLDER_DEPTH or not fits:
                raise _Stop("failed", f"{rel} is not part of a checkpoint folder: refused")
    if fresh is not None:
        now = fresh.get(item.checkpoint_path)
        if now is None:
            if not os.path.lexists(os.path.join(root, *item.checkpoint_path.split("/"))):
                raise _Stop("gone", "gone since planning")
            raise _Stop("skipped", "no longer a checkpoint of the catalog")
        if now.action != "delete":
            raise _Stop("skipped", f"the plan changed: now kept ({'; '.join(now.reasons)})")


def _open_folder(root_fd: int, parts: list[str]) -> int:
    """A descriptor of the folder ``parts`` under the root, no link followed on the way."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise _Stop("failed", "not a plain path under the root: refused")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _Stop("skipped", f"{part} is no longer a folder (a link?)") from exc
                raise _Stop("skipped", f"cannot open {part}: {exc.strerror or exc}") from exc
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _state_at(fd: int, name: str) -> FileState | None:
    try:
        return FileState.of(os.stat(name, dir_fd=fd, follow_symlinks=False))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Stop("failed", f"cannot stat {name}: {exc.strerror or exc}") from exc


def _delete_item(root_fd: int, item: PruneItem, result: ItemResult) -> None:
    folder, _, name = item.checkpoint_path.rpartition("/")
    parent = _open_folder(root_fd, folder.split("/") if folder else [])
    try:
        now = _state_at(parent, name)
        if now is None:
            raise _Stop("gone", "gone since planning")
        assert item.state is not None  # checked when the plan was made or loaded
        if not now.same_file(item.state):
            raise _Stop("skipped", "changed since planning (size, mtime, ctime or inode)")
        planned = {sidecar.path.rpartition("/")[2]: sidecar.state for sidecar in item.sidecars}
        for sidecar_name, state in planned.items():
            current = _state_at(parent, sidecar_name)
            if current is not None and not current.same_file(state):
                raise _Stop("skipped", f"its sidecar {sidecar_name} changed since planning")
        for sidecar_name in sidecar_names(name):
            if sidecar_name not in planned and _appeared(parent, sidecar_name, name):
                raise _Stop("skipped", f"a sidecar appeared since planning: {sidecar_name}")
        if item.kind == "folder":
            _delete_folder(parent, name, item)
        else:
            _unlink(parent, name)
        result.deleted.append(item.checkpoint_path)
        result.freed_bytes = item.reclaimed_bytes
        for sidecar in item.sidecars:
            try:
                os.unlink(sidecar.path.rpartition("/")[2], dir_fd=parent)
                result.deleted.append(sidecar.path)
            except FileNotFoundError:
                result.freed_bytes -= sidecar.state.size if sidecar.state.kind == "file" else 0
            except OSError as exc:
                result.outcome = "failed"
                result.message = f"deleted, but not its sidecar {sidecar.path}: {exc.strerror}"
    finally:
        os.close(parent)


def _appeared(parent: int, sidecar_name: str, checkpoint_name: str) -> bool:
    """Whether the unplanned ``sidecar_name`` exists and belongs to this checkpoint alone."""
    state = _state_at(parent, sidecar_name)
    if state is None or state.kind not in ("file", "link"):
        return False  # a folder or a device by a sidecar's name is never deleted: not one
    try:
        names = os.listdir(parent)
    except OSError:
        return True
    # A stem sidecar shared with another checkpoint (a.ckpt and a.pt) was left on purpose.
    return not any(
        other != checkpoint_name and sidecar_name in sidecar_names(other)
        for other in names
        if not other.endswith(".metadata.yaml")
    )


def _unlink(parent: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=parent)
    except OSError as exc:
        raise _Stop("failed", f"cannot delete: {exc.strerror or exc}") from exc


def _delete_folder(parent: int, name: str, item: PruneItem) -> None:
    """A folder checkpoint, whole: only if it holds exactly the files planned."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        raise _Stop("skipped", f"cannot open the folder: {exc.strerror or exc}") from exc
    try:
        now = dict(_listing(fd))
        planned = dict(item.members)
        if now.keys() != planned.keys() or any(
            not now[rel].same_file(state) for rel, state in planned.items()
        ):
            raise _Stop("skipped", "its files changed since planning")
        for rel, state in item.members:  # deepest first
            sub, _, leaf = rel.rpartition("/")
            holder = _open_folder(fd, sub.split("/")) if sub else os.dup(fd)
            try:
                if state.kind == "folder":
                    os.rmdir(leaf, dir_fd=holder)
                else:
                    os.unlink(leaf, dir_fd=holder)
            except OSError as exc:
                raise _Stop("failed", f"partly deleted: {rel}: {exc.strerror or exc}") from exc
            finally:
                os.close(holder)
    finally:
        os.close(fd)
    try:
        os.rmdir(name, dir_fd=parent)
    except OSError as exc:
        raise _Stop("failed", f"emptied, but not removed: {exc.strerror or exc}") from exc


def _listing(fd: int, prefix: str = "", depth: int = 1) -> list[tuple[str, FileState]]:
    """Every name under the folder ``fd`` (links not followed), to compare with the plan."""
    found: list[tuple[str, FileState]] = []
    for name in sorted(os.listdir(fd)):
        rel = f"{prefix}{name}"
        state = _state_at(fd, name)
        if state is None:
            continue
        found.append((rel, state))
        if state.kind == "folder" and depth < 4:
            child = _open_folder(fd, [name])
            try:
                found.extend(_listing(child, f"{rel}/", depth + 1))
            finally:
                os.close(child)
    return found
