"""How the conversion screen shows a plan: candidate rows, the sidecar preview, unknown fields.

Pure functions from core objects to Rich text; no widget state. Every string that came from a
file (names, paths, reasons, YAML values) is escaped for the terminal before it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import RenderableType
from rich.syntax import Syntax
from rich.text import Text

from ckpt_tui.convert.counts import ConversionCounts, RowState
from ckpt_tui.convert.plan import ConversionItem, ConversionPlan, Outcome
from ckpt_tui.convert.write import ItemReport
from ckpt_tui.io.text import escape_for_terminal
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui import formatting as fmt

ACTION_STATES: dict[str, RowState] = {
    "write": "write", "replace": "replace", "skip": "skip", "impossible": "can't convert",
}  # fmt: skip
"""The state of a row not run yet, by its planned action."""
#: Row tags: (text, style) per candidate state.
ROW_TAGS: dict[str, tuple[str, str]] = {
    "write": ("new", "bold"),
    "replace": ("replace", "bold yellow"),
    "skip": ("skip", "dim"),
    "can't convert": ("can't", "red"),
    "not selected": ("new", "bold"),
    "written": ("✓ written", "bold green"),
    "skipped": ("– skipped", "yellow"),
    "failed": ("✗ failed", "bold red"),
    "not run": ("not run", "dim"),
}
OUTCOME_TAGS = {outcome: ROW_TAGS[outcome] for outcome in ("written", "skipped", "failed")}


def shown(text: object) -> str:
    """``text`` safe for the terminal: controls, bidi and undecodable bytes escaped."""
    return escape_for_terminal(str(text))


@dataclass(frozen=True)
class ConversionSummary:
    """What one run of the conversion screen did (the screen's result)."""

    results: tuple[ItemReport, ...]
    """One result per item that ran, in order."""
    requested: int
    """How many checkpoints were selected when Convert was pressed."""
    cancelled: bool
    """Whether escape stopped the run before every selected item ran."""
    force: bool
    """Whether existing sidecars were replaced."""
    counts: ConversionCounts | None = None
    """Every candidate's state after the run (the numbers the screen showed)."""

    def count(self, outcome: Outcome) -> int:
        """How many items ended with ``outcome``."""
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def not_run(self) -> int:
        """Selected items left untouched by a cancel."""
        return self.requested - len(self.results)

    def describe(self) -> str:
        """One line, the screen's own summary: ``3 candidates: 2 written · 1 skipped (sidecar
        exists)`` (plus what failed, was not run, can't be converted or was not selected)."""
        if self.counts is not None:
            return summary_line(self.counts).plain
        line = " · ".join(f"{self.count(o)} {o}" for o in ("written", "skipped", "failed"))
        if self.not_run:
            line += f" · {self.not_run} not run (cancelled)"
        return line


STATE_STYLES = {
    "write": "bold", "replace": "bold yellow", "skip": "dim", "can't convert": "red",
    "not selected": "dim", "written": "bold green", "skipped": "yellow", "failed": "bold red",
    "not run": "dim",
}  # fmt: skip
"""How each candidate state looks in the status and summary lines."""


def _reasons(counts: ConversionCounts, state: str) -> str:
    kinds = counts.reasons.get(state, {})
    if not kinds:
        return ""
    if len(kinds) == 1:
        return f" ({shown(next(iter(kinds)))})"
    return f" ({', '.join(f'{shown(kind)} ×{n}' for kind, n in sorted(kinds.items()))})"


def _append_state(text: Text, counts: ConversionCounts, state: str, label: str) -> None:
    """`` · will skip 1 (why)`` (a ``will`` label: the number after it) or `` · 1 skipped (why)``;
    nothing when no candidate is in ``state``."""
    if counts[state]:
        number = counts[state]
        said = f"{label} {number}" if label.startswith("will ") else f"{number} {label}"
        text.append(" · ")
        text.append(f"{said}{_reasons(counts, state)}", STATE_STYLES[state])


def plan_status(counts: ConversionCounts) -> Text:
    """The status line before a run: how many are selected, and what each candidate will do:
    ``2 of 2 selected · will write 2 · will skip 1 (sidecar exists)``; the candidates that
    cannot be converted say why: ``1 can't convert (file is empty (0 bytes))``."""
    text = Text()
    text.append(f"{counts.selected} of {counts.selectable} selected", style="bold")
    _append_state(text, counts, "write", "will write")
    _append_state(text, counts, "replace", "will replace")
    _append_state(text, counts, "skip", "will skip")
    _append_state(text, counts, "can't convert", "can't convert")
    return text


def summary_line(counts: ConversionCounts) -> Text:
    """After a run: every candidate's outcome, adding up to the candidates:
    ``3 candidates: 2 written · 1 skipped (sidecar exists)``."""
    text = Text(f"{counts.candidates} candidates: ", style="bold")
    text.append(f"{counts['written']} written", STATE_STYLES["written"])
    skipped = counts["skipped"] + counts["skip"]
    if skipped:
        kinds = dict(counts.reasons.get("skip", {}))
        for kind, number in counts.reasons.get("skipped", {}).items():
            kinds[kind] = kinds.get(kind, 0) + number
        merged = ConversionCounts(0, 0, 0, {"skipped": skipped}, {"skipped": kinds})
        _append_state(text, merged, "skipped", "skipped")
    _append_state(text, counts, "failed", "failed")
    _append_state(text, counts, "not run", "not run (cancelled)")
    _append_state(text, counts, "can't convert", "can't convert")
    _append_state(text, counts, "not selected", "not selected")
    return text


def no_candidates_hint(plan: ConversionPlan | None, *, force: bool) -> Text:
    """Shown in the preview when nothing can be converted: how to get further."""
    skipped = sum(1 for item in plan.items if item.action == "skip") if plan else 0
    if skipped and not force:
        return Text(f"{skipped} already have a sidecar: press f to replace them.")
    return Text("")


#: The verdict markers' styles (as in the main table).
VERDICT_STYLES = {fmt.UNSAFE_GLYPH: "bold reverse red", fmt.CODE_GLYPH: "bold magenta"}


def verdict_marker(entry: CheckpointCatalogEntry) -> Text:
    """The entry's safety verdict before its name: ``☠ `` unsafe, ``ƒ `` code, else nothing
    (the rows that have one stand out; the others stay aligned)."""
    marker = fmt.safety_marker(entry)
    if marker is None:
        return Text("")
    return Text.assemble((marker, VERDICT_STYLES[marker]), " ")


def verdict_line(entry: CheckpointCatalogEntry) -> Text:
    """The preview's verdict line: what loading the checkpoint would run (empty when safe or
    not read yet)."""
    if fmt.is_unsafe(entry):
        names = ", ".join(fmt.safe(name, 200) for name in entry.unsafe_globals[:20])
        more = len(entry.unsafe_globals) - 20
        text = Text("UNSAFE", style="bold reverse red")
        text.append(f": loading it would run {names or 'code outside the allowlist'}", "bold red")
        if more > 0:
            text.append(f", … and {more} more", style="bold red")
        return text
    if entry.safety == "code":
        text = Text("CODE", style="bold reverse magenta")
        text.append(": a TorchScript or torch.export archive (it holds code)", style="magenta")
        return text
    return Text("")


def row_label(item: ConversionItem, result: ItemReport | None, *, ran: bool = False) -> Text:
    """One candidate row: the action (or outcome), the verdict marker, the file name, why, then
    the folder.

    The file name (``entry.file_name``) comes first and whole because a long row is cut at the
    right edge: at 80 columns the folder is what goes. ``ran``: a run started, so a selected
    row without a result was not run (a cancel), and an unselected one stays as it was.
    """
    state: RowState
    if result is not None and result.outcome is not None:  # (None only in a dry run)
        state, reason = result.outcome, result.reason
    elif ran and item.action in ("write", "replace"):
        state, reason = "not run", ""
    else:
        state, reason = ACTION_STATES[item.action], item.reason
    tag, style = ROW_TAGS[state]
    entry = item.entry
    folder = entry.checkpoint_path.rpartition("/")[0]
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{tag:<10}", style=style)
    text.append_text(verdict_marker(entry))
    text.append(shown(entry.file_name), style="bold")
    if reason:
        text.append(f"  {shown(reason)}", style=style)
    if folder:
        text.append(f"  {shown(folder)}/", style="dim")
    return text


def preview_title(item: ConversionItem, result: ItemReport | None) -> Text:
    """The preview's first line: which sidecar, and what happens (or happened) to it."""
    text = Text()
    text.append(shown(item.target.name), style="bold")
    if result is not None and result.outcome is not None:  # (None only in a dry run)
        tag, style = OUTCOME_TAGS[result.outcome]
        text.append(f"  {tag}", style=style)
        if result.reason:
            text.append(f": {shown(result.reason)}", style=style)
    elif item.action == "write":
        text.append("  would be written", style="green")
    elif item.action == "replace":
        text.append("  would be replaced", style="yellow")
    else:
        text.append(f"  not converted: {shown(item.reason)}", style="red")
    verdict = verdict_line(item.entry)
    if verdict:
        text.append("\n")
        text.append_text(verdict)
    return text


def preview_yaml(item: ConversionItem) -> RenderableType:
    """The YAML that would be written, highlighted; escaped line by line (names are untrusted)."""
    yaml = item.preview_yaml()
    if not yaml:
        return Text("")
    safe_yaml = "\n".join(shown(line) for line in yaml.splitlines())
    return Syntax(safe_yaml, "yaml", theme="ansi_dark", word_wrap=True, background_color="default")


def unknown_fields(item: ConversionItem) -> Text:
    """The fields no source knew: left out of the sidecar, listed in its ``ckpt_tui`` block."""
    if item.data is None:  # (item.metadata would validate it again, with pydantic)
        return Text("")
    if not item.unknown_fields:
        return Text("unknown fields: none", style="green")
    text = Text("unknown fields: ", style="bold yellow")
    text.append(", ".join(shown(name) for name in item.unknown_fields), style="yellow")
    return text
