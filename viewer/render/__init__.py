"""Rasterizer backends behind one contract (render to a DeviceImage, read back on request), and the per-frame
render pipeline."""

from __future__ import annotations

from .base import BackendUnavailable, DeviceImage, Rasterizer, RasterOutput, RasterSettings
from .torch_backend import TorchRasterizer

BACKENDS = ("torch", "gl", "cuda")

__all__ = ["BACKENDS", "BackendUnavailable", "DeviceImage", "RasterOutput", "RasterSettings", "Rasterizer",
           "TorchRasterizer", "get_backend"]


def get_backend(name: str, gl_context=None) -> Rasterizer:
    """The backend called ``name`` (the gl one on ``gl_context`` if given, else a headless EGL context);
    BackendUnavailable where it cannot run here, ValueError naming the choices if unknown."""
    if name == "torch":
        return TorchRasterizer()
    if name == "gl":
        try:
            from .gl_backend import GLRasterizer  # imports moderngl only when asked for
        except ImportError as exc:
            raise BackendUnavailable(f"the gl backend needs moderngl ({exc})") from None
        return GLRasterizer(gl_context)
    if name == "cuda":
        from .cuda_backend import CudaRasterizer

        return CudaRasterizer()
    raise ValueError(f"unknown backend '{name}' (available: {', '.join(BACKENDS)})")
