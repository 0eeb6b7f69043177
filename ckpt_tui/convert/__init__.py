"""Conversion: plan the sidecars of checkpoints that have none, and write them."""
