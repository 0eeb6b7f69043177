"""Describing one found checkpoint, stage by stage; each stage hands its result to the next.

1. :meth:`Describer.prepare`: what feeds the entry (its sidecars, the configs that exist) and the
   cache signature they make, from listings and stats only → :class:`Prepared`;
2. :meth:`Describer.fast_tiers`: the sidecar, config and path tiers → :class:`FastTiers`;
3. :meth:`Describer.entry`: the tiers merged into a :class:`CheckpointCatalogEntry`, with the
   checkpoint tier's result once it has run.

The checkpoint tier (the slow one) runs between stages 2 and 3 when
:attr:`FastTiers.needs_checkpoint`: on the build's thread pool (:mod:`ckpt_tui.catalog.build`), or
inline with :meth:`Describer.describe`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ckpt_tui.catalog.cache import code_version
from ckpt_tui.catalog.discover import Folder, FoundFile, format_by_name
from ckpt_tui.io.text import iso_local_time
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue, checked_values
from ckpt_tui.sidecar.files import SidecarFound, find_sidecars, stem_of
from ckpt_tui.sources.checkpoint import CheckpointTier, checkpoint_tier_or_issue
from ckpt_tui.sources.config import (
    HYDRA_LABEL,
    SIDECAR_CONFIG_LABEL,
    ConfigCandidate,
    ConfigStore,
    find_config,
    folder_candidates,
    read_config_fields,
    sidecar_config_names,
)
from ckpt_tui.sources.layout import auxiliary_role
from ckpt_tui.sources.merge import TierResult, merge_tiers
from ckpt_tui.sources.path import path_tier
from ckpt_tui.sources.sidecar import read_tier


def file_state(found: FoundFile) -> str:
    """What the cache knows a found file by, besides its real path: size, mtime, ctime, inode.

    Size and mtime alone can be forged (a file copied over another of the same size, then
    ``touch -r``); the ctime and the inode cannot be set back, and the walk's stat has them.
    """
    if found.folder_state is not None:
        return found.folder_state
    return f"{found.size}:{found.mtime_ns}:{found.ctime_ns}:{found.ino}"


def file_identity(path: str) -> str | None:
    """``real path|state`` of the file at ``path`` now, as it appears in a cache signature
    (:meth:`Describer.prepare`); ``None`` when it cannot be stat'ed."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    state = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
    return f"{os.path.realpath(path)}|{state}"


def _link_target(found: FoundFile) -> str | None:
    """The real path of a linked checkpoint (``last.ckpt`` → its target), else ``None``."""
    return found.real_path() if found.is_link and found.error is None else None


@dataclass(slots=True)
class Prepared:
    """A found checkpoint and what feeds its entry, before any file is read."""

    found: FoundFile
    """The file."""
    sig: str
    """Cache signature: changes when the file or anything that feeds its entry changes."""
    sidecars: SidecarFound
    """The sidecar files found for it."""
    candidates: list[ConfigCandidate]
    """Its config candidates that exist, in search order."""

    @property
    def readable(self) -> bool:
        """Whether the checkpoint tier has anything to read (not a dangling link, not empty)."""
        return self.found.error is None and self.found.size > 0

    def restore(self, cached: CheckpointCatalogEntry) -> CheckpointCatalogEntry:
        """``cached`` (the cache's entry for this signature) with this walk's path and mtime,
        which the cache does not keep."""
        found = self.found
        cached.abs_path = found.path
        cached.mtime = found.mtime if found.error is None else None
        return cached


@dataclass(slots=True)
class FastTiers:
    """The fast tiers' answers for one checkpoint."""

    prepared: Prepared
    """What they were run for."""
    tiers: list[TierResult]
    """Sidecar, config and path results, in that order (then, for a folder checkpoint, what its
    JSON files say). A folder's checkpoints share one config result: never change them."""
    sidecar_rel: str | None
    """The sidecar read, relative to the root."""
    config_rel: str | None
    """The config read, relative to the root."""
    sidecar_backed: bool
    """Whether a valid sidecar answered."""

    @property
    def needs_checkpoint(self) -> bool:
        """Whether the checkpoint tier still has something to add (no valid sidecar answered)."""
        return not self.sidecar_backed and self.prepared.readable


