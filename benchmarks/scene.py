"""The reference benchmark scene (design notes): a human-sized figure of N points, 60 source views, SH degree 3.

Points are sampled on the demo figure's body (assets/make_demo.py) so the depth complexity is that of a real
person; radii are 3-10 mm, opacities 0.3-1, colours and blend logits random, SH coefficients small.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from k4d_viewer.assets.make_demo import sample_surface
from k4d_viewer.camera import Camera
from k4d_viewer.model import Frame

FIGURE_HEIGHT_FRACTION = 0.83


def reference_frame(points: int = 262_144, views: int = 60, degree: int = 3, seed: int = 0,
                    radius_mm: tuple[float, float] = (3.0, 10.0), device: str = "cuda") -> Frame:
    rng = np.random.default_rng(seed)
    xyz, _, _, _, _ = sample_surface(points, rng)
    xyz = xyz[:points] if len(xyz) >= points else np.concatenate([xyz, xyz[: points - len(xyz)]])
    n = len(xyz)
    angles = np.linspace(0, 2 * math.pi, views, endpoint=False)
    cents = np.stack([3 * np.sin(angles), 1.0 + 0.6 * (np.arange(views) % 3) / 2, 3 * np.cos(angles)], 1)
    rgb = rng.uniform(0, 1, size=(views, n, 3))
    logits = rng.normal(size=(views, n, 1)) * 2
    return Frame(
        xyz=torch.tensor(xyz, dtype=torch.float16, device=device),
        radius=torch.tensor(rng.uniform(*radius_mm, n) / 1000, dtype=torch.float16, device=device),
        alpha=torch.tensor(rng.uniform(0.3, 1.0, n), dtype=torch.float16, device=device),
        sh=torch.tensor(rng.normal(size=(n, 3, (degree + 1) ** 2)) * 0.1, dtype=torch.float16, device=device),
        rgbw=torch.tensor(np.concatenate([rgb, logits], -1), dtype=torch.float16, device=device),
        cents=torch.tensor(cents, dtype=torch.float16, device=device),
    )


def frame_bounds(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    xyz = frame.xyz.float()
    return xyz.min(0).values.cpu().numpy(), xyz.max(0).values.cpu().numpy()


def reference_camera(width: int, height: int, bounds: tuple[np.ndarray, np.ndarray], yaw_deg: float = 0.0) -> Camera:
    """A camera in front of the figure, the figure filling ~83% of the image height."""
    lo, hi = bounds
    centre, tall = (lo + hi) / 2, float(hi[1] - lo[1])
    distance = 3.0
    fov = 2 * math.degrees(math.atan(tall / FIGURE_HEIGHT_FRACTION / 2 / distance))
    yaw = math.radians(yaw_deg)
    eye = centre + distance * np.array([math.sin(yaw), 0.0, math.cos(yaw)])
    return Camera.look_at(eye, centre, np.array([0.0, 1.0, 0.0]), width, height, fov_y_deg=fov, near=0.1,
                          far=20.0)
