"""Sidecar files: names, reading, writing and validation."""
