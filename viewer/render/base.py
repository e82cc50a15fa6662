"""The small interface every rasterizer backend implements, and the settings and outputs they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from ..camera import Camera


class BackendUnavailable(RuntimeError):
    """A backend cannot run here (no GPU, no GL context, a missing package); the message says what to do."""


@dataclass(frozen=True)
class RasterSettings:
    """Rasterization rules of reference §4 that a user can change."""

    layers: int = 11                 # K = pts_per_pix: at most this many points composited per pixel
    radius_scale: float = 1.0        # radii_mult (4K4D uses 0.85 in solid mode)
    alpha_threshold: float = 1e-4    # points with alpha <= this are dropped before they take a layer
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    solid: bool = False              # one layer, nearest point wins, colour not premultiplied


@dataclass
class RasterOutput:
    """Images with row 0 at the top: rgb (H,W,3) premultiplied and composited over the background,
    alpha (H,W) = 1 − Π(1 − α), depth (H,W) = camera z of the last composited layer (far where empty)."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor


def output_from_accum(accum: torch.Tensor, depth: torch.Tensor, background: tuple[float, float, float],
                      far: float) -> RasterOutput:
    """The fast backends' layout (accum: premultiplied rgb + transmittance; depth: last layer's z, with 0 or
    >= 1e29 where empty), rows top first, as a RasterOutput with the background composited."""
    transmittance = accum[..., 3]
    bg = torch.tensor(background, dtype=torch.float32, device=accum.device)
    empty = (depth <= 0) | (depth >= 1e29)
    return RasterOutput(rgb=accum[..., :3] + bg * transmittance[..., None], alpha=1 - transmittance,
                        depth=torch.where(empty, torch.full_like(depth, far), depth))


class Rasterizer(Protocol):
    """Turns coloured points into images for one camera."""

    name: str

    def rasterize(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                  camera: Camera, settings: RasterSettings) -> RasterOutput:
        """xyz (N,3), rgb (N,3) in [0,1], radius (N,) world units, alpha (N,) in [0,1]."""
