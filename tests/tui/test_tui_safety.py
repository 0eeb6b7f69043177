"""The safety verdict in the TUI: sidecar rows are verified in the background without user
action, an unsafe checkpoint is marked in the table and explained in the detail pane, and ``y``
never copies a path a paste could abuse.

The files are real: ``torch.save`` of a dict holding a reference to ``os.system`` (pickled by
name: loading it with ``weights_only=False`` would import it), described by a valid sidecar.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from screen_capture import toast_texts
from tui_helpers import (
    detail_text,
    main,
    running,
    status,
    table,
    table_lines,
    wait_for,
)

from ckpt_tui.model.schema import (
    CheckpointMetadataV1,
    EncoderInfo,
    MetricsInfo,
    ModelInfo,
    TrainingInfo,
)
from ckpt_tui.sidecar.files import save_metadata
from ckpt_tui.tui.formatting import CODE_GLYPH, UNSAFE_GLYPH
from ckpt_tui.tui.screens.main import MainScreen

HOSTILE = "hostile_run/checkpoints/epoch=3-step=30.ckpt"
CLEAN = "clean_run/checkpoints/epoch=2-step=20.ckpt"
#: A bracketed paste's end followed by a command line: pasted raw, the shell would run it.
PASTE_JACK = "jack\x1b[201~\ntouch pwned\n.ckpt"


def _with_sidecar(path: Path, payload: dict[str, Any], *, exp: str, epoch: int) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    save_metadata(
        CheckpointMetadataV1(
            checkpoint_path=str(path),
            exp_name=exp,
            created_at="2025-10-20T10:00:00+00:00",
            training=TrainingInfo(epoch=epoch, global_step=epoch * 10),
            model=ModelInfo(architecture="dbnet", encoder=EncoderInfo(model_name="resnet18")),
            metrics=MetricsInfo(hmean=0.5 + epoch / 100),
        ),
        path,
    )


@pytest.fixture(scope="module")
def safety_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two sidecar-backed checkpoints (one hostile, one clean) and one with a hostile name."""
    import torch

    root = tmp_path_factory.mktemp("tui-safety") / "outputs"
    weights = {"model.w": torch.zeros(2, 2)}
    _with_sidecar(
        root / HOSTILE,
        {"epoch": 3, "global_step": 30, "state_dict": weights, "callback": os.system},
        exp="hostile_run",
        epoch=3,
    )
    _with_sidecar(
        root / CLEAN,
        {"epoch": 2, "global_step": 20, "state_dict": weights},
        exp="clean_run",
        epoch=2,
    )
    (root / "named").mkdir()
    torch.save({"state_dict": weights}, root / "named" / PASTE_JACK)
    return root


def _row(app: Any, path: str) -> str:
    """The table line that shows ``path``'s row (the gutter is its first two cells)."""
    index = [entry.checkpoint_path for entry in table(app).rows].index(path)
    top = int(table(app).scroll_y)
    return table_lines(app)[1 + index - top]


