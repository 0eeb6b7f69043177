"""Making the prune plan: the catalog's entries, the filesystem's facts, the rules.

:func:`plan_prune` builds the catalog of a root (or takes the entries a caller already has,
such as the TUI's), groups the checkpoints by experiment (run folder), gathers what must stay
whatever the rules say — link targets, checkpoints a newer checkpoint names as its best, files
that cannot be deleted safely — and lets :func:`ckpt_tui.prune.rules.decide` rank the rest.
Nothing is deleted here.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timezone

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.prune.facts import (
    FileState,
    best_model_paths,
    folder_members,
    links_in,
    lstat_state,
    through_link,
)
from ckpt_tui.prune.plan import (
    ExperimentPlan,
    ItemKind,
    PruneItem,
    PruneOptions,
    PrunePlan,
    Sidecar,
)
from ckpt_tui.prune.rules import Decision, Ranking, check_by, decide
from ckpt_tui.sidecar.files import sidecar_names
from ckpt_tui.sources.path import run_folder

Entry = CheckpointCatalogEntry


def plan_prune(
    root: str,
    options: PruneOptions,
    *,
    entries: Sequence[Entry] | None = None,
    runs: Collection[str] | None = None,
    use_cache: bool = True,
) -> PrunePlan:
    """The plan for the checkpoints under ``root`` (nothing is deleted).

    ``entries`` are the catalog's entries of ``root`` when the caller has them (else the
    catalog is built); ``runs`` limits the plan to those run folders
    (:func:`~ckpt_tui.sources.path.run_folder`). Raises
    :class:`~ckpt_tui.catalog.filter.FilterError` for a bad ``options.filter``,
    :class:`~ckpt_tui.prune.rules.RankingError` for a bad ``options.by``, ``ValueError`` for
    negative counts, and ``FileNotFoundError`` / ``NotADirectoryError`` for a bad root.
    """
    from ckpt_tui.catalog.api import build_catalog, resolve_root
    from ckpt_tui.catalog.filter import parse_filter

    if options.keep_best < 0 or options.keep_last < 0:
        raise ValueError("--keep-best and --keep-last must be 0 or more")
    check_by(options.by)
    entry_filter = parse_filter(options.filter) if options.filter else None
    root_real = os.path.realpath(resolve_root(root))
    if entries is None:
        entries = build_catalog(root, use_cache=use_cache).entries
    selected: Callable[[Entry], bool] | None = None
    if entry_filter is not None:
        chosen = {id(entry) for entry in entry_filter.select(entries)}
        selected = lambda entry: id(entry) in chosen  # noqa: E731
    planner = _Planner(root_real, entries)
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[run_folder(entry.checkpoint_path)].append(entry)
    plan = PrunePlan(root_real, options, created_at=datetime.now(timezone.utc).isoformat())
    for run in sorted(groups):
        if runs is not None and run not in runs:
            continue
        plan.experiments.append(planner.experiment(run, groups[run], options, selected))
    return plan


class _Planner:
    """The facts of one root, gathered once, and the items built from them."""

    def __init__(self, root: str, entries: Sequence[Entry]) -> None:
        self.root = root
        self.entries = entries
        self.by_path = {entry.checkpoint_path: entry for entry in entries}
        self.states: dict[str, FileState | None] = {}
        self.unsafe: dict[str, str] = {}
        folders_known: dict[str, str | None] = {}
        for entry in entries:
            rel = entry.checkpoint_path
            why = through_link(root, rel, folders_known)
            state = None if why else lstat_state(self.abs(rel))
            self.states[rel] = state
            if why:
                self.unsafe[rel] = why
            elif state is None:
                self.unsafe[rel] = "gone since the scan"
            elif state.kind == "other":
                self.unsafe[rel] = "not a regular file, link or folder: never deleted"
        self.by_real = {
            self.abs(rel): rel
            for rel, state in self.states.items()
            if state is not None and state.kind in ("file", "folder") and rel not in self.unsafe
        }
        self.protected: dict[str, list[str]] = defaultdict(list)
        self.members: dict[str, list[tuple[str, FileState]]] = {}
        self._protect_link_targets()

    def abs(self, rel: str) -> str:
        """The path of ``rel`` under the real root."""
        return os.path.join(self.root, *rel.split("/"))

    def _protect_link_targets(self) -> None:
        folders = {rel.rpartition("/")[0] for rel in self.by_path if rel not in self.unsafe}
        for folder in sorted(folders):
            for name, target in links_in(self.abs(folder) if folder else self.root):
                rel = self.by_real.get(target)
                if rel is not None:
                    self.protected[rel].append(f"link target of {name}")

    def _best_path_refs(
        self, namers: Sequence[Entry], in_group: Collection[str]
    ) -> dict[str, list[str]]:
        """``{named checkpoint: [checkpoints naming it]}``: the ``best_model_path`` of each of
        ``namers``, resolved within the group (its own folder, else its real path)."""
        refs: dict[str, list[str]] = defaultdict(list)
        for entry in namers:
            rel = entry.checkpoint_path
            state = self.states.get(rel)
            if state is None or state.kind != "file" or rel in self.unsafe:
                continue
            folder = os.path.dirname(self.abs(rel))
            for named in best_model_paths(entry):
                candidates = {os.path.join(folder, os.path.basename(named))}
                if os.path.isabs(named):
                    candidates.add(os.path.realpath(named))
                for candidate in candidates:
                    target = self.by_real.get(candidate)
                    if target is not None and target != rel and target in in_group:
                        refs[target].append(rel)
        return refs

    def experiment(
        self,
        run: str,
        group: list[Entry],
        options: PruneOptions,
        selected: Callable[[Entry], bool] | None,
    ) -> ExperimentPlan:
        """The plan of one run folder."""
        links = [
            e.checkpoint_path for e in group if _kind(self.states.get(e.checkpoint_path)) == "link"
        ]
        for entry in group:
            rel = entry.checkpoint_path
            if rel in self.unsafe and self.unsafe[rel] not in self.protected[rel]:
                self.protected[rel].append(self.unsafe[rel])
            elif _kind(self.states.get(rel)) == "folder":
                self._check_folder(rel)

        def run_rules(named: Mapping[str, list[str]]) -> tuple[Ranking, list[Decision]]:
            protected = {path: list(reasons) for path, reasons in self.protected.items()}
            for target, namers in named.items():
                protected.setdefault(target, []).extend(
                    f"best_model_path of {namer.rpartition('/')[2]}" for namer in namers
                )
            return decide(
                group, keep_best=options.keep_best, keep_last=options.keep_last, by=options.by,
                links=links, protected=protected, selected=selected,
            )  # fmt: skip

        ranking, decisions = run_rules({})
        if any(not decision.keep for decision in decisions):
            # Only a checkpoint that stays protects the one it names (a plan that counted the
            # word of a checkpoint it deletes would delete more on its second run), so only the
            # files of checkpoints that stay are read. Keeping one can keep another: repeat
            # until nothing new stays (protections only add, so this ends).
            in_group = {entry.checkpoint_path for entry in group}
            refs: dict[str, list[str]] = defaultdict(list)
            read: set[str] = set()
            while True:
                new = [d.entry for d in decisions if d.keep and d.entry.checkpoint_path not in read]
                if not new:
                    break
                read.update(entry.checkpoint_path for entry in new)
                for target, namers in self._best_path_refs(new, in_group).items():
                    refs[target].extend(namers)
                ranking, decisions = run_rules(refs)
        names = Counter(entry.exp_name for entry in group if entry.exp_name)
        plan = ExperimentPlan(
            run=run,
            exp_name=names.most_common(1)[0][0] if names else (run or "."),
            ranking=ranking.label,
            mode=ranking.mode,
        )
        claimed: set[str] = set()
        kept_names = self._kept_sidecar_names(decisions)
        for decision in decisions:
            plan.items.append(self._item(decision, claimed, kept_names))
        return plan

    def _check_folder(self, rel: str) -> None:
        inside = next((p for p in self.by_path if p.startswith(rel + "/")), None)
        if inside is not None:
            self.unsafe[rel] = f"holds another checkpoint ({inside}): not deleted"
        else:
            members, why = folder_members(self.abs(rel))
            if why is not None:
                self.unsafe[rel] = why
            else:
                self.members[rel] = members
                return
        if self.unsafe[rel] not in self.protected[rel]:
            self.protected[rel].append(self.unsafe[rel])

    def _kept_sidecar_names(self, decisions: list[Decision]) -> set[str]:
        """Sidecar paths that belong to a checkpoint that stays: never deleted with another."""
        kept: set[str] = set()
        for decision in decisions:
            if decision.keep:
                rel = decision.entry.checkpoint_path
                folder = rel.rpartition("/")[0]
                kept.update(_join(folder, name) for name in sidecar_names(decision.entry.file_name))
        return kept

    def _item(self, decision: Decision, claimed: set[str], kept_names: set[str]) -> PruneItem:
        entry = decision.entry
        rel = entry.checkpoint_path
        state = self.states.get(rel)
        item = PruneItem(
            checkpoint_path=rel,
            action="keep" if decision.keep else "delete",
            reasons=list(decision.reasons),
            kind=_item_kind(state),
            size_bytes=entry.size_bytes,
            value=decision.value,
            epoch=entry.epoch,
            global_step=entry.global_step,
        )
        if decision.keep or state is None:
            return item
        item.state = state
        if item.kind == "folder":
            item.members = self.members.get(rel, [])
            item.reclaimed_bytes = sum(
                s.size for _, s in item.members if s.kind == "file" and s.nlink == 1
            )
        else:
            item.reclaimed_bytes = state.size if state.kind == "file" and state.nlink == 1 else 0
        folder = rel.rpartition("/")[0]
        for name in sidecar_names(entry.file_name):
            path = _join(folder, name)
            if path in claimed or path in kept_names or path in self.by_path:
                continue
            sidecar = lstat_state(self.abs(path))
            if sidecar is None or sidecar.kind not in ("file", "link"):
                continue
            claimed.add(path)
            item.sidecars.append(Sidecar(path, sidecar))
            if sidecar.kind == "file" and sidecar.nlink == 1:
                item.reclaimed_bytes += sidecar.size
        return item


def _kind(state: FileState | None) -> str:
    return "" if state is None else state.kind


def _item_kind(state: FileState | None) -> ItemKind:
    if state is not None and state.kind in ("link", "folder"):
        return "link" if state.kind == "link" else "folder"
    return "file"


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name
