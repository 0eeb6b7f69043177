"""Merging what each tier knows, field by field, remembering where every value came from.

Tiers rank ``sidecar`` > ``config`` > ``checkpoint`` > ``path`` (the entry's ``source`` values,
best first). Each field takes the value of the best tier that knows it; ``exp_name`` ranks the
config above the sidecar (the run's config names the experiment). The entry's ``source`` is the
best tier that answered at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ckpt_tui.model.entry import Issue, Source

TIER_RANK: dict[Source, int] = {"sidecar": 0, "config": 1, "checkpoint": 2, "path": 3}
"""Tiers, best first."""

FIELD_TIER_ORDER: dict[str, tuple[Source, ...]] = {
    "exp_name": ("config", "sidecar", "checkpoint", "path"),
}
"""Fields whose tiers rank differently from :data:`TIER_RANK`."""

METRICS_FIELD = "additional_metrics"
"""The one field merged key by key across tiers (every tier's metrics are kept)."""

VERDICT_FIELDS = frozenset(("safety", "unsafe_globals"))
"""What the file would do when loaded: not a description, so a tier that gives only these has
not described the checkpoint (the entry's ``source`` ignores them)."""


@dataclass
class TierResult:
    """What one tier knows about one checkpoint."""

    kind: Source
    """Which tier answered: ``sidecar``, ``config``, ``checkpoint`` or ``path``."""
    values: dict[str, Any] = field(default_factory=dict)
    """Entry field name → known value (never ``None``)."""
    provenance: dict[str, str] = field(default_factory=dict)
    """Entry field name → where the value came from, e.g. ``hydra config model.architecture``."""
    issues: list[Issue] = field(default_factory=list)
    """Problems the tier found."""
    details: dict[str, Any] = field(default_factory=dict)
    """Extras for ``show`` and the detail pane (JSON-compatible)."""
    file: str | None = None
    """The file this tier read (absolute), when it read one (sidecar or config)."""
    extra: list[TierResult] = field(default_factory=list)
    """Further results this tier produced, e.g. a checkpoint's ``hyper_parameters`` read as a
    config-kind result (they count as a config)."""

    def put(self, name: str, value: Any, where: str) -> None:
        """Record ``value`` for field ``name`` unless it is ``None`` or already known here.

        Always record through here: ``values`` and ``provenance`` must hold the same fields.
        """
        if value is None or name in self.values:
            return
        self.values[name] = value
        self.provenance[name] = where

    @property
    def answered(self) -> bool:
        """Whether the tier knows at least one field."""
        return bool(self.values)


@dataclass
class Merged:
    """The merged view: values with their provenance, the source, and every tier's issues."""

    values: dict[str, Any]
    """Field → value from the best tier that knew it."""
    provenance: dict[str, str]
    """Field → where that value came from."""
    source: Source
    """The best tier that answered."""
    issues: list[Issue]
    """All tiers' issues, worst first; within a severity, the better tier's first."""
    details: dict[str, Any]
    """All tiers' details (better tiers win on a clash)."""


def flatten(tiers: Iterable[TierResult]) -> list[TierResult]:
    """Each tier followed by the extra results it produced."""
    out: list[TierResult] = []
    for tier in tiers:
        out.append(tier)
        out.extend(flatten(tier.extra))
    return out


def merge_tiers(tiers: Sequence[TierResult]) -> Merged:
    """Merge ``tiers`` field by field (see the module docstring); order breaks ties in a rank."""
    # Rank by kind; within a kind, results produced by a better tier come first (a config file
    # beats the checkpoint's hyper_parameters), then the given order.
    if any(tier.extra for tier in tiers):
        keyed: list[tuple[int, int, int, TierResult]] = []
        for tier in tiers:
            parent = TIER_RANK[tier.kind]
            for one in (tier, *flatten(tier.extra)):
                keyed.append((TIER_RANK[one.kind], parent, len(keyed), one))
        keyed.sort(key=lambda item: item[:3])
        ranked = [item[3] for item in keyed]
    else:
        ranked = sorted(tiers, key=_rank)  # stable: the given order breaks ties
    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    details: dict[str, Any] = {}
    for tier in reversed(ranked):  # better tiers overwrite worse ones
        values.update(tier.values)
        provenance.update(tier.provenance)
        details.update(tier.details)
    _union_metrics(ranked, values, provenance)
    for name, order in FIELD_TIER_ORDER.items():
        for kind in order:
            best = next((t for t in ranked if t.kind == kind and name in t.values), None)
            if best is not None:
                values[name] = best.values[name]
                provenance[name] = best.provenance.get(name, best.kind)
                break
    # The verdict is what the file would do: only the checkpoint tier, which read the file, may
    # give it. A sidecar or config that names these keys describes nothing and hides nothing.
    for name in VERDICT_FIELDS:
        if name in values and not any(t.kind == "checkpoint" and name in t.values for t in ranked):
            del values[name]
            provenance.pop(name, None)
        elif name in values:
            best = next(t for t in ranked if t.kind == "checkpoint" and name in t.values)
            values[name], provenance[name] = best.values[name], best.provenance.get(name, "")
    _derive_monitor_value(values, provenance)
    source: Source = next(
        (tier.kind for tier in ranked if tier.values.keys() - VERDICT_FIELDS), "path"
    )
    issues = [issue for tier in ranked for issue in tier.issues]
    if len(issues) > 1:
        issues.sort(key=lambda issue: issue.rank)
        issues = dedupe_issues(issues)
    return Merged(values, provenance, source, issues, details)


def _union_metrics(
    ranked: Sequence[TierResult], values: dict[str, Any], provenance: dict[str, str]
) -> None:
    # Each tier knows some metrics (the file's own keys, its name's ``val_acc=0.47``): all are
    # kept, a better tier's value winning for a metric several tiers know.
    holding = [t for t in ranked if isinstance(t.values.get(METRICS_FIELD), dict)]
    if len(holding) < 2:
        return
    union: dict[str, Any] = {}
    for tier in reversed(holding):
        union.update(tier.values[METRICS_FIELD])
    values[METRICS_FIELD] = union
    where = [t.provenance.get(METRICS_FIELD, t.kind) for t in holding]
    provenance[METRICS_FIELD] = "; ".join(dict.fromkeys(where))


def _rank(tier: TierResult) -> int:
    return TIER_RANK[tier.kind]


def canonical_metric(name: str) -> str | None:
    """The entry field a logged metric name stands for, if any.

    ``val/hmean``, ``val_hmean``, ``hmean`` → ``hmean`` (also precision, recall);
    ``val/loss``, ``val_loss``, ``validation_loss`` → ``validation_loss``. Training and test
    metrics (``train/hmean``) are not validation metrics and map to nothing.
    """
    lowered = name.strip().lower()
    prefix, _, base = lowered.rpartition("/")
    if prefix and prefix not in ("val", "valid", "validation"):
        return None
    for stem in ("validation_", "valid_", "val_", "validation-", "valid-", "val-"):
        if base.startswith(stem):
            base = base[len(stem) :]
            prefix = prefix or "val"
            break
    if base in ("hmean", "precision", "recall"):
        return base
    if base == "validation_loss" or (base == "loss" and prefix):
        return "validation_loss"
    return None


def metric_value(values: dict[str, Any], name: str) -> tuple[float | None, str | None]:
    """The value of metric ``name`` among merged ``values``, and the field it was read from."""
    extra = values.get("additional_metrics") or {}
    if name in extra:
        return extra[name], "additional_metrics"
    field_name = canonical_metric(name)
    if field_name is not None and values.get(field_name) is not None:
        return values[field_name], field_name
    return None, None


def _derive_monitor_value(values: dict[str, Any], provenance: dict[str, str]) -> None:
    # A tier that read the checkpoint's own callback state knows monitor_value directly; else the
    # monitored metric's value, when some tier knows it, is this file's value of the monitor.
    monitor = values.get("monitor")
    if "monitor_value" in values or not isinstance(monitor, str):
        return
    value, field_name = metric_value(values, monitor)
    if value is not None and field_name is not None:
        values["monitor_value"] = value
        provenance["monitor_value"] = provenance.get(field_name, field_name)


def dedupe_issues(issues: list[Issue]) -> list[Issue]:
    """``issues`` without repeats (same severity, code and message), first occurrence kept."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Issue] = []
    for issue in issues:
        key = (issue.severity, issue.code, issue.message)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out
