"""Make the built-in demo model reproducibly (fixed seed, no inputs).

A stylised figure (head, striped shirt, gold belt, jeans, shoes) waves and sways for a few seconds. Its colour
uses the full 4K4D model: a ring of virtual source cameras "photographs" the lit figure, so every point stores
per-view colours (with the view-dependent highlight each camera saw) and blend logits that favour the cameras
facing it; a degree-3 SH residual adds a sheen on the belt and shoes that changes as the viewer moves.

The viewer makes it on first use into the user's cache folder (see ``assets/__init__.py``); this script makes
one anywhere:

    python assets/make_demo.py -o demo.npz [--points N]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from k4d_viewer.camera import Camera
from k4d_viewer.colour import sh_basis
from k4d_viewer.model import save_canonical
from tqdm import tqdm

FPS = 20
SECONDS = 2.5
N_VIEWS = 8
RING_RADIUS = 2.6
SEED = 4
POINTS = 60_000        # dense enough that no disc shows at the default framing, even at 4K
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))
RADIUS_FACTOR = 1.3    # disc radius over the mean point spacing: the 4K4D falloff closes the surface


@dataclass
class Part:
    """A capsule of the body between two joints, carried by one bone."""

    name: str
    bone: str
    a: np.ndarray      # rest-pose end points (metres, y up, figure faces +z)
    b: np.ndarray
    radius: float


def _v(*xs: float) -> np.ndarray:
    return np.array(xs, dtype=np.float64)


PARTS = [
    Part("head", "head", _v(0, 1.58, 0), _v(0, 1.66, 0), 0.105),
    Part("neck", "chest", _v(0, 1.42, 0), _v(0, 1.52, 0), 0.055),
    Part("torso", "chest", _v(0, 0.98, 0), _v(0, 1.34, 0), 0.16),
    Part("l_upper_arm", "l_upper_arm", _v(0.22, 1.36, 0), _v(0.24, 1.08, 0), 0.05),
    Part("l_forearm", "l_forearm", _v(0.24, 1.08, 0), _v(0.25, 0.84, 0), 0.042),
    Part("r_upper_arm", "r_upper_arm", _v(-0.22, 1.36, 0), _v(-0.24, 1.08, 0), 0.05),
    Part("r_forearm", "r_forearm", _v(-0.24, 1.08, 0), _v(-0.25, 0.84, 0), 0.042),
    Part("l_thigh", "l_thigh", _v(0.09, 0.86, 0), _v(0.1, 0.47, 0), 0.075),
    Part("l_shin", "l_shin", _v(0.1, 0.47, 0), _v(0.1, 0.1, 0), 0.055),
    Part("l_shoe", "l_shin", _v(0.1, 0.05, 0.0), _v(0.1, 0.05, 0.12), 0.05),
    Part("r_thigh", "r_thigh", _v(-0.09, 0.86, 0), _v(-0.1, 0.47, 0), 0.075),
    Part("r_shin", "r_shin", _v(-0.1, 0.47, 0), _v(-0.1, 0.1, 0), 0.055),
    Part("r_shoe", "r_shin", _v(-0.1, 0.05, 0.0), _v(-0.1, 0.05, 0.12), 0.05),
]
# bone -> (parent, joint position in the rest pose)
BONES = {
    "root": (None, _v(0, 0.92, 0)), "hips": ("root", _v(0, 0.92, 0)), "chest": ("root", _v(0, 1.0, 0)),
    "head": ("chest", _v(0, 1.5, 0)),
    "l_upper_arm": ("chest", _v(0.22, 1.36, 0)), "l_forearm": ("l_upper_arm", _v(0.24, 1.08, 0)),
    "r_upper_arm": ("chest", _v(-0.22, 1.36, 0)), "r_forearm": ("r_upper_arm", _v(-0.24, 1.08, 0)),
    "l_thigh": ("hips", _v(0.09, 0.86, 0)), "l_shin": ("l_thigh", _v(0.1, 0.47, 0)),
    "r_thigh": ("hips", _v(-0.09, 0.86, 0)), "r_shin": ("r_thigh", _v(-0.1, 0.47, 0)),
}


def rotation(axis: str, degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def pose(t: float) -> dict[str, np.ndarray]:
    """Local joint rotations at time t (seconds): a wave with the right arm, a sway and a small step."""
    phase = 2 * math.pi * t / SECONDS
    wave = math.sin(3 * phase)
    return {
        "root": rotation("y", 25 * math.sin(phase)),
        "hips": np.eye(3),
        "chest": rotation("z", 4 * math.sin(phase)) @ rotation("x", 3 * math.sin(2 * phase)),
        "head": rotation("y", -20 * math.sin(phase)) @ rotation("x", 6 * math.sin(2 * phase)),
        "r_upper_arm": rotation("z", -150 + 8 * wave),
        "r_forearm": rotation("z", -25 + 30 * wave),
        "l_upper_arm": rotation("z", 10 + 6 * math.sin(phase)) @ rotation("x", -15 * math.sin(phase)),
        "l_forearm": rotation("x", -25),
        "l_thigh": rotation("x", -22 * max(0.0, math.sin(2 * phase))),
        "l_shin": rotation("x", 40 * max(0.0, math.sin(2 * phase))),
        "r_thigh": rotation("x", -22 * max(0.0, -math.sin(2 * phase))),
        "r_shin": rotation("x", 40 * max(0.0, -math.sin(2 * phase))),
    }


def bone_transforms(t: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """World (rotation, translation) of each bone: x_world = Rw @ x_rest + tw."""
    local = pose(t)
    world: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, (parent, joint) in BONES.items():
        R = local[name]
        t_local = joint - R @ joint  # rotate about the joint
        if parent is None:
            world[name] = (R, t_local + _v(0, 0.03 * math.sin(4 * math.pi * t / SECONDS), 0))
        else:
            Rp, tp = world[parent]
            world[name] = (Rp @ R, Rp @ t_local + tp)
    return world


def sample_surface(n_points: int, rng: np.random.Generator):
    """Rest-pose points on the capsules with normals, part index and texture coordinates."""
    areas = np.array([2 * math.pi * p.radius * np.linalg.norm(p.b - p.a) + 4 * math.pi * p.radius ** 2
                      for p in PARTS])
    counts = np.maximum(1, np.round(n_points * areas / areas.sum())).astype(int)
    xyz, normal, part_id, along, around = [], [], [], [], []
    for index, (part, count) in enumerate(zip(PARTS, counts)):
        axis = part.b - part.a
        length = np.linalg.norm(axis)
        axis /= length
        helper = np.array([0, 0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0, 0])
        e1 = np.cross(axis, helper)
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(axis, e1)
        # A golden-angle spiral (stratified along the axis) spreads the points evenly, so a fixed radius closes
        # the surface. Jitter around the axis left gaps through which the inside of the far side showed as dark
        # speckles (a source camera that sees the back of a surface gives it no colour).
        u = (np.arange(count) + rng.random(count)) / count
        s = (u * (length + 2 * part.radius)) - part.radius      # position along the capsule's axis
        theta = (np.arange(count) * GOLDEN_ANGLE) % (2 * math.pi)
        inside = np.clip(s, 0, length)
        offset = s - inside
        height = np.sqrt(np.clip(part.radius ** 2 - offset ** 2, 0, None))
        ring = np.cos(theta)[:, None] * e1 + np.sin(theta)[:, None] * e2
        p = part.a + inside[:, None] * axis + ring * height[:, None] + offset[:, None] * axis
        n = p - (part.a + inside[:, None] * axis)
        n /= np.linalg.norm(n, axis=1, keepdims=True)
        # Store ring by ring, around each ring: neighbours in the file are neighbours on the body, which
        # makes the per-view colours compress several times better.
        rings = max(1, int(math.sqrt(count * (length + 2 * part.radius) / (2 * math.pi * part.radius))))
        order = np.lexsort((theta, np.minimum((u * rings).astype(int), rings - 1)))
        xyz.append(p[order]), normal.append(n[order]), part_id.append(np.full(count, index))
        along.append(np.clip(s / max(length, 1e-6), 0, 1)[order]), around.append(theta[order])
    return (np.concatenate(xyz), np.concatenate(normal), np.concatenate(part_id), np.concatenate(along),
            np.concatenate(around))


def posed(t: float, rest: np.ndarray, normal_rest: np.ndarray, part_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World positions and normals of the rest-pose samples at time t (seconds)."""
    bones = bone_transforms(t)
    xyz, normal = np.empty_like(rest), np.empty_like(normal_rest)
    for index, part in enumerate(PARTS):
        R, translation = bones[part.bone]
        sel = part_id == index
        xyz[sel], normal[sel] = rest[sel] @ R.T + translation, normal_rest[sel] @ R.T
    return xyz, normal


