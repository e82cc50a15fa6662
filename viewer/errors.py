"""The one exception type that user-facing commands turn into a one-line message."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad user input (a file, a key inside it, a flag, a camera): printed as one line, exit code 2.

    The message names what is wrong and where, e.g. ``model.npz: key 'frame.3.xyz': contains NaN``.
    """

    def __init__(self, where: str | Path | None, problem: str, key: str | None = None) -> None:
        parts = []
        if where is not None:
            parts.append(str(where))
        if key is not None:
            parts.append(f"key '{key}'")
        parts.append(problem)
        super().__init__(": ".join(parts))
