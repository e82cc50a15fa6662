"""Pinhole cameras in the OpenCV convention (x_cam = R·x_world + T; +x right, +y down, +z forward).

A camera is an immutable value: the viewer's interactive controls produce new cameras, the renderers read
them. JSON files use the EasyVolcap clipboard fields ``{"H", "W", "K", "R", "T", "n", "f"}``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .fileutil import read_text_file

DEFAULT_NEAR = 0.01
DEFAULT_FAR = 100.0
MAX_IMAGE_SIDE = 16384  # pixels: the largest width or height any camera, flag or path may ask for

UP_AXES = {
    "+x": (1.0, 0.0, 0.0), "-x": (-1.0, 0.0, 0.0),
    "+y": (0.0, 1.0, 0.0), "-y": (0.0, -1.0, 0.0),
    "+z": (0.0, 0.0, 1.0), "-z": (0.0, 0.0, -1.0),
}

# Where the default camera stands (from the model centre) when nothing better is known: in front of a subject
# that faces the conventional forward direction of each up-axis convention.
_DEFAULT_SIDE = {
    "+x": (0.0, 0.0, 1.0), "-x": (0.0, 0.0, 1.0),
    "+y": (0.0, 0.0, 1.0), "-y": (0.0, 0.0, -1.0),
    "+z": (0.0, -1.0, 0.0), "-z": (0.0, 1.0, 0.0),
}


def parse_up(text: str) -> str:
    """Normalise an up-axis name ('y', '+y', '-Z', ...) to one of UP_AXES; ValueError if unknown."""
    name = text.strip().lower()
    if name in ("x", "y", "z"):
        name = "+" + name
    if name not in UP_AXES:
        raise ValueError(f"unknown up axis '{text}' (expected one of x, y, z, -x, -y, -z)")
    return name


@dataclass(frozen=True)
class Camera:
    """Intrinsics K (3×3), extrinsics R (3×3), T (3,), image size and clip planes."""

    K: np.ndarray
    R: np.ndarray
    T: np.ndarray
    width: int
    height: int
    near: float = DEFAULT_NEAR
    far: float = DEFAULT_FAR
    name: str = field(default="", compare=False)

    @property
    def centre(self) -> np.ndarray:
        """World-space camera centre C = −Rᵀ·T."""
        return -self.R.T @ self.T

    def resized(self, width: int, height: int) -> Camera:
        """The same view at another image size: intrinsics scale with the image."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        K = self.K.copy()
        K[0, :] *= sx
        K[1, :] *= sy
        K[2, :] = self.K[2, :]
        return replace(self, K=K, width=int(width), height=int(height))

    def fitted(self, width: int, height: int) -> Camera:
        """The same view in a ``width``×``height`` image without distortion: the whole original image fits,
        scaled uniformly and centred (letterbox or pillarbox), so pixels keep the camera's focal ratio."""
        if (width, height) == (self.width, self.height):
            return self
        scale = min(width / self.width, height / self.height)
        K = self.K.copy()
        K[:2, :] *= scale
        K[0, 2] += (width - self.width * scale) / 2
        K[1, 2] += (height - self.height * scale) / 2
        return replace(self, K=K, width=int(width), height=int(height))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "H": self.height, "W": self.width,
            "K": self.K.tolist(), "R": self.R.tolist(), "T": [[t] for t in self.T.tolist()],
            "n": self.near, "f": self.far,
        }

    @classmethod
    def from_json_dict(cls, data: Any, where: str | Path = "camera") -> Camera:
        """Build a camera from the clipboard/JSON fields; InputError naming the field on any problem."""
        if not isinstance(data, dict):
            raise InputError(where, "camera JSON must be an object with H, W, K, R, T")
        for key in ("H", "W", "K", "R", "T"):
            if key not in data:
                raise InputError(where, f"camera field '{key}' is missing")
        height, width = _positive_int(data["H"], "H", where), _positive_int(data["W"], "W", where)
        K = _matrix(data["K"], (3, 3), "K", where)
        R = _matrix(data["R"], (3, 3), "R", where)
        T = _matrix(data["T"], (3,), "T", where)
        near = _finite_float(data.get("n", DEFAULT_NEAR), "n", where)
        far = _finite_float(data.get("f", DEFAULT_FAR), "f", where)
        return make_camera(K, R, T, width, height, near, far, where=where)

    @classmethod
    def look_at(cls, eye: np.ndarray, target: np.ndarray, up: np.ndarray, width: int, height: int,
                fov_y_deg: float = 40.0, near: float = DEFAULT_NEAR, far: float = DEFAULT_FAR) -> Camera:
        """A camera at ``eye`` looking at ``target`` with ``up`` pointing up in the image."""
        eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
        forward = target - eye
        forward /= np.linalg.norm(forward)
        down = -(up - forward * np.dot(up, forward))
        if np.linalg.norm(down) < 1e-9:  # looking straight along the up axis: any perpendicular will do
            down = np.cross(forward, [1.0, 0.0, 0.0] if abs(forward[0]) < 0.9 else [0.0, 1.0, 0.0])
        down /= np.linalg.norm(down)
        right = np.cross(down, forward)
        R = np.stack([right, down, forward])
        T = -R @ eye
        fy = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
        K = np.array([[fy, 0.0, width / 2], [0.0, fy, height / 2], [0.0, 0.0, 1.0]])
        return cls(K=K, R=R, T=T, width=int(width), height=int(height), near=near, far=far)


