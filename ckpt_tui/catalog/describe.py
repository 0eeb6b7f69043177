"""Turning one found checkpoint into a catalog entry: run the fast tiers, merge, build the entry.

The fast tiers are the sidecar, the config and the path; the slow one (the checkpoint itself) is
run later by the catalog, and :meth:`Assembler.entry` merges it in with the same fast tiers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ckpt_tui.catalog.cache import code_version
from ckpt_tui.catalog.discover import Folder, FoundFile
from ckpt_tui.io.text import iso_local_time
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue, checked_values
from ckpt_tui.sidecar.files import SidecarFound, find_sidecars, stem_of
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
from ckpt_tui.sources.merge import TierResult, merge_tiers
from ckpt_tui.sources.path import path_tier
from ckpt_tui.sources.sidecar import read_tier


@dataclass
class FastResult:
    """The fast tiers of one checkpoint and what the catalog needs to finish it."""

    found: FoundFile
    """The file."""
    sig: str
    """Cache signature: changes when the file or anything that feeds its entry changes."""
    sidecars: SidecarFound
    """The sidecar files found for it."""
    candidates: list[ConfigCandidate]
    """Its config candidates that exist, in search order."""
    tiers: list[TierResult] = field(default_factory=list)
    """Sidecar, config and path results (filled by :meth:`Assembler.run_fast`)."""
    sidecar_rel: str | None = None
    """The sidecar read, relative to the root."""
    config_rel: str | None = None
    """The config read, relative to the root."""
    sidecar_backed: bool = False
    """Whether a valid sidecar answered (the slow tier is then skipped)."""


class Assembler:
    """Builds entries for one root; remembers per-folder config lookups for the build."""

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

    def prepare(self, found: FoundFile) -> FastResult:
        """Signature and lookups for ``found`` (cheap: listings and stats only)."""
        folder = found.folder
        sidecars = find_sidecars(folder.path, found.name, folder.aux)
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
        state = "dangling" if found.error else f"{found.size}:{found.mtime_ns}"
        real = found.real_path()
        sig = f"{self._version}|{real}|{state}|{sidecars.signature}|{own_sig}|{folder_sig}"
        # Without own configs the folder's list is shared (and so is its config tier below).
        return FastResult(found, sig, sidecars, own + candidates if own else candidates)

    def run_fast(self, result: FastResult) -> None:
        """Run the sidecar, config and path tiers for ``result.found``."""
        found = result.found
        folder = found.folder
        sidecar, name = read_tier(found.path, result.sidecars)
        if name is not None:
            result.sidecar_rel = f"{folder.rel}/{name}" if folder.rel else name
            result.sidecar_backed = sidecar.file is not None
        config, result.config_rel = self._config_tier(result.candidates)
        result.tiers = [sidecar, config, path_tier(found.rel, found.path)]

    def entry(self, result: FastResult, slow: TierResult | None = None) -> CheckpointCatalogEntry:
        """Merge the fast tiers (and the slow one, when given) into a catalog entry."""
        found = result.found
        merged = merge_tiers(result.tiers + ([slow] if slow is not None else []))
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
                sidecar_path=result.sidecar_rel,
                config_path=result.config_rel,
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
                config_rel = self.relative(chosen.path)
                if chosen.label == HYDRA_LABEL:
                    config.put("hydra_config_path", config_rel, "hydra config file")
            config.issues.extend(issues)
            known = (config, config_rel)
            self._config_tiers[key] = known
        self._shared_tiers[id(candidates)] = (candidates, known)
        return known

    def failed(self, result: FastResult, exc: BaseException) -> CheckpointCatalogEntry:
        """The entry of a file whose tiers failed unexpectedly: listed, with the reason."""
        found = result.found
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return CheckpointCatalogEntry(
            checkpoint_path=found.rel,
            abs_path=found.path,
            size_bytes=found.size,
            mtime=found.mtime if found.error is None else None,
            issues=[Issue(severity="error", code="catalog.internal", message=reason)],
        )

    def relative(self, path: str) -> str:
        """``path`` relative to the root, "/"-separated (``..`` when above it)."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

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
