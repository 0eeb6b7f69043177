"""The detail pane: a sidecar entry, an inferred entry, a broken entry, and hostile content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screen_capture import scrolled_text
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Collapsible
from tui_helpers import (
    FIXED_NOW,
    MARKER,
    detail,
    detail_text,
    filter_box,
    fixed_clock,
    running,
    screen_text,
    status,
    table,
    table_lines,
    wait_for,
)

from ckpt_tui.model.entry import CheckpointCatalogEntry, Issue
from ckpt_tui.tui.widgets.detail_pane import DetailPane
from ckpt_tui.tui.widgets.detail_sections import render_sections


async def show_only(app: Any, pilot: Any, expression: str) -> str:
    """Filter down to one checkpoint and return what the detail pane shows, top to bottom."""
    await pilot.press("slash")
    filter_box(app).post_message(events.Paste(expression))
    await pilot.press("enter")
    await wait_for(pilot, lambda: status(app).startswith("1/10 shown"), what="one row")
    return await detail_text(pilot)


def section(text: str, name: str) -> str:
    """The lines of one section of the pane's text."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(name))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return "\n".join(lines[start:end])


#: Under 100 columns the pane spans the terminal's width, so a value stays on one line.
PANE_SIZE = (99, 60)


async def test_sidecar_entry(in_tree_parent: Path) -> None:
    async with running(in_tree_parent, size=PANE_SIZE) as (app, pilot):
        text = await show_only(app, pilot, "path:epoch=4-step=50")
        assert text.splitlines()[0].startswith("dbnet · resnet18 · dbnet_r18 (ep4 • hmean 0.835")
        training = section(text, "Training")
        assert "epoch        4" in training and "global step  50" in training
        assert "max epochs   10" in training
        assert "2025-10-14 14:32 UTC (17d ago)" in training
        model = section(text, "Model")
        for value in ("dbnet", "resnet18", "pan_decoder", "db_head", "db_loss"):
            assert value in model
        metrics = section(text, "Metrics")
        assert "hmean        0.835" in metrics and "precision    0.860" in metrics
        assert "val loss     0.400" in metrics
        checkpointing = section(text, "Checkpointing")
        assert "monitor      val/hmean" in checkpointing and "save_top_k   3" in checkpointing
        files = section(text, "Files")
        assert "dbnet_r18/checkpoints/epoch=4-step=50.ckpt" in files
        assert "dbnet_r18/checkpoints/epoch=4-step=50.metadata.yaml" in files
        assert "2025-10-30 09:30 UTC (2d ago)" in files  # modified, from the fixed mtime
        source = section(text, "Source")
        assert "tier         sidecar" in source
        assert "architecture sidecar" in source  # provenance of each field
        assert "Issues (0)" in text


async def test_inferred_entry_shows_where_values_came_from(in_tree_parent: Path) -> None:
    async with running(in_tree_parent, size=PANE_SIZE) as (app, pilot):
        text = await show_only(app, pilot, "path:craft_vgg/checkpoints/epoch=1")
        assert "tier         config" in text
        source = section(text, "Source")
        assert "hydra config model.architecture" in source
        assert "sidecar      —" in section(text, "Files")
        assert "architecture craft" in section(text, "Model")
        assert "encoder      vgg16_bn" in section(text, "Model")


async def test_broken_entry_lists_its_errors(in_tree_parent: Path) -> None:
    async with running(in_tree_parent, size=PANE_SIZE) as (app, pilot):
        text = await show_only(app, pilot, "path:truncated")
        issues = section(text, "Issues")
        assert "✗ error" in issues and "checkpoint.not-a-checkpoint" in issues
        assert "tier         path" in text
        assert table_lines(app)[1].startswith(" ✗ ")  # the row is flagged too
        await pilot.press("slash", "escape")
        # A checkpoint whose sidecar is invalid: the sidecar's error, values from the file.
        text = await show_only(app, pilot, "path:epoch=7-step=80")
        issues = section(text, "Issues")
        assert "✗ error" in issues and "sidecar.invalid" in issues and "metrics.hmean" in issues
        assert "tier         sidecar" not in text
        assert "epoch        7" in section(text, "Training")


