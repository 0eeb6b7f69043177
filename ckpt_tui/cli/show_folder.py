"""``show`` for a folder checkpoint: its files, the Trainer's best metric and eval history."""

from __future__ import annotations

from typing import Any

from ckpt_tui.io.text import escape_for_terminal

MAX_HISTORY_ROWS = 20
"""Eval points printed (the newest); ``--json`` has them all."""


def print_folder(console: Any, folder: dict[str, Any]) -> None:
    """Print the ``folder`` details of a folder checkpoint on the rich ``console``."""
    from rich.markup import escape
    from rich.table import Table

    safe = escape_for_terminal
    files = folder.get("files") or []
    count = folder.get("file_count", len(files))
    kind = escape(safe(str(folder.get("format"))))
    console.print(f"\n[bold]files[/] ({count}, format {kind})")
    for name, size in files:
        console.print(f"  {escape(safe(str(name)))}  [dim]{_size(size)}[/]")
    if isinstance(count, int) and count > len(files):
        console.print(f"  [dim]… and {count - len(files)} more (not kept)[/]")
    trainer = folder.get("trainer")
    if not isinstance(trainer, dict):
        return
    best = trainer.get("best_metric")
    holder = trainer.get("best_model_checkpoint")
    if best is not None or holder:
        where = escape(safe(str(holder))) if holder else "unknown checkpoint"
        mark = " [green](this checkpoint)[/]" if trainer.get("best_is_this") else ""
        console.print(f"\n[bold]best metric[/] {best} in {where}{mark}")
    history = trainer.get("eval_history") or []
    if not history:
        return
    names = sorted({key for point in history for key in point if key not in ("epoch", "step")})
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("step", "epoch", *names):
        table.add_column(escape(safe(column)), justify="right")
    for point in history[-MAX_HISTORY_ROWS:]:
        cells = [_cell(point.get(column)) for column in ("step", "epoch", *names)]
        table.add_row(*cells)
    console.print(f"\n[bold]eval history[/] ({len(history)} evaluations)")
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def _size(size: Any) -> str:
    number = float(size) if isinstance(size, (int, float)) else 0.0
    for unit in ("B", "KB", "MB", "GB"):
        if number < 1024 or unit == "GB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return f"{number:.1f} TB"
