"""Pilot tests of the filter box: each form of the language, debouncing, enter, escape, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screen_capture import region_lines
from tui_helpers import (
    filter_box,
    main,
    paste_text,
    running,
    screen_text,
    shown_paths,
    status,
    table,
    type_text,
    wait_for,
)


def box_text(app: Any) -> str:
    """The filter box as shown, its border (where an error is written) included."""
    return "\n".join(region_lines(app, filter_box(app).region))


DBNET_R18 = [
    "dbnet_r18/checkpoints/epoch=0-step=10.ckpt",
    "dbnet_r18/checkpoints/epoch=4-step=50.ckpt",
    "dbnet_r18/checkpoints/epoch=7-step=80.ckpt",
]


FORMS: list[tuple[str, list[str]]] = [
    ("r18", DBNET_R18),
    (
        "arch:dbnetpp",
        [
            "dbnetpp_r50/checkpoints/epoch=2-step=30.ckpt",
            "dbnetpp_r50/checkpoints/epoch=9-step=100.ckpt",
        ],
    ),
    (
        "hmean>0.8",
        [
            "dbnet_r18/checkpoints/epoch=4-step=50.ckpt",
            "dbnetpp_r50/checkpoints/epoch=9-step=100.ckpt",
        ],
    ),
    ("hmean<=0.612", ["dbnet_r18/checkpoints/epoch=0-step=10.ckpt"]),
    ("epoch=0", ["dbnet_r18/checkpoints/epoch=0-step=10.ckpt"]),
    ("r18 -epoch>=4", ["dbnet_r18/checkpoints/epoch=0-step=10.ckpt"]),
    ("craft -last", ["craft_vgg/checkpoints/epoch=1-step=20.ckpt"]),
    ('exp:"dbnet_r18" step!=10', DBNET_R18[1:]),
    ("size<1kB", ["broken/truncated.ckpt"]),
    ("has:errors r18", ["dbnet_r18/checkpoints/epoch=7-step=80.ckpt"]),
    (
        "arch:dbnet is:best",
        [
            "dbnet_r18/checkpoints/epoch=4-step=50.ckpt",
            "dbnetpp_r50/checkpoints/epoch=9-step=100.ckpt",
        ],
    ),
]


async def test_each_filter_form_applies_as_you_type(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        for number, (expression, expected) in enumerate(FORMS):
            await pilot.press("slash")
            assert app.focused is filter_box(app)
            if number < 3:
                await type_text(pilot, expression)
            else:  # pasted (bracketed paste), to keep the test fast
                await paste_text(pilot, expression)
            # Applied after the debounce, without enter; the focus stays in the box.
            await wait_for(pilot, lambda: main(app).entry_filter.expression == expression)  # noqa: B023
            assert shown_paths(app) == expected, expression
            assert app.focused is filter_box(app)
            assert status(app).startswith(f"{len(expected)}/10 shown")
            assert f"filter {expression}" in status(app)
            await pilot.press("escape")


async def test_enter_applies_and_returns_to_the_table(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("slash")
        await type_text(pilot, "dbnetpp")
        await pilot.press("enter")
        assert app.focused is table(app)
        assert len(shown_paths(app)) == 2
        # The keys work on the table again.
        await pilot.press("j")
        assert table(app).cursor_row == 1


async def test_escape_clears_and_returns_to_the_table(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("slash")
        await type_text(pilot, "craft")
        await pilot.press("enter")
        assert len(shown_paths(app)) == 2
        await pilot.press("slash", "escape")
        assert app.focused is table(app)
        assert filter_box(app).value == ""
        assert len(shown_paths(app)) == 10
        assert "filter" not in status(app)


async def test_invalid_filter_shows_the_error_and_keeps_the_table(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("slash")
        await type_text(pilot, "hmean>0.8")
        await wait_for(pilot, lambda: main(app).entry_filter.expression == "hmean>0.8")
        before = shown_paths(app)
        # Pasted: typed key by key, a slow machine may apply " colour" (valid free text) first.
        await paste_text(pilot, " colour:red")
        message = "unknown field 'colour'"
        # Shown in the box's border.
        await wait_for(pilot, lambda: message in box_text(app), what="the error")
        assert shown_paths(app) == before  # the table is as it was
        assert "filter hmean>0.8" in status(app)
        # Enter on an invalid expression keeps the focus in the box to fix it.
        await pilot.press("enter")
        assert app.focused is filter_box(app)
        # Fixing it clears the error.
        await pilot.press(*["backspace"] * len(" colour:red"))
        await wait_for(pilot, lambda: message not in screen_text(app), what="no error")
        assert "filter hmean>0.8" in status(app)


async def test_invalid_number_message(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("slash")
        await paste_text(pilot, "hmean>high")  # "hmean" alone is valid free text
        message = "hmean needs a number, got 'high' (at column 7)"
        await wait_for(pilot, lambda: message in box_text(app), what="the error")
        assert len(shown_paths(app)) == 10


async def test_filter_and_sort_combine_and_the_cursor_goes_to_the_top(tui_tree: Path) -> None:
    async with running(tui_tree) as (app, pilot):
        await pilot.press("end")
        await pilot.press("slash")
        await type_text(pilot, "arch:dbnet")
        await pilot.press("enter")
        main(app).sort_by("hmean")
        await pilot.pause()
        assert table(app).cursor_row == 0
        best = table(app).cursor_entry
        assert best is not None and best.hmean == 0.871
