"""Access to an OpenGL context in tests: skip where none exists, except in CI where GL must work."""

from __future__ import annotations

import os

import pytest


def gl_rasterizer():
    from k4d_viewer.render.base import BackendUnavailable
    from k4d_viewer.render.gl_backend import GLRasterizer

    try:
        return GLRasterizer()
    except (BackendUnavailable, ImportError) as exc:
        if os.environ.get("CI"):
            raise  # CI installs Mesa: a missing context there is a failure, not a skip
        pytest.skip(f"no OpenGL context: {exc}")
