"""The prune plan as data: what goes, what stays and why, per experiment — JSON in and out.

A plan is made by :func:`ckpt_tui.prune.build.plan_prune` and carried out by
:func:`ckpt_tui.prune.execute.execute_plan`. It records the identity of every file it would
delete (:class:`~ckpt_tui.prune.facts.FileState`), so it can be saved (``--save-plan``) and run
later (``--plan``): a file that changed in between is skipped. A plan read from a file is
checked field by field before anything uses it: paths must be plain paths under the root.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ckpt_tui.prune.facts import FileState

PLAN_FORMAT = "ckpt-tui prune plan"
PLAN_VERSION = 1
MAX_PLAN_BYTES = 256 * 1024 * 1024
"""A plan file bigger than this is refused unread."""

Action = Literal["keep", "delete"]
ItemKind = Literal["file", "link", "folder"]


class PlanError(ValueError):
    """A plan file that cannot be used (unreadable, not a plan, or a field out of place)."""


@dataclass(slots=True)
class Sidecar:
    """A sidecar deleted with its checkpoint."""

    path: str
    """Relative to the root, "/"-separated."""
    state: FileState
    """Its identity at planning time."""


@dataclass(slots=True)
class PruneItem:
    """One checkpoint of the plan."""

    checkpoint_path: str
    """Relative to the root, "/"-separated (a folder for folder checkpoints)."""
    action: Action
    """``keep`` or ``delete``."""
    reasons: list[str]
    """Why it stays, or why no rule kept it."""
    kind: ItemKind = "file"
    """A file, a link, or a folder checkpoint."""
    size_bytes: int = 0
    """The checkpoint's bytes."""
    reclaimed_bytes: int = 0
    """Bytes deleting it frees (0 for a link or a file with other hard links)."""
    value: float | None = None
    """Its value of the ranking field."""
    epoch: int | None = None
    """Epoch, for display."""
    global_step: int | None = None
    """Step, for display."""
    state: FileState | None = None
    """The checkpoint's identity at planning time (delete items)."""
    sidecars: list[Sidecar] = field(default_factory=list)
    """Sidecars deleted with it (delete items)."""
    members: list[tuple[str, FileState]] = field(default_factory=list)
    """A folder checkpoint's files and sub-folders (relative to it), deepest first."""

    @property
    def file_name(self) -> str:
        """The checkpoint's own file or folder name."""
        return self.checkpoint_path.rpartition("/")[2]

    def to_json(self) -> dict[str, Any]:
        """The item as JSON data."""
        return {
            "checkpoint_path": self.checkpoint_path,
            "action": self.action,
            "reasons": list(self.reasons),
            "kind": self.kind,
            "size_bytes": self.size_bytes,
            "reclaimed_bytes": self.reclaimed_bytes,
            "value": self.value,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "state": None if self.state is None else self.state.to_json(),
            "sidecars": [{"path": s.path, "state": s.state.to_json()} for s in self.sidecars],
            "members": [{"path": p, "state": s.to_json()} for p, s in self.members],
        }

    @classmethod
    def from_json(cls, data: Any) -> PruneItem:
        """The item :meth:`to_json` gave; :class:`PlanError` for anything else."""
        if not isinstance(data, dict):
            raise PlanError("an item must be an object")
        path = plain_path(data.get("checkpoint_path"), "checkpoint_path")
        action = data.get("action")
        kind = data.get("kind")
        if action not in ("keep", "delete") or kind not in ("file", "link", "folder"):
            raise PlanError(f"{path}: action must be keep or delete, kind file, link or folder")
        reasons = data.get("reasons")
        if not isinstance(reasons, list) or not all(type(r) is str for r in reasons):
            raise PlanError(f"{path}: reasons must be a list of strings")
        try:
            state = None if data.get("state") is None else FileState.from_json(data["state"])
            sidecars = [
                Sidecar(plain_path(s.get("path"), "sidecar path"), FileState.from_json(s["state"]))
                for s in _list(data.get("sidecars"))
            ]
            members = [
                (plain_path(m.get("path"), "member path"), FileState.from_json(m["state"]))
                for m in _list(data.get("members"))
            ]
        except (KeyError, AttributeError, ValueError) as exc:
            raise PlanError(f"{path}: {exc}") from exc
        if action == "delete" and state is None:
            raise PlanError(f"{path}: an item to delete needs its file state")
        return cls(
            checkpoint_path=path,
            action=action,
            reasons=list(reasons),
            kind=kind,
            size_bytes=_int(data.get("size_bytes")),
            reclaimed_bytes=_int(data.get("reclaimed_bytes")),
            value=data.get("value") if type(data.get("value")) in (int, float) else None,
            epoch=data.get("epoch") if type(data.get("epoch")) is int else None,
            global_step=data.get("global_step") if type(data.get("global_step")) is int else None,
            state=state,
            sidecars=sidecars,
            members=members,
        )


