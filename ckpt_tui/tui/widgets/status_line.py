"""The status line: shown/total, sidecar/inferred, issues, marks, the sort, the filter, progress."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from ckpt_tui.model.entry import CheckpointCatalogEntry
from ckpt_tui.tui.formatting import ellipsize, safe


@dataclass(frozen=True)
class Status:
    """What the status line reports."""

    shown: int = 0
    """Rows after the filter."""
    total: int = 0
    """All entries."""
    sidecar: int = 0
    """Entries answered by a sidecar."""
    inferred: int = 0
    """Entries inferred from configs, paths or the checkpoint."""
    issues: int = 0
    """Entries with at least one issue."""
    security: int = 0
    """Entries with a security finding (an unsafe verdict, or a security issue)."""
    marked: int = 0
    """Marked rows."""
    sort: str = "path ↑"
    """The sort, e.g. ``hmean ↓``."""
    filter: str = ""
    """The applied filter expression."""

    @classmethod
    def of(
        cls,
        entries: Iterable[CheckpointCatalogEntry],
        shown: int,
        marked: int,
        sort: tuple[str, bool],
        filter: str,
        *,
        sort_hidden: bool = False,
    ) -> Status:
        """The counts of ``entries`` with the view's state (``sort``: field, descending;
        ``sort_hidden``: its column is not on the table, so only this line shows the sort)."""
        total = sidecar = issues = security = 0
        # One plain loop: this runs over every entry at each refresh of a 100,000-row catalog.
        for entry in entries:
            total += 1
            if entry.source == "sidecar":
                sidecar += 1
            if entry.safety == "unsafe":
                security += 1
            if not entry.issues:
                continue
            # Info notes ("not inspected") are not problems; errors and warnings are.
            problem = found_security = False
            for issue in entry.issues:
                if issue.severity != "info":
                    problem = True
                if issue.code.startswith("security"):
                    found_security = True
            issues += problem
            security += found_security and entry.safety != "unsafe"
        return cls(
            shown=shown,
            total=total,
            sidecar=sidecar,
            inferred=total - sidecar,
            issues=issues,
            security=security,
            marked=marked,
            sort=f"{sort[0]} {'↓' if sort[1] else '↑'}"
            + (" (hidden column)" if sort_hidden else ""),
            filter=filter,
        )


class StatusLine(Horizontal):
    """One line of counts plus a progress bar while checkpoints are being inspected, and the
    progress of the background verification while it runs."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; }
    StatusLine > #status-text { width: 1fr; height: 1; }
    StatusLine > ProgressBar { width: 28; height: 1; display: none; }
    StatusLine.-loading > ProgressBar { display: block; }
    StatusLine ProgressBar > Bar { width: 16; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._status = Status()
        self._verifying: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")
        yield ProgressBar(show_eta=False, id="status-progress")

    def show(self, status: Status) -> None:
        """Display ``status``."""
        self._status = status
        # Most useful first: a narrow terminal cuts the end of the line.
        text = Text()
        text.append(f"{status.shown}/{status.total} shown", style="bold")
        if self._verifying is not None:
            done, total = self._verifying
            text.append(f" │ verifying {done:,}/{total:,}", style="bold")
        if status.security:
            text.append(" │ ")
            text.append(f" ☠ SECURITY {status.security} ", style="bold reverse red")
        if status.filter:
            text.append(f" │ filter {ellipsize(safe(status.filter, 120), 40)}")
        text.append(f" │ sort {status.sort}")
        if status.marked:
            text.append(f" │ {status.marked} marked", style="bold")
        text.append(f" │ {status.sidecar} sidecar · {status.inferred} inferred")
        if status.issues:
            text.append(f" │ {status.issues} with issues", style="yellow")
        self.query_one("#status-text", Static).update(text)

    def verifying(self, done: int, total: int) -> None:
        """Show the background verification's progress; ``total`` 0 removes it."""
        self._verifying = (done, total) if total else None
        if self.is_mounted:
            self.show(self._status)

    def progress(self, done: int, total: int, *, loading: bool) -> None:
        """Show the inspection progress bar while ``loading``; hide it afterwards."""
        self.set_class(loading, "-loading")
        bar = self.query_one(ProgressBar)
        bar.update(total=max(total, 1), progress=done)
