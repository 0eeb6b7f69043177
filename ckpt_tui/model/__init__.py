"""The catalog's data: entries, issues, and the sidecar schema."""
