"""Batch rendering: job files, segments of path frames rendered in parallel (Ray or local processes),
a resumable manifest, and joining video segments without re-encoding."""
