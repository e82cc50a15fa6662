"""Data k4d-viewer makes for its users: the built-in demo model.

The demo is not shipped in the wheel (60,000 points x 50 frames would be ~46 MB): it is generated
reproducibly on first use (about 15 s on two CPU cores) into the user's cache folder, and reused from there.
``K4D_VIEWER_CACHE_DIR`` moves that folder; ``K4D_VIEWER_DEMO_POINTS`` makes a smaller demo (tests).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_cache_dir

DEMO_VERSION = 3  # bump when make_demo changes what it writes
CACHE_DIR_ENV, POINTS_ENV = "K4D_VIEWER_CACHE_DIR", "K4D_VIEWER_DEMO_POINTS"


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or user_cache_dir("k4d-viewer"))


def demo_points() -> int:
    from .make_demo import POINTS

    value = os.environ.get(POINTS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else POINTS


def demo_path() -> Path:
    """Where the demo lives (it may not exist yet)."""
    return cache_dir() / f"demo-v{DEMO_VERSION}-{demo_points()}.npz"


def demo_model() -> Path:
    """The demo model's path, making it first if needed (with a progress bar and a line saying why)."""
    path = demo_path()
    if path.is_file():
        return path
    from ..errors import InputError
    from .make_demo import write_demo

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(path.parent, f"cannot create the cache folder for the demo: {exc.strerror or exc}") from None
    print(f"k4d-viewer: making the built-in demo once (about 15 s) into {path}", file=sys.stderr)
    write_demo(path, demo_points(), progress=sys.stderr.isatty())
    return path


def __getattr__(name: str) -> Path:
    """``DEMO_MODEL``: the demo's path, made on first access."""
    if name == "DEMO_MODEL":
        return demo_model()
    raise AttributeError(name)
