"""Camera paths: keyframes (a full camera plus a model time) and the smooth motion between them.

Interpolation (docs/camera-paths.md):
- positions on a Kochanek-Bartels spline (bias and continuity 0, ``tension`` in [-1, 1]; 0 is Catmull-Rom),
  with tangents scaled by the keyframes' transition durations so speed is continuous across keyframes;
- rotations as unit quaternions made sign-continuous along the path (no 360° flips), splined the same way and
  renormalised: no gimbal lock, no sign flips;
- intrinsics in image-relative units (focal lengths and principal point over the image height and width), model
  time and the near plane linearly, the far plane geometrically;
- ``loop`` closes the path back to the first keyframe.

A path is the single source of truth for a video: sampling it at another output size keeps the framing (the
vertical field of view and the relative principal point are what is stored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial.transform import Rotation

from ..camera import Camera

DEFAULT_DURATION = 1.0  # seconds of transition after a keyframe that does not say
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class Keyframe:
    """A camera and the model time (frame number, fractional allowed) shown there; ``duration`` is the
    transition to the next keyframe in seconds (None: the path's default)."""

    camera: Camera
    t: float = 0.0
    duration: float | None = None


@dataclass(frozen=True)
class PathSample:
    """One output frame: the camera to render from and the model frame to show."""

    camera: Camera
    time: float

    @property
    def frame(self) -> int:
        """The model frame shown: model time rounded half up (point clouds are not interpolated in time)."""
        return int(math.floor(self.time + 0.5))


@dataclass(frozen=True)
class CameraPath:
    keyframes: tuple[Keyframe, ...]
    fps: float = DEFAULT_FPS
    loop: bool = False
    tension: float = 0.0
    size: tuple[int, int] | None = None  # default output (width, height); None: the first keyframe's camera
    default_duration: float = DEFAULT_DURATION
    samples: tuple[PathSample, ...] | None = field(default=None, compare=False)  # pre-sampled (interchange)

    @property
    def output_size(self) -> tuple[int, int]:
        if self.size is not None:
            return self.size
        if self.keyframes:
            camera = self.keyframes[0].camera
        else:
            camera = self.samples[0].camera
        return camera.width, camera.height

    @property
    def closed(self) -> bool:
        """An open path whose last keyframe has the first one's pose (an orbit that ends where it began)."""
        if self.loop or len(self.keyframes) < 3:
            return False
        first, last = self.keyframes[0].camera, self.keyframes[-1].camera
        scale = max(float(np.linalg.norm(first.centre)), 1.0)
        return bool(np.allclose(first.centre, last.centre, atol=1e-6 * scale) and np.allclose(first.R, last.R,
                                                                                               atol=1e-6))

    def durations(self) -> list[float]:
        """Transition seconds of each segment (n-1 segments, n when looping)."""
        count = len(self.keyframes) if self.loop else len(self.keyframes) - 1
        return [self.keyframes[i].duration if self.keyframes[i].duration is not None else self.default_duration
                for i in range(max(count, 0))]

    @property
    def seconds(self) -> float:
        if self.samples is not None:
            return len(self.samples) / self.fps
        return float(sum(self.durations()))

    def n_frames(self, fps: float | None = None) -> int:
        """Output frames: one per 1/fps seconds, plus the last keyframe itself for an open path."""
        if self.samples is not None:
            return len(self.samples)
        if len(self.keyframes) == 1:
            return 1
        count = round(self.seconds * (fps or self.fps))
        # a loop, or an orbit that ends where it began, does not repeat its first frame at the end
        return max(count if self.loop or self.closed else count + 1, 1)

    def sample(self, size: tuple[int, int] | None = None, fps: float | None = None) -> list[PathSample]:
        """Frame i is the path at time i / fps, rendered at ``size`` (default: the path's output size)."""
        width, height = size or self.output_size
        if self.samples is not None:
            return [replace(s, camera=rescale(s.camera, width, height)) for s in self.samples]
        fps = fps or self.fps
        return [self.at(i / fps, width, height) for i in range(self.n_frames(fps))]

    def at(self, seconds: float, width: int, height: int) -> PathSample:
        """The camera and model time ``seconds`` into the path."""
        keys = self.keyframes
        if len(keys) == 1:
            return PathSample(rescale(keys[0].camera, width, height), keys[0].t)
        durations = self.durations()
        ends = np.cumsum(durations)
        seconds = min(max(seconds, 0.0), float(ends[-1]))
        segment = min(int(np.searchsorted(ends, seconds, side="right")), len(durations) - 1)
        start = float(ends[segment] - durations[segment])
        u = (seconds - start) / durations[segment] if durations[segment] > 0 else 1.0
        return _interpolate(self, segment, u, width, height)


def rescale(camera: Camera, width: int, height: int) -> Camera:
    """``camera`` at another output size with the same framing: vertical field of view and relative
    principal point kept; a wider or narrower aspect shows more or less at the sides (no stretching)."""
    if (width, height) == (camera.width, camera.height):
        return camera
    K = camera.K.copy()
    scale = height / camera.height
    K[0, 0], K[0, 1], K[1, 1] = K[0, 0] * scale, K[0, 1] * scale, K[1, 1] * scale
    K[0, 2] = camera.K[0, 2] / camera.width * width
    K[1, 2] = camera.K[1, 2] / camera.height * height
    return replace(camera, K=K, width=int(width), height=int(height))


def _relative_intrinsics(camera: Camera) -> np.ndarray:
    """fx/H, fy/H, skew/H, cx/W, cy/H: size-free intrinsics."""
    K = camera.K
    return np.array([K[0, 0] / camera.height, K[1, 1] / camera.height, K[0, 1] / camera.height,
                     K[0, 2] / camera.width, K[1, 2] / camera.height])


def _window(path: CameraPath, segment: int) -> tuple[list[int], list[float]]:
    """Keyframe indices k-1, k, k+1, k+2 around segment k (clamped at the ends of an open path, wrapped for
    a loop) and the durations of the segments k-1, k, k+1."""
    n, durations = len(path.keyframes), path.durations()
    if path.loop:
        return [(segment + i) % n for i in (-1, 0, 1, 2)], [durations[(segment + i) % n] for i in (-1, 0, 1)]
    if n > 2 and path.closed:  # an open path that ends where it starts is smooth through that point
        wrap = n - 1  # the last keyframe is the first one again
        return ([(segment + i) % wrap for i in (-1, 0, 1, 2)],
                [durations[(segment + i) % len(durations)] for i in (-1, 0, 1)])
    return ([min(max(segment + i, 0), n - 1) for i in (-1, 0, 1, 2)],
            [durations[min(max(segment + i, 0), len(durations) - 1)] for i in (-1, 0, 1)])


def _spline(points: np.ndarray, durations: list[float], tension: float, u: float) -> np.ndarray:
    """Kochanek-Bartels (bias = continuity = 0) between points[1] and points[2], tangents weighted by the
    neighbouring segments' durations so the speed is continuous in time."""
    d_prev, d, d_next = durations
    m1 = (1 - tension) * (points[2] - points[0]) * d / max(d_prev + d, 1e-12)
    m2 = (1 - tension) * (points[3] - points[1]) * d / max(d + d_next, 1e-12)
    u2, u3 = u * u, u * u * u
    return ((2 * u3 - 3 * u2 + 1) * points[1] + (u3 - 2 * u2 + u) * m1 + (-2 * u3 + 3 * u2) * points[2]
            + (u3 - u2) * m2)


def _interpolate(path: CameraPath, segment: int, u: float, width: int, height: int) -> PathSample:
    indices, durations = _window(path, segment)
    keys = [path.keyframes[i] for i in indices]
    a, b = path.keyframes[segment], path.keyframes[(segment + 1) % len(path.keyframes)]
    centre = _spline(np.stack([k.camera.centre for k in keys]), durations, path.tension, u)
    quats = Rotation.from_matrix(np.stack([k.camera.R for k in keys])).as_quat()  # world-to-camera, xyzw
    for i in (0, 2, 3):  # the same rotation has two signs: take the one nearest its neighbour (no flips)
        reference = quats[1] if i < 2 else quats[i - 1]
        if np.dot(quats[i], reference) < 0:
            quats[i] = -quats[i]
    quat = _spline(quats, durations, path.tension, u)
    R = Rotation.from_quat(quat / np.linalg.norm(quat)).as_matrix()
    rel = (1 - u) * _relative_intrinsics(a.camera) + u * _relative_intrinsics(b.camera)
    K = np.array([[rel[0] * height, rel[2] * height, rel[3] * width], [0.0, rel[1] * height, rel[4] * height],
                  [0.0, 0.0, 1.0]])
    near = (1 - u) * a.camera.near + u * b.camera.near
    far = max(math.exp((1 - u) * math.log(a.camera.far) + u * math.log(b.camera.far)), near * 1.001)
    camera = Camera(K=K, R=R, T=-R @ centre, width=int(width), height=int(height), near=near, far=far)
    return PathSample(camera, (1 - u) * a.t + u * b.t)
