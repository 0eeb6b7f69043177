"""``ckpt-tui show CKPT [--json]``: everything known about one checkpoint.

The entry (every field with where it came from, and its issues) plus what the safe reader finds
in the file: hyper-parameters, a state-dict summary, the ModelCheckpoint state and the unsafe
globals. The safety verdict is always the file's own, read now, even when a sidecar or the cache
described the checkpoint. Nothing in the file runs.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from pathlib import Path
from typing import Any

from ckpt_tui.cli.show_folder import print_folder
from ckpt_tui.io.text import escape_for_terminal, escape_surrogates_json
from ckpt_tui.model.entry import CheckpointCatalogEntry

_ROOT_LEVELS = 3
"""By default the catalog root is this many folders above the checkpoint (the run's parent for
``run/checkpoints/x.ckpt``), so path words of the run folder count."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``show``'s arguments."""
    parser.add_argument("checkpoint", type=Path, help="the checkpoint file")
    parser.add_argument("--json", action="store_true", help="print the entry and details as JSON")
    parser.add_argument("--root", type=Path, help="catalog root for relative paths (default: auto)")
    parser.add_argument("--no-cache", action="store_true", help="bypass the catalog cache")


def default_root(checkpoint: Path) -> Path:
    """A few folders above the checkpoint, but never a top-level folder such as ``/`` or ``/tmp``
    (the walk under the root must stay small)."""
    root = checkpoint.parent
    for _ in range(_ROOT_LEVELS - 1):
        if len(root.parent.parts) < 3:
            break
        root = root.parent
    return root


def describe_checkpoint(
    checkpoint: Path, root: Path | None = None, *, use_cache: bool = True
) -> CheckpointCatalogEntry | None:
    """The catalog entry of one checkpoint, built with the same tiers as ``list``."""
    from ckpt_tui.catalog.api import CatalogState, iter_catalog

    path = Path(os.path.abspath(checkpoint))
    root = Path(os.path.abspath(root)) if root else default_root(path)
    state = CatalogState()
    for update in iter_catalog(root, use_cache=use_cache, patterns=[glob.escape(path.name)]):
        state.apply(update)
    return next((e for e in state if os.path.abspath(e.abs_path) == str(path)), None)


def run(args: argparse.Namespace) -> int:
    """Print the entry and the file's details."""

    checkpoint: Path = args.checkpoint
    if not checkpoint.is_file() and not checkpoint.is_dir():
        print(f"ckpt-tui show: not a file: {escape_for_terminal(str(checkpoint))}", file=sys.stderr)
        return 2
    if args.root is not None and not args.root.is_dir():
        print(
            f"ckpt-tui show: not a folder: {escape_for_terminal(str(args.root))}", file=sys.stderr
        )
        return 2
    entry = describe_checkpoint(checkpoint, args.root, use_cache=not args.no_cache)
    if entry is None:
        what = (
            "not a checkpoint folder (Trainer checkpoint-N, save_pretrained, DCP, DeepSpeed)"
            if checkpoint.is_dir()
            else "not a checkpoint name (*.ckpt *.pt *.pth *.pth.tar *.bin *.safetensors *.pt2)"
        )
        print(f"ckpt-tui show: {what}", file=sys.stderr)
        return 2
    entry, fresh = read_file(entry)
    # The file's details read now, over what the other tiers reported (a link's target, ...).
    details = {**entry.details, **fresh}
    remote = getattr(args, "remote_tree", None)
    if remote is not None:  # a remote root: its URL, not the local index's path
        entry.abs_path = remote.url_of(entry.abs_path)
    if not args.no_cache:
        from ckpt_tui.catalog.verify import remember_verdicts

        remember_verdicts(
            os.path.abspath(args.root or default_root(Path(os.path.abspath(checkpoint)))), [entry]
        )
    if args.json:
        data = {**entry.to_json(), "details": details}
        print(escape_surrogates_json(json.dumps(data, indent=2, ensure_ascii=False, default=repr)))
    else:
        _print_rich(entry, details)
    return 1 if entry.has_errors else 0


