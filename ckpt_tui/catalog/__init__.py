"""Building the catalog: discover, describe, merge, cache and stream; filter and sort."""