@dataclass(slots=True)
class ExperimentPlan:
    """The plan for one experiment (one run folder)."""

    run: str
    """The run folder, relative to the root ("" for the root itself)."""
    exp_name: str
    """The experiment's name (the most common among its checkpoints)."""
    ranking: str
    """What it was ranked by (``val/hmean``, ``hmean``, ``epoch``)."""
    mode: Literal["min", "max"]
    """Whether smaller or larger ranked better."""
    items: list[PruneItem] = field(default_factory=list)
    """Its checkpoints, oldest first (by step, then epoch, then mtime)."""

    @property
    def deleted(self) -> list[PruneItem]:
        """The items that go."""
        return [item for item in self.items if item.action == "delete"]

    @property
    def kept(self) -> list[PruneItem]:
        """The items that stay."""
        return [item for item in self.items if item.action == "keep"]

    @property
    def reclaimable_bytes(self) -> int:
        """Bytes deleting its items frees."""
        return sum(item.reclaimed_bytes for item in self.deleted)

    def to_json(self) -> dict[str, Any]:
        """The experiment's plan as JSON data."""
        return {
            "run": self.run,
            "exp_name": self.exp_name,
            "ranking": self.ranking,
            "mode": self.mode,
            "reclaimable_bytes": self.reclaimable_bytes,
            "items": [item.to_json() for item in self.items],
        }


@dataclass(slots=True)
class PruneOptions:
    """What the plan was asked for."""

    keep_best: int = 1
    """The K best by the ranking field stay."""
    keep_last: int = 1
    """The N most recent stay."""
    by: str | None = None
    """The ranking field (``None``: each experiment's monitored metric, else hmean)."""
    filter: str | None = None
    """The ``--filter`` expression: only what it matches may go."""

    def to_json(self) -> dict[str, Any]:
        """The options as JSON data."""
        return {"keep_best": self.keep_best, "keep_last": self.keep_last, "by": self.by,
                "filter": self.filter}  # fmt: skip


@dataclass(slots=True)
class PrunePlan:
    """Everything the prune would do under one root."""

    root: str
    """The root's real path."""
    options: PruneOptions
    """What was asked for."""
    experiments: list[ExperimentPlan] = field(default_factory=list)
    """One per run folder, in path order."""
    created_at: str = ""
    """When the plan was made (ISO 8601)."""

    @property
    def items(self) -> list[PruneItem]:
        """Every item of every experiment."""
        return [item for experiment in self.experiments for item in experiment.items]

    @property
    def deleted(self) -> list[PruneItem]:
        """Every item that goes."""
        return [item for item in self.items if item.action == "delete"]

    @property
    def reclaimable_bytes(self) -> int:
        """Bytes the plan frees."""
        return sum(experiment.reclaimable_bytes for experiment in self.experiments)

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON data (what ``--json`` prints and ``--save-plan`` writes)."""
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "root": self.root,
            "created_at": self.created_at,
            "options": self.options.to_json(),
            "delete_count": len(self.deleted),
            "keep_count": len(self.items) - len(self.deleted),
            "reclaimable_bytes": self.reclaimable_bytes,
            "experiments": [experiment.to_json() for experiment in self.experiments],
        }

    @classmethod
    def from_json(cls, data: Any) -> PrunePlan:
        """The plan :meth:`to_json` gave; :class:`PlanError` naming the first bad field."""
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise PlanError("not a ckpt-tui prune plan")
        if data.get("version") != PLAN_VERSION:
            raise PlanError(f"plan version {data.get('version')!r}: this ckpt-tui reads only 1")
        root = data.get("root")
        if type(root) is not str or not os.path.isabs(root) or "\x00" in root:
            raise PlanError("root: must be an absolute path")
        raw = data.get("options")
        if not isinstance(raw, dict):
            raise PlanError("options: must be an object")
        by, expr = raw.get("by"), raw.get("filter")
        if not (by is None or type(by) is str) or not (expr is None or type(expr) is str):
            raise PlanError("options: by and filter must be strings or null")
        options = PruneOptions(_int(raw.get("keep_best")), _int(raw.get("keep_last")), by, expr)
        experiments = []
        for item in _list(data.get("experiments")):
            if not isinstance(item, dict) or item.get("mode") not in ("min", "max"):
                raise PlanError("experiments: each must be an object with a mode")
            run = item.get("run")
            experiments.append(
                ExperimentPlan(
                    run="" if run == "" else plain_path(run, "run"),
                    exp_name=str(item.get("exp_name", "")),
                    ranking=str(item.get("ranking", "")),
                    mode=item["mode"],
                    items=[PruneItem.from_json(one) for one in _list(item.get("items"))],
                )
            )
        created = data.get("created_at")
        return cls(root, options, experiments, created if type(created) is str else "")


def plain_path(value: Any, what: str) -> str:
    """``value`` if it is a "/"-separated relative path with no empty, ``.`` or ``..`` part."""
    if type(value) is not str or not value or "\x00" in value or value.startswith("/"):
        raise PlanError(f"{what}: must be a relative path")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise PlanError(f"{what}: {value!r} is not a plain path under the root")
    return value


def _int(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise PlanError(f"expected a non-negative integer, got {value!r:.40}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise PlanError("expected a list")
    return value


def save_plan(plan: PrunePlan, path: str) -> None:
    """Write ``plan`` to ``path`` as JSON (atomically; undecodable name bytes round-trip)."""
    from ckpt_tui.io.atomic import atomic_write_text

    atomic_write_text(Path(path), json.dumps(plan.to_json(), indent=1) + "\n")


def load_plan(path: str) -> PrunePlan:
    """The plan saved at ``path``; :class:`PlanError` when it cannot be used."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise PlanError(f"cannot read the plan: {exc.strerror or exc}") from exc
    if len(raw) > MAX_PLAN_BYTES:
        raise PlanError("the plan file is too large")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PlanError(f"the plan is not JSON: {exc}") from exc
    return PrunePlan.from_json(data)
