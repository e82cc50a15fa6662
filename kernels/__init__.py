"""GPU kernels (Triton / CUDA) and shaders used by the fast rasterizer backends."""

from __future__ import annotations

from pathlib import Path

SHADER_DIR = Path(__file__).with_name("shaders")


def shader_source(name: str) -> str:
    """The text of ``shaders/<name>`` (e.g. ``peel.vert``)."""
    return (SHADER_DIR / name).read_text()