def albedo(part_id: np.ndarray, rest: np.ndarray, along: np.ndarray, around: np.ndarray,
           normal_rest: np.ndarray) -> np.ndarray:
    """Procedural texture: skin, hair, a striped shirt, a gold belt, jeans and shoes."""
    names = np.array([p.name for p in PARTS])[part_id]
    colour = np.tile(np.array([0.86, 0.66, 0.52]), (len(part_id), 1))  # skin
    height = rest[:, 1]
    torso = names == "torso"
    belt = torso & (np.abs(height - 1.0) < 0.03)
    shirt = (np.isin(names, ["l_upper_arm", "r_upper_arm", "neck"]) & ~((names == "neck") & (along > 0.5))) | (
        torso & (height >= 1.03))
    stripes = np.where(torso, np.floor(height / 0.045) % 2 == 0, np.floor(along * 9) % 2 == 0)
    colour[shirt] = np.where(stripes[shirt, None], [0.78, 0.12, 0.16], [0.95, 0.93, 0.88])
    badge = torso & (height > 1.2) & (normal_rest[:, 2] > 0.85) & (normal_rest[:, 0] > 0.2)
    colour[badge] = [0.15, 0.3, 0.8]
    hair = (names == "head") & ((normal_rest[:, 1] > 0.25) | (normal_rest[:, 2] < -0.3))
    colour[hair] = [0.2, 0.12, 0.07]
    eyes = (names == "head") & (normal_rest[:, 2] > 0.8) & (np.abs(np.abs(normal_rest[:, 0]) - 0.3) < 0.08) & \
        (np.abs(normal_rest[:, 1] - 0.08) < 0.07)
    colour[eyes] = [0.1, 0.1, 0.12]
    colour[belt] = [0.85, 0.65, 0.2]
    jeans = np.isin(names, ["l_thigh", "r_thigh", "l_shin", "r_shin"]) | (torso & (height <= 0.97))
    denim = 0.9 + 0.1 * np.sin(around * 25)[:, None]
    colour[jeans] = (np.array([0.2, 0.3, 0.55]) * denim)[jeans]
    colour[np.isin(names, ["l_shoe", "r_shoe"])] = [0.12, 0.12, 0.13]
    return colour