async def test_hostile_checkpoint_shows_a_security_warning(tui_tree: Path) -> None:
    async with running(tui_tree, size=PANE_SIZE) as (app, pilot):
        text = await show_only(app, pilot, "path:evil")
        issues = section(text, "Issues")
        assert "SECURITY" in issues and "security.unsafe-global" in issues
        assert not (tui_tree.parent / MARKER).exists()  # and nothing in it ran


async def test_enter_focuses_the_pane_and_escape_returns(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("j", "enter")
        assert app.focused is detail(app)
        await pilot.press("down", "pagedown")  # scrolls the pane, not the table
        assert table(app).cursor_row == 1
        await pilot.press("escape")
        assert app.focused is table(app)


class PaneApp(App[None]):
    """The detail pane alone, to show hand-made entries."""

    def __init__(self, entry: CheckpointCatalogEntry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        yield DetailPane(now=fixed_clock)

    def on_mount(self) -> None:
        self.query_one(DetailPane).show(self.entry)


HOSTILE = CheckpointCatalogEntry(
    checkpoint_path="runs/\x1b[31mred\x1b[0m/\u202eevil.ckpt",
    exp_name="x" * 5000,
    architecture="[bold]markup[/bold]",
    created_at=FIXED_NOW.isoformat(),
    issues=[
        Issue(severity="error", code="security.unsafe-global", message="os.system in pickle"),
        Issue(severity="warning", code="metrics.missing", message="recall missing\x07"),
    ],
    provenance={"architecture": "sidecar model.architecture"},
    details={
        "hyper_parameters": {"lr": 0.01, "model": {"depth": 50, "blob": "y" * 10_000}},
        "state_dict": {
            "parameter_count": 25_557_032,
            "dtypes": {"float32": 320, "int64": 53},
            "top_level_modules": ["encoder", "decoder", "head"],
        },
        "lightning_version": "2.4.0",
    },
)


async def test_hostile_strings_are_escaped_and_truncated() -> None:
    app = PaneApp(HOSTILE)
    async with app.run_test(size=(100, 80)) as pilot:
        await pilot.pause()
        pane = app.query_one(DetailPane)
        text = await scrolled_text(pilot, pane)
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        assert "\\x1b[31mred" in text and "\\u202e" in text
        assert "[bold]markup[/bold]" in text  # shown literally, never parsed as markup
        assert "x" * 400 not in "".join(text.splitlines())  # the name is cut, not only wrapped
        issues = section(text, "Issues")
        assert "SECURITY" in issues and "os.system in pickle" in issues
        assert "! warning" in issues
        state = section(text, "State dict")
        assert "parameters   25,557,032" in state
        assert "float32: 320, int64: 53" in state
        assert "encoder, decoder, head" in state
        assert "lightning_version: 2.4.0" in section(text, "Also")
        # Hyper-parameters: collapsed, then expanded on demand, long values cut.
        collapsible = app.query_one(Collapsible)
        assert collapsible.collapsed and "Hyper-parameters (3)" in text
        collapsible.collapsed = False
        await pilot.pause()
        text = await scrolled_text(pilot, pane)
        assert "model.depth = 50" in text and "lr = 0.01" in text
        flat = "".join(text.splitlines())
        assert "y" * 10_000 not in flat and "(+" in flat
        screen = screen_text(app)
        assert "\x1b" not in screen and "SECURITY" in screen


def test_security_issue_style_stands_out() -> None:
    sections = render_sections(HOSTILE, FIXED_NOW)
    issues = next(s for s in sections if s.heading and s.heading.plain.startswith("Issues"))
    labels = {label.plain: str(label.style) for label, _value in issues.rows}
    assert labels["SECURITY"] == "bold reverse red"  # security: reversed, unlike any other line
    assert labels["! warning"] == "bold yellow"
    broken = CheckpointCatalogEntry(
        checkpoint_path="a.ckpt",
        issues=[Issue(severity="error", code="checkpoint.truncated", message="truncated")],
    )
    sections = render_sections(broken, FIXED_NOW)
    plain = next(s for s in sections if s.heading and s.heading.plain.startswith("Issues"))
    assert [str(label.style) for label, _ in plain.rows] == ["bold red"]  # red, not reversed
