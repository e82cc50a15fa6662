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


ROOM_DISCS_PER_PIXEL = 8.0  # mean overlap of the room's discs per pixel (the issue asks for 4-12)


def room_points(cameras: list[Camera], points: int, seed: int = 0, device: str = "cuda",
                half_size: tuple[float, float, float] = (3.0, 2.0, 3.5)) -> tuple[torch.Tensor, torch.Tensor]:
    """A box-shaped room around the figure that covers the whole frame of every camera in ``cameras``:
    (xyz (P,3), radius (P,)).

    Each point is placed where the ray through a uniformly random pixel of a randomly chosen camera hits the
    room's inner walls (±5 cm of roughness), so every pixel is covered evenly; radii make each disc ~3 pixels
    wide, so about ROOM_DISCS_PER_PIXEL discs overlap per pixel (the full-scene benchmark case).
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    which = torch.randint(len(cameras), (points,), generator=gen)
    xyz = torch.empty(points, 3, dtype=torch.float64)
    radius = torch.empty(points, dtype=torch.float64)
    centre = torch.tensor([0.0, half_size[1] - 1.0, 0.0], dtype=torch.float64)
    half = torch.tensor(half_size, dtype=torch.float64)
    for index, camera in enumerate(cameras):
        chosen = (which == index).nonzero()[:, 0]
        count = len(chosen)
        u = torch.rand(count, generator=gen, dtype=torch.float64) * camera.width
        v = torch.rand(count, generator=gen, dtype=torch.float64) * camera.height
        K, R, T = (torch.as_tensor(np.asarray(m), dtype=torch.float64) for m in (camera.K, camera.R, camera.T))
        fy = float(K[1, 1])
        cam_dirs = torch.stack([(u - K[0, 2] - K[0, 1] * (v - K[1, 2]) / fy) / K[0, 0], (v - K[1, 2]) / fy,
                                torch.ones_like(u)], 1)
        dirs = cam_dirs @ R  # camera → world rotation (R is world → camera)
        eye = -(R.T @ T)
        # the eye is inside the box: the ray leaves it at the nearest far-side plane
        bound = torch.where(dirs > 0, centre + half, centre - half)
        t = torch.where(dirs.abs() > 1e-12, (bound - eye) / dirs, torch.full_like(dirs, float("inf"))).amin(1)
        # rough walls (furniture, clutter): up to 10 cm along the ray, so fp16 positions rarely tie in depth
        t = t - torch.rand(count, generator=gen, dtype=torch.float64) * 0.1
        xyz[chosen] = eye + dirs * t[:, None]
        pixel_radius = math.sqrt(ROOM_DISCS_PER_PIXEL * camera.width * camera.height / (math.pi * points))
        radius[chosen] = pixel_radius * t / fy  # t is the camera z: cam_dirs has z = 1
    return xyz.to(device=device, dtype=torch.float32), radius.to(device=device, dtype=torch.float32)


def swing_cameras(width: int, height: int, bounds: tuple[np.ndarray, np.ndarray]) -> list[Camera]:
    """The benchmark's cameras: reference_camera swung from −10° to +9° in 1° steps."""
    return [reference_camera(width, height, bounds, yaw_deg=yaw) for yaw in range(-10, 10)]


def full_scene_frame(width: int, height: int, figure_points: int = 262_144, room: int = 2_000_000, views: int = 60,
                     seed: int = 0, device: str = "cuda") -> Frame:
    """The reference figure inside a room that covers the whole frame of every swing camera at this size."""
    figure = reference_frame(figure_points, views, seed=seed, device=device)
    xyz, radius = room_points(swing_cameras(width, height, frame_bounds(figure)), room, seed=seed + 1, device=device)
    gen = torch.Generator(device=device).manual_seed(seed + 2)
    alpha = torch.rand(room, generator=gen, device=device) * 0.7 + 0.3
    sh = torch.randn(room, 3, figure.sh.shape[-1], generator=gen, device=device) * 0.1
    rgbw = torch.rand(views, room, 4, generator=gen, device=device)
    rgbw[..., 3] = torch.randn(views, room, generator=gen, device=device) * 2
    half = torch.float16
    return Frame(xyz=torch.cat([figure.xyz, xyz.to(half)]), radius=torch.cat([figure.radius, radius.to(half)]),
                 alpha=torch.cat([figure.alpha, alpha.to(half)]), sh=torch.cat([figure.sh, sh.to(half)]),
                 rgbw=torch.cat([figure.rgbw, rgbw.to(half)], 1), cents=figure.cents)


# The benchmark cases: name -> (width, height, figure points, room points).
CASES = {
    "figure-1080p": (1920, 1080, 262_144, 0),
    "figure-4k": (3840, 2160, 262_144, 0),
    "full-scene-4k": (3840, 2160, 262_144, 2_000_000),
    "1m-8k": (7680, 4320, 1_048_576, 0),
}


def case_frame(name: str, device: str = "cuda", yaw_deg: float = 0.0) -> tuple[Frame, Camera]:
    """The frame of benchmark case ``name`` and its camera at ``yaw_deg`` (see CASES)."""
    width, height, figure, room = CASES[name]
    frame = (full_scene_frame(width, height, figure, room, device=device) if room
             else reference_frame(figure, device=device))
    bounds = frame_bounds(Frame(xyz=frame.xyz[:figure], radius=frame.radius[:figure], alpha=frame.alpha[:figure]))
    return frame, reference_camera(width, height, bounds, yaw_deg=yaw_deg)


def device_slug(name: str) -> str:
    """A results file's name for a GPU: h100, h200, or the name in lower case with dashes."""
    return "h100" if "H100" in name else "h200" if "H200" in name else name.lower().replace(" ", "-")
