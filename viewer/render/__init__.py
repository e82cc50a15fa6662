"""Rasterizer backends behind one interface, and the per-frame render pipeline."""

from __future__ import annotations

from .base import Rasterizer, RasterOutput, RasterSettings
from .torch_backend import TorchRasterizer

BACKENDS = ("torch", "gl", "cuda")

__all__ = ["BACKENDS", "RasterOutput", "RasterSettings", "Rasterizer", "TorchRasterizer", "get_backend"]


def get_backend(name: str) -> Rasterizer:
    """The rasterizer called ``name``; ValueError naming the choices if unknown."""
    if name == "torch":
        return TorchRasterizer()
    if name == "gl":
        from .gl_backend import GLRasterizer  # imports moderngl only when asked for

        return GLRasterizer()
    if name == "cuda":
        from .cuda_backend import CudaRasterizer

        return CudaRasterizer()
    raise ValueError(f"unknown backend '{name}' (available: {', '.join(BACKENDS)})")