def make_camera(K: np.ndarray, R: np.ndarray, T: np.ndarray, width: int, height: int,
                near: float = DEFAULT_NEAR, far: float = DEFAULT_FAR, name: str = "",
                where: str | Path = "camera") -> Camera:
    """Validate raw camera parameters (finite, R a rotation, 0 < n < f, focal lengths > 0)."""
    K, R = np.asarray(K, np.float64).reshape(3, 3), np.asarray(R, np.float64).reshape(3, 3)
    T = np.asarray(T, np.float64).reshape(3)
    label = f"camera '{name}'" if name else "camera"
    for key, value in (("K", K), ("R", R), ("T", T)):
        if not np.all(np.isfinite(value)):
            raise InputError(where, f"{label} field '{key}' has a non-finite value")
    if not np.allclose(R @ R.T, np.eye(3), atol=1e-3) or np.linalg.det(R) <= 0:
        raise InputError(where, f"{label} field 'R' is not a rotation matrix")
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise InputError(where, f"{label} field 'K' must have positive focal lengths")
    if not (math.isfinite(near) and math.isfinite(far) and 0 < near < far):
        raise InputError(where, f"{label} needs finite 0 < n < f (got n={near}, f={far})")
    for key, size in (("W", width), ("H", height)):
        if not 1 <= size <= MAX_IMAGE_SIDE:
            raise InputError(where, f"{label} field '{key}' is {size}, outside 1..{MAX_IMAGE_SIDE}")
    return Camera(K=K, R=R, T=T, width=int(width), height=int(height), near=float(near), far=float(far),
                  name=name)


def load_camera_json(path: str | Path) -> Camera:
    """Read a camera JSON file (the format the viewer copies to the clipboard)."""
    path = Path(path)
    return Camera.from_json_dict(load_json_file(path, "camera file"), where=path)


def load_json_file(path: Path, what: str) -> Any:
    """Parse a small JSON input file; InputError naming the line for bad syntax, bytes or nesting."""
    text = read_text_file(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise InputError(path, "not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer literal of thousands of digits
        raise InputError(path, f"not valid JSON ({str(exc)[:80]})") from None


def save_camera_json(camera: Camera, path: str | Path) -> None:
    Path(path).write_text(json.dumps(camera.to_json_dict(), indent=2) + "\n")


def default_camera(bounds_min: np.ndarray, bounds_max: np.ndarray, up: str, width: int, height: int,
                   toward: np.ndarray | None = None, fov_y_deg: float = 40.0) -> Camera:
    """A camera that frames the box [bounds_min, bounds_max] with ``up`` up in the image.

    ``toward`` is a world point that gives the horizontal direction to look from (for example the first
    capture camera); without it the camera looks along the first horizontal axis.
    """
    lo, hi = np.asarray(bounds_min, np.float64), np.asarray(bounds_max, np.float64)
    centre, extent = (lo + hi) / 2, np.maximum(hi - lo, 1e-6)
    up_vec = np.array(UP_AXES[up])
    side = None
    if toward is not None:
        offset = np.asarray(toward, np.float64) - centre
        offset -= up_vec * np.dot(offset, up_vec)
        if np.linalg.norm(offset) > 1e-6:
            side = offset / np.linalg.norm(offset)
    if side is None:
        side = np.array(_DEFAULT_SIDE[up])
    up_extent = float(np.abs(extent @ up_vec))
    across = float(np.max(extent - np.abs(up_vec) * up_extent))
    half_fy = math.tan(math.radians(fov_y_deg) / 2)
    half_fx = half_fy * width / height
    distance = 1.15 * max(up_extent / 2 / half_fy, across / 2 / half_fx) + across / 2
    radius = float(np.linalg.norm(extent)) / 2
    near = max(1e-3, (distance - radius) * 0.1)
    far = max(100.0, (distance + radius) * 4)
    return Camera.look_at(centre + side * distance, centre, up_vec, width, height, fov_y_deg, near, far)


def _positive_int(value: Any, key: str, where: str | Path) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (
            isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
        raise InputError(where, f"camera field '{key}' must be a positive integer (got {str(value)[:40]})")
    if value > MAX_IMAGE_SIDE:
        raise InputError(where, f"camera field '{key}' is {str(value)[:40]}, outside 1..{MAX_IMAGE_SIDE}")
    return int(value)


def _finite_float(value: Any, key: str, where: str | Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(where, f"camera field '{key}' must be a finite number (got {str(value)[:40]})")
    return float(value)


def _matrix(value: Any, shape: tuple[int, ...], key: str, where: str | Path) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise InputError(where, f"camera field '{key}' must be numbers of shape {shape}") from None
    if array.size != int(np.prod(shape)):
        raise InputError(where, f"camera field '{key}' must have shape {shape} (got {list(array.shape)})")
    return array.reshape(shape)
