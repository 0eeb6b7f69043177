"""The tiers that describe a checkpoint (sidecar, config, path, checkpoint) and their merge."""
