"""The catalog's columns: widths from the data, the least useful dropped first, ``--columns``."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ckpt_tui.catalog.columns import (
    COLUMNS,
    COLUMNS_BY_KEY,
    data_widths,
    fit_columns,
    header_label,
    next_sort_field,
    parse_columns,
    render_cell,
)
from ckpt_tui.model.entry import CheckpointCatalogEntry

NOW = datetime(2025, 11, 1, tzinfo=timezone.utc)


def entry(path: str, **fields: object) -> CheckpointCatalogEntry:
    return CheckpointCatalogEntry(checkpoint_path=path, exp_name=path.split("/")[0], **fields)  # type: ignore[arg-type]


ROWS = [
    entry("run_a/checkpoints/epoch=9-step=520.ckpt", epoch=9, hmean=0.8, size_bytes=10**8),
    entry("run_a/checkpoints/last.ckpt", epoch=9, hmean=0.8, architecture="dbnetpp"),
]


def test_widths_come_from_the_data_within_bounds() -> None:
    widths = data_widths(COLUMNS, ROWS, NOW)
    assert widths["file"] == len("epoch=9-step=520.ckpt")
    assert widths["experiment"] == len("Experiment") + 1  # the header and a sort arrow
    assert widths["arch"] == len("dbnetpp")
    long = [entry("x" * 300 + "/a.ckpt")]
    assert data_widths(COLUMNS, long, NOW)["experiment"] == COLUMNS_BY_KEY["experiment"].max_width


def test_everything_fits_when_there_is_room() -> None:
    widths = data_widths(COLUMNS, ROWS, NOW)
    layout = fit_columns(COLUMNS, widths, 400)
    assert [column.key for column, _ in layout] == [column.key for column in COLUMNS]
    assert all(size == widths[column.key] for column, size in layout)


@pytest.mark.parametrize("available", [40, 60, 80, 100, 120])
def test_narrow_widths_drop_the_least_useful_columns_first(available: int) -> None:
    widths = data_widths(COLUMNS, ROWS, NOW)
    layout = fit_columns(COLUMNS, widths, available)
    kept = [column for column, _ in layout]
    assert sum(size for _, size in layout) + len(layout) - 1 <= available
    assert {"experiment", "file"} <= {column.key for column in kept}  # never dropped
    dropped = [column for column in COLUMNS if column not in kept]
    if dropped:  # every dropped column is of less use than every kept one (priority 0 aside)
        assert min(c.priority for c in dropped) >= max(c.priority for c in kept)
    assert [c.key for c in kept] == [c.key for c in COLUMNS if c in kept]  # table order


def test_chosen_columns_are_never_dropped() -> None:
    chosen = [COLUMNS_BY_KEY[key] for key in ("file", "source", "size")]
    layout = fit_columns(chosen, data_widths(chosen, ROWS, NOW), 10, drop=False)
    assert [column.key for column, _ in layout] == ["file", "source", "size"]


def test_header_keeps_the_label_whole_with_its_arrow() -> None:
    epoch = COLUMNS_BY_KEY["epoch"]
    assert header_label(epoch, epoch.narrowest, "↓") == "Epoch↓"
    assert render_cell(epoch, None, 6) == "     —"  # unknown is a dash, right-aligned
    assert render_cell(COLUMNS_BY_KEY["file"], "last.ckpt", 12) == "last.ckpt   "


def test_cells_escape_names_from_files() -> None:
    hostile = entry("run/\x1b[31mred\tx.ckpt")
    cell = COLUMNS_BY_KEY["file"].cell(hostile, NOW)
    assert cell == "\\x1b[31mred\\tx.ckpt"


def test_sort_cycles_through_every_column_and_back_to_the_path_order() -> None:
    field, seen = "path", []
    for _ in range(len(COLUMNS) + 1):
        field = next_sort_field(field)
        seen.append(field)
    assert seen == [*COLUMNS_BY_KEY, "path"]


def test_columns_setting() -> None:
    assert parse_columns("File, hmean,file,epoch") == ("file", "hmean", "epoch")
    with pytest.raises(ValueError, match="choose from experiment, file"):
        parse_columns("file,bogus")