class Describer:
    """Describes the checkpoints of one root; remembers per-folder config lookups for a build."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.configs = ConfigStore(root)
        self._folder_configs: dict[str, tuple[list[ConfigCandidate], str]] = {}
        self._config_tiers: dict[tuple[str, ...], tuple[TierResult, str | None]] = {}
        # the same, by candidate list (a folder's list is shared by all its checkpoints)
        self._shared_tiers: dict[
            int, tuple[list[ConfigCandidate], tuple[TierResult, str | None]]
        ] = {}
        self._version = code_version()

    def prepare(self, found: FoundFile) -> Prepared:
        """Stage 1: signature and lookups for ``found`` (cheap: listings and stats only)."""
        folder = found.folder
        shared = stem_of(found.name) in folder.shared_stems
        sidecars = find_sidecars(folder.path, found.name, folder.aux, stem_shared=shared)
        candidates, folder_sig = self._folder_config(folder)
        own: list[ConfigCandidate] = []
        own_sig = ""
        if folder.own_configs:
            own = [
                ConfigCandidate(os.path.join(folder.path, name), SIDECAR_CONFIG_LABEL)
                for name in sidecar_config_names(stem_of(found.name))
                if name in folder.aux
            ]
            own_sig = self.configs.signature([c.path for c in own])
        state = "dangling" if found.error else file_state(found)
        real = found.real_path()
        sig = f"{self._version}|{real}|{state}|{sidecars.signature}|{own_sig}|{folder_sig}"
        # Without own configs the folder's list is shared (and so is its config tier below).
        return Prepared(found, sig, sidecars, own + candidates if own else candidates)

    def fast_tiers(self, prepared: Prepared) -> FastTiers:
        """Stage 2: the sidecar, config and path tiers of ``prepared.found``."""
        found = prepared.found
        folder = found.folder
        sidecar, name = read_tier(prepared.sidecars)
        sidecar_rel = None
        if name is not None:
            sidecar_rel = f"{folder.rel}/{name}" if folder.rel else name
        config, config_rel = self._config_tier(prepared.candidates)
        tiers = [sidecar, config, path_tier(found.rel, found.path, _link_target(found))]
        if found.is_folder and found.error is None:
            # A folder's JSON files describe it as cheaply as a sidecar: the first rows have its
            # epoch, step and architecture; its pickles (the verdict) follow with the slow tier.
            from ckpt_tui.sources.folder import folder_tier

            tiers.append(folder_tier(found.path, details=False, pickles=False))
        return FastTiers(
            prepared,
            tiers,
            sidecar_rel,
            config_rel,
            name is not None and sidecar.file is not None,
        )

    def entry(self, fast: FastTiers, slow: TierResult | None = None) -> CheckpointCatalogEntry:
        """Stage 3: the fast tiers (and the checkpoint tier, when given) merged into an entry."""
        found = fast.prepared.found
        merged = merge_tiers([*fast.tiers, slow] if slow is not None else fast.tiers)
        values = merged.values
        provenance = merged.provenance
        issues = list(merged.issues)
        if found.error is not None:
            issues.insert(0, found.error)
        elif found.size == 0:
            issues.insert(
                0,
                Issue(severity="error", code="checkpoint.empty", message="file is empty (0 bytes)"),
            )
        if not fast.prepared.readable:
            # Nothing to read, so nothing to verify: loading it can only fail.
            values["safety"] = "unreadable"
            provenance["safety"] = "the file (empty or missing)"
        role = None if found.is_folder else auxiliary_role(found.name)
        if role is not None:
            # Training state saved beside a model (outside a folder checkpoint): listed, as such.
            message = f"{found.name} holds {role}, not a model: the training run's side file"
            issues.append(Issue(severity="info", code="checkpoint.auxiliary", message=message))
        if "format" not in values:
            guessed = format_by_name(found)
            if guessed is not None:
                values["format"], provenance["format"] = guessed
        if "created_at" not in values and found.error is None:
            values["created_at"] = iso_local_time(found.mtime)
            provenance["created_at"] = "file mtime"
        try:
            return CheckpointCatalogEntry(
                checkpoint_path=found.rel,
                abs_path=found.path,
                size_bytes=found.size,
                mtime=found.mtime if found.error is None else None,
                source=merged.source,
                sidecar_path=fast.sidecar_rel,
                config_path=fast.config_rel,
                provenance=provenance,
                issues=issues,
                details=merged.details,
                **checked_values(values),
            )
        except (TypeError, ValueError) as exc:
            # A value of the wrong type from some tier: keep the file listed, say what happened.
            problem = Issue(
                severity="error",
                code="catalog.internal",
                message=f"entry could not be built: {' '.join(str(exc).split())[:300]}",
            )
            return CheckpointCatalogEntry(
                checkpoint_path=found.rel,
                abs_path=found.path,
                size_bytes=found.size,
                issues=[problem, *issues],
            )

    def describe(
        self, prepared: Prepared, checkpoint_tier: CheckpointTier
    ) -> CheckpointCatalogEntry:
        """Stages 2 and 3 on this thread, with ``checkpoint_tier`` when the fast tiers need it.

        Never raises: a failure is an entry with an error (:meth:`failed`).
        """
        try:
            fast = self.fast_tiers(prepared)
            slow = None
            if fast.needs_checkpoint:
                slow = checkpoint_tier_or_issue(prepared.found.path, checkpoint_tier)
            return self.entry(fast, slow)
        except Exception as exc:  # a bug must cost one entry, never the run
            return self.failed(prepared.found, exc)

    def failed(self, found: FoundFile, exc: BaseException) -> CheckpointCatalogEntry:
        """The entry of a file whose tiers failed unexpectedly: listed, with the reason."""
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return CheckpointCatalogEntry(
            checkpoint_path=found.rel,
            abs_path=found.path,
            size_bytes=found.size,
            mtime=found.mtime if found.error is None else None,
            issues=[Issue(severity="error", code="catalog.internal", message=reason)],
        )

    def _config_tier(self, candidates: list[ConfigCandidate]) -> tuple[TierResult, str | None]:
        # Every checkpoint of a run reads the same config: read and interpret it once per build.
        # The result is shared, so it is never changed after this point.
        shared = self._shared_tiers.get(id(candidates))
        if shared is not None and shared[0] is candidates:
            return shared[1]
        key = tuple(candidate.path for candidate in candidates)
        known = self._config_tiers.get(key)
        if known is None:
            config = TierResult(kind="config")
            config_rel = None
            chosen, data, issues = find_config(candidates, self.configs)
            if chosen is not None and data is not None:
                config = read_config_fields(data, chosen.label)
                config.file = chosen.path
                config_rel = os.path.relpath(chosen.path, self.root).replace(os.sep, "/")
                if chosen.label == HYDRA_LABEL:
                    config.put("hydra_config_path", config_rel, "hydra config file")
            config.issues.extend(issues)
            known = (config, config_rel)
            self._config_tiers[key] = known
        self._shared_tiers[id(candidates)] = (candidates, known)
        return known

    def _folder_config(self, folder: Folder) -> tuple[list[ConfigCandidate], str]:
        known = self._folder_configs.get(folder.path)
        if known is None:
            candidates = folder_candidates(folder.path)
            present = [c for c in candidates if self._exists(folder, c.path)]
            known = (present, self.configs.signature([c.path for c in present]))
            self._folder_configs[folder.path] = known
        return known

    def _exists(self, folder: Folder, path: str) -> bool:
        # Files in the checkpoint's own folder are known from its listing: no stat needed.
        if os.path.dirname(path) == folder.path:
            return os.path.basename(path) in folder.aux
        return self.configs.stat(path) is not None