def read_file(entry: CheckpointCatalogEntry) -> tuple[CheckpointCatalogEntry, dict[str, Any]]:
    """``entry`` with the verdict of its file, read now, and the file's details (one read)."""
    from ckpt_tui.catalog.verify import with_verdict
    from ckpt_tui.reader import inspect_checkpoint
    from ckpt_tui.sources.checkpoint import checkpoint_tier_or_issue, tier_from_inspection
    from ckpt_tui.sources.details import inspection_details

    details: dict[str, Any] = {}
    if os.path.isdir(entry.abs_path):
        from ckpt_tui.sources.folder import folder_tier

        folder = checkpoint_tier_or_issue(entry.abs_path, folder_tier)
        return with_verdict(entry, folder), folder.details

    def tier(path: str) -> Any:
        inspection = inspect_checkpoint(Path(path))
        details.update(inspection_details(inspection, hparams_limit=None))
        return tier_from_inspection(inspection, details=False)

    return with_verdict(entry, checkpoint_tier_or_issue(entry.abs_path, tier)), details


def _print_rich(entry: CheckpointCatalogEntry, details: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ckpt_tui.cli.console import stdout_console

    if sys.stdout.isatty():
        console = stdout_console(highlight=False)
    else:  # piped: long lines stay whole (a program reads them), never hard-wrapped at 80
        console = stdout_console(highlight=False, soft_wrap=True, width=10_000, height=25)
    safe = escape_for_terminal

    console.print(f"[bold]{escape(safe(entry.checkpoint_path))}[/]")
    console.print(escape(safe(entry.display_name)))
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("field")
    table.add_column("value")
    table.add_column("from", style="dim")
    data = entry.to_dict()
    fields = [
        "format", "exp_name", "architecture", "backbone", "decoder", "head", "loss", "epoch",
        "global_step", "max_epochs", "hmean", "precision", "recall", "validation_loss",
        "additional_metrics", "monitor", "monitor_mode", "monitor_value", "save_top_k",
        "save_last", "created_at", "size_bytes", "source", "sidecar_path", "config_path",
        "hydra_config_path", "wandb_run_id",
    ]  # fmt: skip
    for name in fields:
        value = data.get(name)
        shown = "—" if value is None or value == {} else safe(str(value))[:200]
        table.add_row(name, escape(shown), escape(safe(entry.provenance.get(name, ""))))
    verdict = {"safe": "green", "unsafe": "bold red", "code": "bold magenta"}
    colour = verdict.get(entry.safety, "yellow")
    where = escape(safe(entry.provenance.get("safety", "")))
    table.add_row("safety", f"[{colour}]{entry.safety}[/]", where)
    console.print(table)
    if entry.unsafe_globals:
        console.print(
            "\n[bold red]Unsafe globals[/] (outside the allowlist: loading the file runs them)"
        )
        for name in entry.unsafe_globals:
            console.print(f"  [red]{escape(safe(name))}[/]")
    if entry.issues:
        console.print("\n[bold]Issues[/]")
        colours = {"error": "red", "warning": "yellow", "info": "blue"}
        for issue in entry.issues:
            if issue.code.startswith("security"):  # never shown as a mere error or warning
                word = "[bold reverse red]SECURITY[/]"
            else:
                word = f"[{colours.get(issue.severity, 'white')}]{issue.severity}[/]"
            console.print(f"  {word} {escape(safe(issue.message))}")
    if "folder" in details:
        print_folder(console, details["folder"])
    sections = (
        "state_dict", "model_checkpoint", "optimizer", "cleval_metrics", "unsafe_globals",
        "archive_extra", "archive_contents", "common_keys", "link_to",
        "hyper_parameters", "datamodule_hyper_parameters",
    )  # fmt: skip
    for section in sections:
        if section in details:
            text = json.dumps(details[section], indent=2, ensure_ascii=False, default=repr)
            if len(text) > 20_000:
                text = text[:20_000] + "\n… (cut: use --json for everything)"
            console.print(f"\n[bold]{section.replace('_', ' ')}[/]")
            console.print(escape(safe(text).replace("\\n", "\n")))
