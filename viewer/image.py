"""Turning render outputs into 8-bit images and writing them without leaving partial files behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .fileutil import atomic_output
from .render.base import RasterOutput

MODES = ("color", "alpha", "depth")


def to_image(output: RasterOutput, mode: str = "color", with_alpha: bool = False) -> np.ndarray:
    """An (H,W,3) or (H,W,4) uint8 image of one render mode; depth uses a perceptual colour map."""
    return (mode_image(output, mode, with_alpha).clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


def mode_image(output: RasterOutput, mode: str = "color", with_alpha: bool = False) -> torch.Tensor:
    """The (H,W,3|4) float image of one render mode, on the render's device."""
    if mode == "color":
        image = output.rgb
    elif mode == "alpha":
        image = output.alpha[..., None].expand(-1, -1, 3)
    elif mode == "depth":
        image = depth_colormap(output.depth, output.alpha > 0)
    else:
        raise ValueError(f"unknown mode '{mode}' (choose from {', '.join(MODES)})")
    if with_alpha:
        image = torch.cat([image, output.alpha[..., None]], dim=-1)
    return image


def depth_colormap(depth: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Near = bright yellow, far = dark purple over the depth range of the covered pixels; holes black."""
    if not bool(valid.any()):
        return torch.zeros(*depth.shape, 3, device=depth.device)
    lo, hi = depth[valid].min(), depth[valid].max()
    t = ((depth - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1)
    # A compact approximation of the 'magma'-like ramp: dark purple → red → yellow.
    stops = torch.tensor([[0.99, 0.99, 0.75], [0.98, 0.55, 0.24], [0.72, 0.21, 0.47], [0.23, 0.06, 0.44],
                          [0.0, 0.0, 0.02]], device=depth.device)
    position = t * (len(stops) - 1)
    low = position.floor().long().clamp(max=len(stops) - 2)
    frac = (position - low)[..., None]
    colours = stops[low] * (1 - frac) + stops[low + 1] * frac
    return colours * valid[..., None]


def save_png(image: np.ndarray, path: str | Path) -> None:
    """Write a PNG atomically (temporary file in the same folder, then rename)."""
    with atomic_output(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
