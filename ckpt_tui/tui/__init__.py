"""The Textual TUI. It holds no business logic: catalog, filtering and sorting live in core.

``ckpt_tui.tui.app.make_app`` builds the app for the CLI, the tests and the screenshot script.
"""
