"""Bounded, safe reading and atomic writing of files; text safe for a terminal."""
