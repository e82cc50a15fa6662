"""See-through metric for captured point clouds, and the generated clouds it is measured on.

``see_through`` is the fraction of pixels inside the subject's filled silhouette whose accumulated alpha is below
0.5 (background showing through the body). The silhouette is the alpha > 0.02 mask with its enclosed holes
filled, eroded by 3 pixels so the soft rim does not count.

The generated clouds are a human-sized capsule figure (the demo's body, 1.7 m) sampled as captures are: a regular
voxel grid (8i/MPEG at octree depth ~9), a grid twice as coarse along the vertical axis (slices that line up
into streaks), random surface samples, uneven density (a dense front, a sparse back) and a sparse random cloud
with isolated flying points. Used by tests/test_capture_quality.py and benchmarks/bench_see_through.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import ndimage

SIZES = {"1080p": (1920, 1080), "4k": (3840, 2160)}


def see_through(alpha: np.ndarray) -> tuple[float, np.ndarray]:
    """(fraction of see-through pixels inside the filled silhouette, the silhouette mask).

    The silhouette is alpha > 0.02 with its enclosed holes filled, eroded by 3 pixels (the soft rim does not
    count). Background enclosed by the body that is wide (a component of the hole mask whose inscribed radius
    exceeds 0.5% of the silhouette's height, at least 4 px: between an arm and the torso) is a real gap in the
    subject, not see-through, and is left out of the silhouette.
    """
    filled = ndimage.binary_fill_holes(alpha > 0.02)
    if not filled.any():
        return 1.0, filled
    holes = filled & (alpha < 0.5)
    labels, count = ndimage.label(holes)
    if count:
        rows = np.nonzero(filled.any(axis=1))[0]
        gap = max(4.0, 0.005 * (rows[-1] - rows[0] + 1))
        widest = ndimage.maximum(ndimage.distance_transform_edt(holes), labels, index=np.arange(1, count + 1))
        filled &= ~np.isin(labels, 1 + np.nonzero(np.asarray(widest) > gap)[0])
    inside = ndimage.binary_erosion(filled, iterations=3)
    if not inside.any():
        return 1.0, inside
    return float((alpha[inside] < 0.5).mean()), inside


def visible_colour(xyz: np.ndarray, rgb: np.ndarray, radius: np.ndarray, camera, depth: np.ndarray,
                   inside: np.ndarray) -> np.ndarray:
    """Mean colour of the points the camera sees inside the silhouette (centre in a silhouette pixel and within
    1.5 radii of the rendered depth there: the surface in front, not the back of the subject), each weighted by
    its disc's area on screen, as the pixels weigh it."""
    cam = xyz @ camera.R.T + camera.T
    z = cam[:, 2]
    ok = z > camera.near
    u = np.floor(camera.K[0, 0] * cam[:, 0] / np.where(ok, z, 1) + camera.K[0, 2]).astype(np.int64)
    v = np.floor(camera.K[1, 1] * cam[:, 1] / np.where(ok, z, 1) + camera.K[1, 2]).astype(np.int64)
    ok &= (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height)
    u, v = np.where(ok, u, 0), np.where(ok, v, 0)
    ok &= inside[v, u] & (z <= depth[v, u] + 1.5 * radius)
    if not ok.any():
        return np.full(3, np.nan)
    weight = (radius[ok] / z[ok]) ** 2
    return (rgb[ok] * weight[:, None]).sum(0) / weight.sum()


def figure_surface(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform random samples of the capsule figure's surface (metres, +y up, facing +z) and their colours."""
    from k4d_viewer.assets.make_demo import PARTS

    areas = np.array([2 * math.pi * p.radius * np.linalg.norm(p.b - p.a) + 4 * math.pi * p.radius ** 2
                      for p in PARTS])
    part = rng.choice(len(PARTS), size=n, p=areas / areas.sum())
    xyz = np.empty((n, 3))
    for index, p in enumerate(PARTS):
        sel = np.nonzero(part == index)[0]
        axis = p.b - p.a
        length = np.linalg.norm(axis)
        axis = axis / length
        # uniform on a capsule: a point on the sphere of radius r, pushed along the axis by s in [0, length]
        direction = rng.normal(size=(len(sel), 3))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        s = rng.random(len(sel)) * length
        cap = rng.random(len(sel)) < (4 * math.pi * p.radius ** 2) / (2 * math.pi * p.radius * length
                                                                      + 4 * math.pi * p.radius ** 2)
        along = direction @ axis
        side = direction - along[:, None] * axis
        side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-9)
        body = p.a + s[:, None] * axis + p.radius * side
        end = np.where(along[:, None] > 0, p.b, p.a) + p.radius * direction
        xyz[sel] = np.where(cap[:, None], end, body)
    colour = 0.35 + 0.5 * (np.floor(xyz[:, 1] / 0.05) % 2)[:, None] * np.array([0.8, 0.2, 0.2]) \
        + 0.1 * np.array([0.2, 0.5, 0.9]) * (xyz[:, 2:3] > 0)
    return xyz, np.clip(colour, 0, 1)


def generated_cloud(kind: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(xyz in metres, rgb in 0..1) of one generated capture: 'voxel', 'anisotropic', 'random', 'uneven', 'sparse'."""
    rng = np.random.default_rng(seed)
    if kind in ("voxel", "anisotropic"):
        cell = np.array([3.5e-3, 7e-3, 3.5e-3]) if kind == "anisotropic" else np.full(3, 3.5e-3)
        xyz, rgb = figure_surface(3_000_000, rng)
        keys = np.floor(xyz / cell).astype(np.int64)
        _, first = np.unique(keys, axis=0, return_index=True)
        return (keys[first] + 0.5) * cell, rgb[first]
    if kind == "random":
        return figure_surface(250_000, rng)
    if kind == "uneven":
        xyz, rgb = figure_surface(400_000, rng)
        keep = (xyz[:, 2] > 0) | (rng.random(len(xyz)) < 0.15)  # the back is captured 7x more sparsely
        return xyz[keep], rgb[keep]
    if kind == "sparse":
        xyz, rgb = figure_surface(40_000, rng)
        flying = rng.normal(size=(40, 3)) * 0.4 + np.array([0, 1.0, 0.3])  # stray depth-camera pixels
        return np.vstack([xyz, flying]), np.vstack([rgb, np.full((40, 3), 0.5)])
    raise ValueError(kind)


def write_ply(path: Path, xyz: np.ndarray, rgb: np.ndarray) -> Path:
    """A binary little-endian PLY with float x, y, z and uchar colours, as 8i/MPEG sequences are stored."""
    from plyfile import PlyData, PlyElement

    vertex = np.empty(len(xyz), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"),
                                       ("blue", "u1")])
    for axis, name in enumerate("xyz"):
        vertex[name] = xyz[:, axis]
    for channel, name in enumerate(("red", "green", "blue")):
        vertex[name] = np.round(rgb[:, channel] * 255).astype(np.uint8)
    PlyData([PlyElement.describe(vertex, "vertex")]).write(str(path))
    return path


def views(model, frame, size: tuple[int, int]) -> dict:
    """The default framing and a close-up of the upper body from 1 m, as cameras of ``size``."""
    from k4d_viewer.camera import UP_AXES, Camera, default_camera

    info = model.info
    _, _, toward = info.framing(frame)
    xyz = frame.xyz.double().numpy()
    lo, hi = np.percentile(xyz, 0.5, axis=0), np.percentile(xyz, 99.5, axis=0)  # stray points aside
    width, height = size
    home = default_camera(lo, hi, info.up, width, height, toward=toward)
    up = np.array(UP_AXES[info.up], float)
    centre = (np.asarray(lo) + np.asarray(hi)) / 2
    height_axis = float(np.dot(np.asarray(hi) - np.asarray(lo), np.abs(up)))
    chest = centre + up * 0.25 * height_axis  # three quarters of the way up
    forward = home.R[2] - up * np.dot(home.R[2], up)
    forward /= np.linalg.norm(forward)
    eye = chest - forward * 1.0
    close = Camera.look_at(eye, chest, up, width, height, fov_y_deg=40.0, near=0.05, far=100.0)
    return {"default": home, "close-up": close}