def shininess(part_id: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-point SH sheen strength and its tint: a gold belt and glossy shoes."""
    names = np.array([p.name for p in PARTS])[part_id]
    strength = np.zeros(len(part_id))
    belt = (names == "torso") & (np.abs(rest[:, 1] - 1.0) < 0.03)
    strength[belt] = 0.55
    strength[np.isin(names, ["l_shoe", "r_shoe"])] = 0.45
    tint = np.where(belt[:, None], [1.0, 0.85, 0.4], [0.9, 0.95, 1.0])
    return strength, tint


def ring_cameras() -> list[Camera]:
    """The virtual capture rig: N_VIEWS cameras on a ring around the figure, looking at its chest."""
    cameras = []
    for i in range(N_VIEWS):
        angle = 2 * math.pi * i / N_VIEWS
        eye = _v(RING_RADIUS * math.sin(angle), 1.5 + 0.25 * (i % 2), RING_RADIUS * math.cos(angle))
        cam = Camera.look_at(eye, _v(0, 0.95, 0), _v(0, 1, 0), 768, 1024, fov_y_deg=45.0, near=0.05, far=20.0)
        cameras.append(Camera(cam.K, cam.R, cam.T, cam.width, cam.height, cam.near, cam.far, name=f"ring{i:02d}"))
    return cameras


def make_frames(n_points: int, seed: int = SEED):
    rng = np.random.default_rng(seed)
    rest, normal_rest, part_id, along, around = sample_surface(n_points, rng)
    base_albedo = albedo(part_id, rest, along, around, normal_rest)
    sheen, tint = shininess(part_id, rest)
    cameras = ring_cameras()
    cents = np.stack([c.centre for c in cameras])
    light = _v(0.4, 0.8, 0.6) / np.linalg.norm(_v(0.4, 0.8, 0.6))
    spacing = math.sqrt(sum(2 * math.pi * p.radius * np.linalg.norm(p.b - p.a) + 4 * math.pi * p.radius ** 2
                            for p in PARTS) / len(rest))
    # Directions to fit the SH sheen on (a fixed Fibonacci sphere), and the least-squares projector.
    k = np.arange(256) + 0.5
    phi, cos_t = k * GOLDEN_ANGLE, 1 - 2 * k / 256
    fit_dirs = np.stack([np.cos(phi) * np.sqrt(1 - cos_t ** 2), np.sin(phi) * np.sqrt(1 - cos_t ** 2), cos_t], 1)
    basis = sh_basis(torch.from_numpy(fit_dirs), 3).numpy()
    projector = np.linalg.pinv(basis)  # (16, 256)
    shiny = np.nonzero(sheen > 0)[0]
    n_frames = int(round(FPS * SECONDS))
    for f in range(n_frames):
        xyz, normal = posed(f / FPS, rest, normal_rest, part_id)
        # Each source camera sees Lambert shading plus a Blinn-Phong highlight from its own direction.
        to_view = cents[:, None, :] - xyz[None]                          # (S,N,3)
        to_view /= np.linalg.norm(to_view, axis=-1, keepdims=True)
        facing = np.einsum("snc,nc->sn", to_view, normal)
        diffuse = 0.35 + 0.65 * np.clip(normal @ light, 0, None)
        half = to_view + light
        half /= np.linalg.norm(half, axis=-1, keepdims=True)
        spec = 0.25 * np.clip(np.einsum("snc,nc->sn", half, normal), 0, None) ** 24
        rgb = np.clip(base_albedo[None] * diffuse[None, :, None] + spec[..., None], 0, 1)
        rgb = np.round(rgb * 255) / 255                                   # 8-bit source images
        logit = np.round(np.clip(8 * facing, -6, 6) * 4) / 4
        hidden = facing < -0.1  # a camera that sees the back of a surface has no colour for it
        rgb[hidden], logit[hidden] = 0, -8
        rgbw = np.concatenate([rgb, logit[..., None]], axis=-1).astype(np.float16)
        # SH residual: a retro-reflective sheen, fitted per point as atanh(target) so tanh(SH) recovers it.
        sh = np.zeros((len(xyz), 3, 16), dtype=np.float32)
        if len(shiny):
            view_dot = -(fit_dirs @ normal[shiny].T).T                     # dir points camera -> point
            target = sheen[shiny, None] * np.clip(view_dot, 0, None) ** 6 - 0.12 * sheen[shiny, None]
            coeffs = np.arctanh(np.clip(target, -0.95, 0.95)) @ projector.T  # (n,16)
            sh[shiny] = np.round(coeffs[:, None, :] * tint[shiny, :, None] * 64) / 64  # compresses well
        yield {
            "xyz": xyz.astype(np.float16),
            "radius": np.full(len(xyz), RADIUS_FACTOR * spacing, dtype=np.float16),
            "alpha": np.full(len(xyz), 0.95, dtype=np.float16),
            "rgbw": rgbw,
            "cents": cents.astype(np.float16),
            "sh": sh.astype(np.float16),
        }


def write_demo(path: Path, points: int = POINTS, progress: bool = True) -> int:
    """Write the demo with ``points`` points per frame to ``path`` (atomically); returns the frame count."""
    n_frames = int(round(FPS * SECONDS))
    frames = list(tqdm(make_frames(points), total=n_frames, desc="making the demo", unit="frame",
                       disable=not progress, leave=False))
    lo = np.min([f["xyz"].astype(np.float32).min(0) for f in frames], axis=0)
    hi = np.max([f["xyz"].astype(np.float32).max(0) for f in frames], axis=0)
    return save_canonical(path, frames, colour="ibr", fps=FPS, up="+y", bounds=(lo, hi), sh_limit=1.0, n_srcs=4,
                          cameras=ring_cameras(), title="k4d-viewer demo: waving figure", compress=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--points", type=int, default=POINTS, help="points per frame")
    args = parser.parse_args()
    count = write_demo(args.output, args.points)
    size = args.output.stat().st_size / 2 ** 20
    print(f"wrote {args.output}: {count} frames of {args.points} points, {size:.1f} MiB")


if __name__ == "__main__":
    main()
