"""Camera-path presets for paper figures and supplementary videos.

- ``orbit``: a full turn of the start view about the subject's up axis (its height, distance and tilt kept);
- ``spiral``: a turn that rises and sinks by a quarter of the subject's height, always looking at its centre;
- ``through_cameras``: through the capture cameras in angular order around the subject, back to the first.
A fixed camera while time plays needs no path: ``render --view I --frames A:B -o out.mp4``.
Time is frozen at ``start`` (bullet time) or advances at the model's frame rate (``play``), stopping at the
last frame. Orbits and spirals are 24 keyframes per turn, so the result is an ordinary, editable path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial.transform import Rotation

from ..camera import UP_AXES, Camera
from .path import CameraPath, Keyframe

KEYS_PER_TURN = 24
PRESETS = ("orbit", "spiral", "through-cameras", "bullet-time")  # the names the CLI and job files take


@dataclass(frozen=True)
class Timing:
    """How model time runs along a preset: from ``start`` at ``rate`` frames per second (0: frozen)."""

    start: float = 0.0
    rate: float = 0.0
    last_frame: float = 0.0

    def at(self, seconds: float) -> float:
        return min(self.start + self.rate * seconds, max(self.last_frame, self.start))


def _turned(camera: Camera, centre: np.ndarray, axis: np.ndarray, angle: float, lift: float = 0.0) -> Camera:
    """``camera`` rotated by ``angle`` about the line through ``centre`` along ``axis`` (and lifted)."""
    turn = Rotation.from_rotvec(axis * angle).as_matrix()
    eye = centre + turn @ (camera.centre - centre) + axis * lift
    R = camera.R @ turn.T
    return replace(camera, R=R, T=-R @ eye, name="")


def _look_at(camera: Camera, eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> Camera:
    looking = Camera.look_at(eye, target, up, camera.width, camera.height)
    return replace(camera, R=looking.R, T=looking.T, name="")


def orbit(start: Camera, centre: np.ndarray, up: str, seconds: float, fps: float, timing: Timing,
          turns: float = 1.0) -> CameraPath:
    axis = np.array(UP_AXES[up])
    count = max(int(round(KEYS_PER_TURN * turns)), 2)
    keys = []
    for k in range(count + 1):
        angle = 2 * math.pi * turns * k / count
        keys.append(Keyframe(_turned(start, centre, axis, angle), timing.at(seconds * k / count)))
    return CameraPath(tuple(keys), fps=fps, default_duration=seconds / count, size=(start.width, start.height))


def spiral(start: Camera, centre: np.ndarray, up: str, height: float, seconds: float, fps: float,
           timing: Timing) -> CameraPath:
    axis = np.array(UP_AXES[up])
    keys = []
    for k in range(KEYS_PER_TURN + 1):
        angle = 2 * math.pi * k / KEYS_PER_TURN
        eye = _turned(start, centre, axis, angle, lift=0.25 * height * math.sin(angle)).centre
        keys.append(Keyframe(_look_at(start, eye, centre, axis), timing.at(seconds * k / KEYS_PER_TURN)))
    return CameraPath(tuple(keys), fps=fps, default_duration=seconds / KEYS_PER_TURN,
                      size=(start.width, start.height))


def through_cameras(cameras: list[Camera], centre: np.ndarray, up: str, seconds: float, fps: float,
                    timing: Timing, size: tuple[int, int] | None = None) -> CameraPath:
    """Through every capture camera in angular order around the up axis (counterclockwise seen from above,
    starting at the rig's first camera), returning to it."""
    axis = np.array(UP_AXES[up])
    side = np.cross(axis, [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 1.0, 0.0])
    side /= np.linalg.norm(side)
    other = np.cross(axis, side)

    def angle(camera: Camera) -> float:
        offset = camera.centre - centre
        return math.atan2(float(offset @ other), float(offset @ side))

    first = angle(cameras[0])
    ordered = sorted(cameras, key=lambda c: (angle(c) - first) % (2 * math.pi))  # from camera 0, counterclockwise
    ordered.append(ordered[0])
    each = seconds / (len(ordered) - 1)
    keys = tuple(Keyframe(camera, timing.at(each * k)) for k, camera in enumerate(ordered))
    first = ordered[0]
    return CameraPath(keys, fps=fps, default_duration=each, size=size or (first.width, first.height))


def rig_view(cameras: list[Camera], centre: np.ndarray, up: str, size: tuple[int, int]) -> Camera:
    """A camera at the capture rig's mean distance and height, facing the subject, with the rig's mean
    vertical field of view: where an orbit 'of the capture rig' starts."""
    axis = np.array(UP_AXES[up])
    offsets = np.stack([c.centre - centre for c in cameras])
    heights = offsets @ axis
    radial = offsets - heights[:, None] * axis
    radius = float(np.mean(np.linalg.norm(radial, axis=1)))
    direction = radial[0] / max(np.linalg.norm(radial[0]), 1e-9)
    fov = float(np.mean([2 * math.degrees(math.atan(c.height / 2 / c.K[1, 1])) for c in cameras]))
    eye = centre + direction * radius + axis * float(np.mean(heights))
    near = min(c.near for c in cameras)
    far = max(c.far for c in cameras)
    return Camera.look_at(eye, centre, axis, size[0], size[1], fov_y_deg=fov, near=near, far=far)
