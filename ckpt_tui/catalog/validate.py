"""Validating every sidecar of a tree: the catalog's walk, then the one sidecar reader.

The walk is the one ``list`` makes (same folders, links and skipped names), and each checkpoint's
sidecars are found from the folder listing it already made, exactly as the catalog's sidecar tier
finds them, so ``validate`` and ``list`` never disagree on which sidecar counts.
"""

from __future__ import annotations

from pathlib import Path

from ckpt_tui.catalog.discover import walk
from ckpt_tui.model.entry import Issue
from ckpt_tui.sidecar.files import (
    SIDECAR_SUFFIX,
    find_sidecars,
    read_found,
    sidecar_names,
    stem_of,
)
from ckpt_tui.sidecar.validate import ValidationReport, validate_sidecar


def validate_tree(root: Path) -> ValidationReport:
    """Walk ``root`` and validate the sidecar of every checkpoint; orphan sidecars are warned of."""
    root = Path(root).resolve()
    report = ValidationReport(root=root)
    for folder, files in walk(str(root), report.scan_issues):
        claimed: set[str] = set()
        for found in files:
            shared = stem_of(found.name) in folder.shared_stems
            sidecars = find_sidecars(folder.path, found.name, folder.aux, stem_shared=shared)
            report.results.append(validate_sidecar(read_found(found.path, sidecars)))
            claimed.update(sidecar_names(found.name))  # an ambiguous one is warned of there
        for name in sorted(folder.aux):
            if name.endswith(SIDECAR_SUFFIX) and name not in claimed:
                where = f"{folder.rel}/{name}" if folder.rel else name
                report.scan_issues.append(
                    Issue(
                        severity="warning",
                        code="sidecar.orphan",
                        message=f"{where}: no checkpoint next to this sidecar",
                    )
                )
    return report
