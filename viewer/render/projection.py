"""Point projection and culling shared by the torch reference (reference §4 and §5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..camera import Camera
from .base import RasterSettings


@dataclass
class ProjectedPoints:
    """Points that survive culling, sorted front to back (camera z, then input order for exact ties)."""

    index: torch.Tensor   # (M,) index into the input points
    u: torch.Tensor       # (M,) pixel x of the centre (pixel centres at integer + 0.5)
    v: torch.Tensor       # (M,) pixel y, row 0 at the top
    z: torch.Tensor       # (M,) camera-space depth
    radius: torch.Tensor  # (M,) disc radius in pixels, at least 0.5 (sprites are at least 1 px wide)


def project_points(xyz: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor, camera: Camera,
                   settings: RasterSettings) -> ProjectedPoints:
    """Project, cull (alpha threshold, near/far, centre outside the image) and depth-sort points."""
    device = xyz.device
    R = torch.as_tensor(camera.R, dtype=torch.float32, device=device)
    T = torch.as_tensor(camera.T, dtype=torch.float32, device=device)
    K = camera.K
    cam = xyz.float() @ R.T + T
    x, y, z = cam.unbind(-1)
    safe_z = torch.where(z > 0, z, torch.ones_like(z))
    u = (K[0, 0] * x + K[0, 1] * y) / safe_z + K[0, 2]
    v = K[1, 1] * y / safe_z + K[1, 2]
    pixel_radius = (K[1, 1] * radius.float() / safe_z * settings.radius_scale).clamp_min(0.5)
    keep = ((alpha.float() > settings.alpha_threshold) & (z >= camera.near) & (z <= camera.far)
            & (u >= 0) & (u <= camera.width) & (v >= 0) & (v <= camera.height))
    index = torch.nonzero(keep).squeeze(1)
    order = torch.sort(z[index], stable=True).indices  # stable: equal depths keep input (draw) order
    index = index[order]
    return ProjectedPoints(index=index, u=u[index], v=v[index], z=z[index], radius=pixel_radius[index])
