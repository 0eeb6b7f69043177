"""The detail pane's sections, as Rich renderables: pure functions of one entry.

Sections: the title and the safety verdict right under it (an unsafe checkpoint's globals as a
SECURITY error, reversed red), then Issues when the entry has errors or security findings (so
they are never a page down), Training, Model, Metrics, Checkpointing, Files, Source (with each
field's provenance), Issues otherwise, the state-dict summary and other extras. Paths wrap at
their ``/`` (:func:`wrap_path`). Every value from a file goes through ``formatting.safe``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ckpt_tui.catalog.columns import issue_kind
from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.tui import formatting as fmt
from ckpt_tui.tui.widgets.folder_view import folder_rows

Entry = CheckpointCatalogEntry
Row = tuple[str, object]
LABEL_WIDTH = 13
#: Unsafe globals listed at most (a hostile pickle can name thousands).
MAX_UNSAFE_GLOBALS = 500
#: ``details`` keys with a section of their own.
SHOWN_DETAILS = frozenset(
    {"hyper_parameters", "datamodule_hyper_parameters", "state_dict", "model_checkpoint", "folder"}
    | {"archive_contents"}
)
#: Lines of a code archive's contents shown at most.
MAX_ARCHIVE_LINES = 40
#: Hyper-parameter lines shown at most (a config can hold thousands).
MAX_HPARAM_LINES = 200
#: Rows whose value is a path: wrapped at its separators.
PATH_LABELS = frozenset({"checkpoint", "sidecar", "config", "best file"})


@dataclass
class Section:
    """One titled block of the pane: label/value rows (the title block has no heading)."""

    heading: Text | None
    """Bold heading, ``None`` for the title block."""
    rows: list[tuple[Text, Text]] = field(default_factory=list)
    """(label, value) pairs; a label may be empty."""
    lead: Text | None = None
    """A line before the rows (the title block's checkpoint name)."""

    def wrap_paths(self, width: int) -> None:
        """Break the path values (:data:`PATH_LABELS`) at their ``/`` to fit ``width`` cells."""
        for index, (label, value) in enumerate(self.rows):
            if label.plain in PATH_LABELS and "\n" not in value.plain:
                wrapped = Text(wrap_path(value.plain, width), style=value.style)
                self.rows[index] = (label, wrapped)

    def renderables(self) -> list[RenderableType]:
        """The block as Rich renderables: labels in a column, values wrapping beside them."""
        out: list[RenderableType] = []
        if self.heading is not None:
            out += [Text(""), self.heading]
        if self.lead is not None:
            out.append(self.lead)
        if not self.rows:
            return out
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=LABEL_WIDTH - 1, no_wrap=True, style="dim")
        grid.add_column(ratio=1, overflow="fold")
        for label, value in self.rows:
            grid.add_row(label, value)
        out.append(grid)
        return out


def render_sections(entry: Entry, now: datetime, path_width: int | None = None) -> list[Section]:
    """The pane's sections for ``entry``, in order (:func:`split_sections`, joined)."""
    head, rest = split_sections(entry, now, path_width)
    return head + rest


