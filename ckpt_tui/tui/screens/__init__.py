"""Screens of the TUI: the main browser and the help screen."""
