"""Widgets of the TUI: the catalog table, the detail pane, the filter box and the status line."""
