"""How the conversion screen shows a plan: candidate rows, the sidecar preview, unknown fields.

Pure functions from core objects to Rich text; no widget state. Every string that came from a
file (names, paths, reasons, YAML values) is escaped for the terminal before it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import RenderableType
from rich.syntax import Syntax
from rich.text import Text

from ckpt_tui.convert.plan import ConversionItem, ConversionPlan, Outcome
from ckpt_tui.convert.write import ItemReport
from ckpt_tui.io.text import escape_for_terminal
from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui import formatting as fmt

#: Row tags: (text, style) per planned action and per outcome.
ACTION_TAGS = {
    "write": ("new", "bold"),
    "replace": ("replace", "bold yellow"),
    "skip": ("skip", "dim"),
    "impossible": ("can't", "red"),
}
OUTCOME_TAGS = {
    "written": ("✓ written", "bold green"),
    "skipped": ("– skipped", "yellow"),
    "failed": ("✗ failed", "bold red"),
}


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

    def count(self, outcome: Outcome) -> int:
        """How many items ended with ``outcome``."""
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def not_run(self) -> int:
        """Selected items left untouched by a cancel."""
        return self.requested - len(self.results)

    def describe(self) -> str:
        """One line: ``3 written · 0 skipped · 1 failed`` (plus what a cancel left)."""
        line = " · ".join(f"{self.count(o)} {o}" for o in ("written", "skipped", "failed"))
        if self.not_run:
            line += f" · {self.not_run} not run (cancelled)"
        return line


def plan_status(plan: ConversionPlan, selected: int) -> Text:
    """The status line before a run: what is selected, and what cannot be (and why)."""
    actions = [item.action for item in plan.items]
    convertible = actions.count("write") + actions.count("replace")
    text = Text()
    text.append(f"{selected} of {convertible} selected", style="bold")
    if actions.count("skip"):
        text.append(f" · {actions.count('skip')} have a sidecar (f replaces them)")
    if actions.count("replace"):
        text.append(f" · {actions.count('replace')} would be replaced", style="yellow")
    if actions.count("impossible"):
        text.append(f" · {actions.count('impossible')} can't be converted", style="red")
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


def row_label(item: ConversionItem, result: ItemReport | None) -> Text:
    """One candidate row: the action (or outcome), the verdict marker, the file name, why, then
    the folder.

    The name comes before the folder because a long row is cut at the right edge.
    """
    if result is not None and result.outcome is not None:  # (None only in a dry run)
        tag, style = OUTCOME_TAGS[result.outcome]
        reason = result.reason
    else:
        tag, style = ACTION_TAGS[item.action]
        reason = item.reason
    path = item.entry.checkpoint_path
    folder, _, name = path.rpartition("/")
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{tag:<10}", style=style)
    text.append_text(verdict_marker(item.entry))
    text.append(shown(name), style="bold")
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
    """The fields no source knew (written as "unknown" or as a default)."""
    if item.data is None:  # (item.metadata would validate it again, with pydantic)
        return Text("")
    if not item.unknown_fields:
        return Text("unknown fields: none", style="green")
    text = Text("unknown fields: ", style="bold yellow")
    text.append(", ".join(shown(name) for name in item.unknown_fields), style="yellow")
    return text