def split_sections(
    entry: Entry, now: datetime, path_width: int | None = None
) -> tuple[list[Section], list[Section]]:
    """The sections above the run's chart (the title, the verdict, and the issues when there
    are errors or security findings) and those below it. Paths wrap at ``path_width`` cells."""
    title = Section(None, lead=Text(fmt.safe(entry.display_name, 200), style="bold"))
    modified = datetime.fromtimestamp(entry.mtime, tz=timezone.utc) if entry.mtime else None
    created = fmt.parse_time(entry.created_at)
    metrics: list[Row] = [
        ("hmean", fmt.metric(entry.hmean)),
        ("precision", fmt.metric(entry.precision)),
        ("recall", fmt.metric(entry.recall)),
        ("val loss", fmt.metric(entry.validation_loss)),
    ]
    metrics += [
        (name, fmt.metric(value)) for name, value in list(entry.additional_metrics.items())[:30]
    ]
    urgent = any(issue_kind(issue) in ("error", "security") for issue in entry.issues)
    head = [title, safety_section(entry)]
    if urgent:
        head.append(_issues_section(entry.issues))
    sections = [
        _section(
            "Training",
            [
                ("epoch", entry.epoch),
                ("global step", entry.global_step),
                ("max epochs", entry.max_epochs),
                ("created", _when(created, now)),
            ],
        ),
        _section(
            "Model",
            [
                ("architecture", entry.architecture),
                ("encoder", entry.backbone),
                ("decoder", entry.decoder),
                ("head", entry.head),
                ("loss", entry.loss),
            ],
        ),
        _section("Metrics", metrics),
        _section(
            "Checkpointing",
            [
                ("monitor", entry.monitor),
                ("mode", entry.monitor_mode),
                ("value", fmt.metric(entry.monitor_value)),
                ("save_top_k", entry.save_top_k),
                ("save_last", entry.save_last),
                *_callback_rows(entry.details.get("model_checkpoint")),
            ],
        ),
        _section(
            "Files",
            [
                ("checkpoint", entry.checkpoint_path),
                ("size", fmt.human_size(entry.size_bytes)),
                ("modified", _when(modified, now)),
                ("sidecar", entry.sidecar_path),
                ("config", entry.config_path or entry.hydra_config_path),
                ("wandb run", entry.wandb_run_id),
            ],
        ),
        _section("Source", _provenance_rows(entry)),
    ]
    if not urgent:
        sections.append(_issues_section(entry.issues))
    if "folder" in entry.details:
        sections.append(_section("Folder checkpoint", folder_rows(entry)))
    state = entry.details.get("state_dict")
    if isinstance(state, Mapping):
        sections.append(_section("State dict", list(_state_rows(state))))
    contents = entry.details.get("archive_contents")
    if isinstance(contents, Mapping):
        rows = list(_flatten(contents))
        shown = [(name.rpartition(".tensors.")[2] or name, value) for name, value in rows]
        if len(shown) > MAX_ARCHIVE_LINES:
            shown = [*shown[:MAX_ARCHIVE_LINES], ("", f"… (+{len(shown) - MAX_ARCHIVE_LINES})")]
        sections.append(_section("Archive contents", shown))
    # Other extras a tier reported (format, lightning_version, optimizer, dangerous globals...).
    extras: list[Row] = [
        ("", f"{key}: {_summary(value)}")
        for key, value in list(entry.details.items())[:30]
        if key not in SHOWN_DETAILS and value is not None
    ]
    if extras:
        sections.append(_section("Also", extras))
    if path_width is not None:
        for section in head + sections:
            section.wrap_paths(path_width)
    return head, sections


def wrap_path(path: str, width: int) -> str:
    """``path`` on lines of at most ``width`` cells, broken after a ``/`` where it can be (a
    part longer than a line is cut where the line ends)."""
    if width <= 1 or len(path) <= width:
        return path
    lines: list[str] = []
    line = ""
    for part in path.replace("/", "/\0").split("\0"):
        while len(part) > width:  # one folder name wider than the pane
            if line:
                lines.append(line)
                line = ""
            lines.append(part[:width])
            part = part[width:]
        if len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    if line:
        lines.append(line)
    return "\n".join(lines)


def safety_section(entry: Entry) -> Section:
    """The verdict: what loading the file with ``torch.load`` would do (no heading: it sits
    under the name, where it cannot be missed)."""
    section = Section(None)
    section.rows.append((Text("Safety", style="bold"), safety_text(entry)))
    return section


def safety_text(entry: Entry) -> Text:
    """The verdict in words; an unsafe file's globals are all named."""
    text = Text()
    if fmt.is_unsafe(entry):
        text.append("UNSAFE", style="bold reverse red")
        names = [fmt.safe(name, 200) for name in entry.unsafe_globals[:MAX_UNSAFE_GLOBALS]]
        if names:
            text.append(": would run " + ", ".join(names), style="bold red")
        else:
            text.append(": would run code outside the allowlist", style="bold red")
        if len(entry.unsafe_globals) > MAX_UNSAFE_GLOBALS:
            more = len(entry.unsafe_globals) - MAX_UNSAFE_GLOBALS
            text.append(f", … and {more} more", style="bold red")
    elif entry.safety == "code":
        text.append("CODE", style="bold reverse magenta")
        text.append(
            ": a TorchScript or torch.export archive; loading it runs the code it holds",
            style="magenta",
        )
    elif entry.safety == "safe":
        text.append("safe", style="green")
        text.append(" (plain data only)", style="dim")
    elif entry.safety == "unreadable":
        text.append("unreadable", style="bold yellow")
        text.append(": its pickle could not be parsed (see Issues)", style="dim")
    else:
        text.append("not read yet", style="dim")
        text.append(" (a sidecar described it; its file is checked in the background)", style="dim")
    return text


def _when(when: datetime | None, now: datetime) -> str | None:
    if when is None:
        return None
    return f"{fmt.timestamp(when)} ({fmt.relative_time(when, now)})"


