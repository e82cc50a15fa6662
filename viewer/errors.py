"""The one exception type that user-facing commands turn into a one-line message."""

from __future__ import annotations

from pathlib import Path

MAX_PART = 200  # characters of one quoted name (a key, a path) before it is shortened


class InputError(Exception):
    """Bad user input (a file, a key inside it, a flag, a camera): printed as one line, exit code 2.

    The message names what is wrong and where, e.g. ``model.npz: key 'frame.3.xyz': contains NaN``. Names that
    come from files are shown with control characters escaped, so the message stays one line.
    """

    def __init__(self, where: str | Path | None, problem: str, key: str | None = None) -> None:
        parts = []
        if where is not None:
            parts.append(printable(str(where)))
        if key is not None:
            parts.append(f"key '{printable(key)}'")
        parts.append(printable(problem, limit=None))
        super().__init__(": ".join(parts))

    def __reduce__(self) -> tuple:
        """Pickled as its message, so the error crosses from a worker process (bake decoding) unchanged."""
        return (InputError, (None, str(self)))


def printable(text: str, limit: int | None = MAX_PART) -> str:
    """``text`` with control and unprintable characters escaped, shortened to ``limit`` characters."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    if limit is not None and len(text) > limit:
        text = text[:limit - 3] + "..."
    return text