async def test_hostile_sidecar_row_is_verified_and_marked_without_user_action(
    safety_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_at_start: list[tuple[str, str]] = []
    original = MainScreen.verify

    def verify(screen: MainScreen) -> None:
        # What the table shows the moment it has filled, before any file is read.
        if not seen_at_start:
            seen_at_start.append((screen.entries[HOSTILE].safety, _row(screen.app, HOSTILE)))
        original(screen)

    monkeypatch.setattr(MainScreen, "verify", verify)
    async with running(safety_tree, size=(140, 40)) as (app, pilot):
        assert seen_at_start, "verification never started"
        safety, row = seen_at_start[0]
        assert safety == "unchecked"
        assert "hostile_run" in row and UNSAFE_GLYPH not in row  # no marker yet
        screen = main(app)
        await wait_for(pilot, lambda: not screen.is_verifying, what="the verification")
        hostile = screen.entries[HOSTILE]
        assert hostile.safety == "unsafe"
        assert "os.system" in hostile.unsafe_globals
        assert hostile.source == "sidecar"  # still described by its sidecar
        assert screen.entries[CLEAN].safety == "safe"
        await wait_for(pilot, lambda: _row(app, HOSTILE)[1] == UNSAFE_GLYPH, what="the marker")
        assert _row(app, CLEAN)[1] not in (UNSAFE_GLYPH, CODE_GLYPH)  # no verdict marker
        assert "verifying" not in status(app)
        # The detail pane's verdict, near the top.
        table(app).move_to([e.checkpoint_path for e in table(app).rows].index(HOSTILE))
        await pilot.pause()
        text = await detail_text(pilot)
        lines = text.splitlines()
        safety_line = next(i for i, line in enumerate(lines) if line.startswith("Safety"))
        assert safety_line <= 2
        verdict = " ".join(" ".join(lines[safety_line : safety_line + 3]).split())  # unwrapped
        assert verdict.startswith("Safety UNSAFE: would run os.system")
        assert "SECURITY" in text  # and the issue, styled apart from warnings


async def test_table_marker_is_distinct_from_issue_flags(safety_tree: Path) -> None:
    async with running(safety_tree) as (app, pilot):
        await wait_for(pilot, lambda: not main(app).is_verifying, what="the verification")
        await wait_for(pilot, lambda: _row(app, HOSTILE)[1] == UNSAFE_GLYPH, what="the marker")
        style = table(app).get_component_rich_style("catalog-table--security")
        warning = table(app).get_component_rich_style("catalog-table--warning")
        assert style != warning and style.reverse
        assert UNSAFE_GLYPH not in {"!", "✗", CODE_GLYPH}
        assert "☠ SECURITY 1" in status(app)  # the word too, not only a colour


async def test_status_line_shows_verification_progress(safety_tree: Path) -> None:
    shown: list[str] = []
    # Without the cache, every scan's sidecar rows are unchecked again and verified again.
    async with running(safety_tree, use_cache=False) as (app, pilot):
        line = main(app).query_one("StatusLine")
        original = line.verifying

        def verifying(done: int, total: int) -> None:
            original(done, total)
            shown.append(str(line.query_one("#status-text").render()))

        line.verifying = verifying  # type: ignore[method-assign]
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: main(app).scans_completed >= 2, what="the rescan")
        await wait_for(pilot, lambda: not main(app).is_verifying, what="the verification")
        await pilot.pause()
        assert any("verifying 0/2" in text for text in shown), shown
        assert "verifying" not in shown[-1]
        assert "verifying" not in status(app)
        assert main(app).entries[HOSTILE].safety == "unsafe"


async def test_y_copies_nothing_from_a_path_with_control_characters(safety_tree: Path) -> None:
    async with running(safety_tree) as (app, pilot):
        paths = [entry.checkpoint_path for entry in table(app).rows]
        table(app).move_to(paths.index(f"named/{PASTE_JACK}"))
        await pilot.pause()
        await pilot.press("y")
        await wait_for(
            pilot, lambda: any("not copied" in t for t in toast_texts(app)), what="the refusal"
        )
        assert app.clipboard == ""
        note = next(t for t in toast_texts(app) if "not copied" in t)
        assert "control character" in note and "\\x1b" in note
        assert "\x1b" not in note
        # A plain path is copied as it is.
        table(app).move_to(paths.index(CLEAN))
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: app.clipboard != "", what="the copy")
        assert app.clipboard == str((safety_tree / CLEAN).resolve())


async def test_verdicts_found_in_the_background_are_remembered_for_the_next_start(
    safety_tree: Path, tmp_path: Path
) -> None:
    import shutil

    from ckpt_tui.catalog.api import build_catalog

    root = tmp_path / "outputs"
    shutil.copytree(safety_tree, root)
    async with running(root, use_cache=True) as (app, pilot):
        await wait_for(pilot, lambda: not main(app).is_verifying, what="the verification")
    # A new start reads the catalog from the cache: the verdicts are there, no file read again.
    warm = {entry.checkpoint_path: entry for entry in build_catalog(root).entries}
    assert warm[HOSTILE].safety == "unsafe" and warm[CLEAN].safety == "safe"
