"""Interactive camera state and the operations the mouse and keyboard apply to it.

The state is an eye position plus a world-to-camera rotation (OpenCV axes), a pivot distance for orbiting,
and either a vertical field of view or, after snapping to a capture camera, that camera's normalised
intrinsics and image size (so the capture view is reproduced exactly, principal point included, fitted
whole into any render size with its focal ratio kept).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..camera import UP_AXES, Camera, default_camera

MIN_FOV, MAX_FOV = 5.0, 120.0


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix of ``angle`` radians about the unit vector ``axis``."""
    x, y, z = axis / np.linalg.norm(axis)
    c, s = math.cos(angle), math.sin(angle)
    C = 1 - c
    return np.array([[c + x * x * C, x * y * C - z * s, x * z * C + y * s],
                     [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
                     [z * x * C - y * s, z * y * C + x * s, c + z * z * C]])


@dataclass(frozen=True)
class CameraState:
    """Where the viewer looks from. Immutable: every operation returns a new state."""

    eye: np.ndarray
    R: np.ndarray                    # world-to-camera rotation
    distance: float                  # eye to orbit pivot, along the view direction
    up: str = "+y"
    fov_y: float = 40.0              # degrees, used when ``intrinsics`` is None
    intrinsics: np.ndarray | None = None  # K with rows divided by (W, H): a snapped capture camera
    near: float = 0.01
    far: float = 100.0
    source: str = field(default="", compare=False)  # name of the capture camera it was snapped to
    source_size: tuple[int, int] = (1, 1)  # that camera's image size (with ``intrinsics``)

    @property
    def forward(self) -> np.ndarray:
        return self.R[2]

    @property
    def pivot(self) -> np.ndarray:
        return self.eye + self.forward * self.distance

    # -- conversions ----------------------------------------------------------------------------------

    @classmethod
    def from_camera(cls, camera: Camera, up: str, distance: float, keep_intrinsics: bool = True) -> CameraState:
        normalised = None
        if keep_intrinsics:
            normalised = camera.K.copy()
            normalised[0, :] /= camera.width
            normalised[1, :] /= camera.height
            normalised[2] = [0.0, 0.0, 1.0]
        fov = math.degrees(2 * math.atan(camera.height / 2 / camera.K[1, 1]))
        return cls(eye=camera.centre.copy(), R=camera.R.copy(), distance=distance, up=up, fov_y=fov,
                   intrinsics=normalised, near=camera.near, far=camera.far, source=camera.name,
                   source_size=(camera.width, camera.height))

    @classmethod
    def framing(cls, bounds_min: np.ndarray, bounds_max: np.ndarray, up: str, aspect: float,
                toward: np.ndarray | None = None) -> CameraState:
        """The default view: the whole model in frame, standing upright."""
        camera = default_camera(bounds_min, bounds_max, up, int(1000 * aspect), 1000, toward=toward)
        centre = (np.asarray(bounds_min) + np.asarray(bounds_max)) / 2
        return cls.from_camera(camera, up, float(np.linalg.norm(camera.centre - centre)), keep_intrinsics=False)

    def to_camera(self, width: int, height: int) -> Camera:
        if self.intrinsics is not None:  # a capture camera: its own image, fitted whole (focal ratio kept)
            own_w, own_h = self.source_size
            K = self.intrinsics.copy()
            K[0, :] *= own_w
            K[1, :] *= own_h
            K[2] = [0.0, 0.0, 1.0]
            own = Camera(K=K, R=self.R.copy(), T=-self.R @ self.eye, width=own_w, height=own_h, near=self.near,
                         far=self.far, name=self.source)
            return own.fitted(width, height)
        else:
            f = 0.5 * height / math.tan(math.radians(self.fov_y) / 2)
            K = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
        return Camera(K=K, R=self.R.copy(), T=-self.R @ self.eye, width=width, height=height, near=self.near,
                      far=self.far, name=self.source)

    # -- operations -----------------------------------------------------------------------------------

    def _rotated(self, yaw: float, pitch: float, about_pivot: bool) -> CameraState:
        world_up = np.array(UP_AXES[self.up])
        Q = _rotation(world_up, yaw) @ _rotation(self.R[0], pitch)
        if abs(float((Q @ self.forward) @ world_up)) > 0.995:  # never tip over the pole
            Q = _rotation(world_up, yaw)
        R = self.R @ Q.T
        eye = self.pivot + Q @ (self.eye - self.pivot) if about_pivot else self.eye
        return replace(self, eye=eye, R=R, source="")

    def orbit(self, dx: float, dy: float) -> CameraState:
        """Rotate around the pivot: ``dx``, ``dy`` in radians (drag right turns the model right)."""
        return self._rotated(-dx, dy, about_pivot=True)

    def look(self, dx: float, dy: float) -> CameraState:
        """Turn the view in place (the pivot moves with it)."""
        return self._rotated(-dx, dy, about_pivot=False)

    def pan(self, dx: float, dy: float) -> CameraState:
        """Slide sideways and up/down by fractions of the pivot distance."""
        shift = (-self.R[0] * dx + -self.R[1] * dy) * self.distance
        return replace(self, eye=self.eye + shift, source="")

    def dolly(self, factor: float) -> CameraState:
        """Move towards (factor < 1) or away from (factor > 1) the pivot."""
        factor = max(factor, 1e-3)
        distance = max(self.distance * factor, 1e-4)
        return replace(self, eye=self.pivot - self.forward * distance, distance=distance, source="")

    def zoom(self, factor: float) -> CameraState:
        """Change the field of view (factor < 1 zooms in)."""
        if self.intrinsics is not None:
            K = self.intrinsics.copy()
            K[0, 0] /= factor
            K[1, 1] /= factor
            K[0, 1] /= factor
            return replace(self, intrinsics=K, source="")
        return replace(self, fov_y=float(np.clip(self.fov_y * factor, MIN_FOV, MAX_FOV)), source="")

    def fly(self, forward: float, right: float, up: float) -> CameraState:
        """Move the eye (and the pivot with it) along the view axes, in world units."""
        world_up = np.array(UP_AXES[self.up])
        move = self.forward * forward + self.R[0] * right + world_up * up
        return replace(self, eye=self.eye + move, source="")

    def roll(self, angle: float) -> CameraState:
        """Rotate about the view direction (Q/E-style keys in the upstream viewer)."""
        Q = _rotation(self.forward, angle)
        return replace(self, R=self.R @ Q.T, source="")