def _section(name: str, rows: Iterable[Row]) -> Section:
    section = Section(Text(name, style="bold underline"))
    for label, value in rows:
        shown = Text(fmt.ellipsize(fmt.safe(label, 80), LABEL_WIDTH - 1))
        if value is None:
            section.rows.append((shown, Text("—", style="dim")))
        else:
            section.rows.append((shown, Text(fmt.safe(value, 300))))
    return section


def _provenance_rows(entry: Entry) -> list[Row]:
    rows: list[Row] = [("tier", entry.source)]
    rows += list(entry.provenance.items())[:60]
    return rows


def _issues_section(issues: list[Issue]) -> Section:
    section = Section(Text(f"Issues ({len(issues)})", style="bold underline"))
    if not issues:
        section.rows.append((Text("none", style="dim"), Text("")))
    for issue in issues[:50]:
        if issue_kind(issue) == "security":
            label, style = Text("SECURITY", style="bold reverse red"), "bold red"
        elif issue.severity == "error":
            label, style = Text("✗ error", style="bold red"), "red"
        elif issue.severity == "warning":
            label, style = Text("! warning", style="bold yellow"), "yellow"
        else:
            label, style = Text("· info", style="dim"), ""
        value = Text(fmt.safe(issue.message, 300), style=style)
        value.append(f" [{fmt.safe(issue.code, 60)}]", style="dim")
        section.rows.append((label, value))
    if len(issues) > 50:
        section.rows.append((Text(""), Text(f"… and {len(issues) - 50} more", style="dim")))
    return section


def _state_rows(state: Mapping[str, Any]) -> Iterator[Row]:
    count = state.get("parameter_count")
    yield "parameters", f"{count:,}" if isinstance(count, int) else count
    tensors, size = state.get("tensors"), state.get("tensor_bytes")
    if isinstance(tensors, int):
        shown_size = fmt.human_size(size) if isinstance(size, int) else None
        yield "tensors", f"{tensors:,}" + (f" ({shown_size})" if shown_size else "")
    yield "dtypes", _summary(state.get("dtypes"))
    modules = state.get("top_level_modules")
    if isinstance(modules, Mapping):  # name → parameter count
        yield (
            "modules",
            _summary({k: f"{v:,}" if isinstance(v, int) else v for k, v in modules.items()}),
        )
    else:
        yield "modules", _summary(modules)


def _callback_rows(states: object) -> list[Row]:
    """The first ModelCheckpoint state saved in the file: its best score and best file."""
    if not isinstance(states, list) or not states or not isinstance(states[0], Mapping):
        return []
    state = states[0]
    best = state.get("best_model_score")
    rows: list[Row] = [("best score", fmt.metric(best) if isinstance(best, float | int) else best)]
    if state.get("best_model_path"):
        rows.append(("best file", state["best_model_path"]))
    return rows


def hparam_lines(entry: Entry) -> list[tuple[str, object]]:
    """The hyper-parameters (and the datamodule's) as flat ``a.b.c = value`` pairs."""
    lines: list[tuple[str, object]] = []
    for key, prefix in (("hyper_parameters", ""), ("datamodule_hyper_parameters", "datamodule")):
        value = entry.details.get(key)
        if isinstance(value, Mapping) and value:
            lines += list(_flatten(value, prefix))
    return lines


def _summary(value: object) -> str | None:
    """A dict or list as one short line (``float32: 120, int64: 2``)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        items = list(value.items())
        shown = ", ".join(f"{k}: {v}" for k, v in items[:20])
        return shown + (f", … (+{len(items) - 20})" if len(items) > 20 else "")
    if isinstance(value, list | tuple | set):
        items_list = [str(v) for v in value]
        shown = ", ".join(items_list[:20])
        return shown + (f", … (+{len(items_list) - 20})" if len(items_list) > 20 else "")
    return str(value)


def _flatten(value: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Nested mappings as ``a.b.c: value`` pairs (lists stay whole, shown truncated)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(inner, Mapping) and inner:
                yield from _flatten(inner, name)
            else:
                yield name, inner
    else:
        yield prefix or "value", value


def hparam_text(lines: list[tuple[str, object]]) -> Text:
    text = Text()
    for name, value in lines[:MAX_HPARAM_LINES]:
        text.append(fmt.safe(name, 60), style="dim")
        text.append(" = ")
        text.append(fmt.safe(value, 160))
        text.append("\n")
    if len(lines) > MAX_HPARAM_LINES:
        text.append(f"… and {len(lines) - MAX_HPARAM_LINES} more", style="dim")
    text.rstrip()
    return text
