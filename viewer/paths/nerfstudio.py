"""nerfstudio ``camera_path.json``: read and write.

``camera_path`` entries: ``camera_to_world`` (16 floats, row-major 4×4, OpenGL axes: +x right, +y up, looking
down −z), ``fov`` (vertical, degrees; focal = (H/2)/tan(fov/2), principal point at the image centre), ``aspect``
and optional ``render_time`` in [0, 1] (model frame round(render_time·(F−1)), used only when every entry has
one). Top level: ``render_width``, ``render_height``, ``fps``, ``seconds``, ``is_cycle``, ``keyframes``. A file
with a sampled ``camera_path`` renders one output frame per entry; keyframes are read (same matrix convention,
``override_transition_sec`` as the duration) when there is no sampled path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..camera import MAX_IMAGE_SIDE, Camera, make_camera
from ..errors import InputError
from ..fileutil import atomic_output
from .path import CameraPath, Keyframe, PathSample

_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


def _camera(matrix: Any, fov: Any, width: int, height: int, where: str) -> Camera:
    try:
        c2w = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise InputError(where, "'camera_to_world' must be 16 numbers") from None
    if c2w.size != 16 or not np.isfinite(c2w).all():
        raise InputError(where, "'camera_to_world' must be 16 finite numbers (row-major 4x4)")
    c2w = c2w.reshape(4, 4)
    if isinstance(fov, bool) or not isinstance(fov, (int, float)) or not 0 < fov < 180:
        raise InputError(where, f"'fov' must be a vertical field of view in (0, 180) degrees (got {str(fov)[:20]})")
    rotation = c2w[:3, :3] @ _GL_TO_CV  # camera axes in the world, OpenCV convention
    R = rotation.T
    focal = height / 2 / math.tan(math.radians(fov) / 2)
    K = np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])
    return make_camera(K, R, -R @ c2w[:3, 3], width, height, where=where)


def _size(data: dict, where: Path | str) -> tuple[int, int]:
    size = []
    for key in ("render_width", "render_height"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_IMAGE_SIDE:
            raise InputError(where, f"'{key}' must be an integer 1..{MAX_IMAGE_SIDE} (got {str(value)[:20]})")
        size.append(value)
    return size[0], size[1]


def path_from_nerfstudio(data: dict, where: Path | str, n_model_frames: int = 1, start_frame: float = 0.0
                         ) -> CameraPath:
    width, height = _size(data, where)
    fps = data.get("fps", 30.0)
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 1000:
        raise InputError(where, f"'fps' must be a number in (0, 1000] (got {str(fps)[:20]})")
    entries = data.get("camera_path")
    if entries is not None:
        if not isinstance(entries, list) or not entries:
            raise InputError(where, "'camera_path' must be a non-empty list")
        cameras, times = [], []
        for index, entry in enumerate(entries):
            label = f"{where}: camera_path[{index}]"
            if not isinstance(entry, dict):
                raise InputError(label, "must be an object")
            cameras.append(_camera(entry.get("camera_to_world"), entry.get("fov"), width, height, label))
            times.append(entry.get("render_time"))
        if all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in times):
            for index, value in enumerate(times):
                if not 0 <= value <= 1:
                    raise InputError(f"{where}: camera_path[{index}]", f"'render_time' {value} is outside [0, 1]")
            frames = [float(round(t * (n_model_frames - 1))) for t in times]
        else:
            frames = [start_frame] * len(cameras)
        samples = tuple(PathSample(c, t) for c, t in zip(cameras, frames))
        keyframes = _keyframes(data, where, width, height, start_frame, required=False)
        return CameraPath(keyframes, fps=float(fps), loop=bool(data.get("is_cycle", False)), size=(width, height),
                          samples=samples)
    keyframes = _keyframes(data, where, width, height, start_frame, required=True)
    return CameraPath(keyframes, fps=float(fps), loop=bool(data.get("is_cycle", False)), size=(width, height))


def _keyframes(data: dict, where: Path | str, width: int, height: int, start_frame: float, required: bool
               ) -> tuple[Keyframe, ...]:
    entries = data.get("keyframes")
    if not isinstance(entries, list) or not entries:
        if required:
            raise InputError(where, "has neither a 'camera_path' nor 'keyframes' list")
        return ()
    keyframes = []
    for index, entry in enumerate(entries):
        label = f"{where}: keyframes[{index}]"
        if not isinstance(entry, dict):
            raise InputError(label, "must be an object")
        matrix = entry.get("matrix")
        if isinstance(matrix, str):  # older viewers stored the list as a string
            try:
                matrix = json.loads(matrix)
            except (ValueError, RecursionError):
                raise InputError(label, "'matrix' is not a list of 16 numbers") from None
        camera = _camera(matrix, entry.get("fov"), width, height, label)
        duration = entry.get("override_transition_sec") if entry.get("override_transition_enabled") else None
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))
                                     or not 0 <= duration <= 3600):
            raise InputError(label, "'override_transition_sec' must be a number of seconds")
        t = entry.get("k4d_time", start_frame)
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise InputError(label, "'k4d_time' must be a finite number")
        keyframes.append(Keyframe(camera, float(t), None if duration is None else float(duration)))
    return tuple(keyframes)


def _c2w_gl(camera: Camera) -> list[float]:
    c2w = np.eye(4)
    c2w[:3, :3] = camera.R.T @ _GL_TO_CV
    c2w[:3, 3] = camera.centre
    return c2w.reshape(-1).tolist()


def _fov(camera: Camera) -> float:
    return math.degrees(2 * math.atan(camera.height / 2 / camera.K[1, 1]))


def nerfstudio_json(path: CameraPath, n_model_frames: int, size: tuple[int, int] | None = None,
                    fps: float | None = None) -> dict[str, Any]:
    """A nerfstudio camera_path.json of ``path`` sampled at ``fps`` and ``size`` (its own by default)."""
    width, height = size or path.output_size
    samples = path.sample((width, height), fps)
    aspect = width / height
    frames = []
    for sample in samples:
        entry = {"camera_to_world": _c2w_gl(sample.camera), "fov": _fov(sample.camera), "aspect": aspect}
        if n_model_frames > 1:
            entry["render_time"] = min(max(sample.frame / (n_model_frames - 1), 0.0), 1.0)
        frames.append(entry)
    keyframes = [{"matrix": _c2w_gl(k.camera), "fov": _fov(k.camera), "aspect": aspect, "k4d_time": k.t,
                  "override_transition_enabled": k.duration is not None,
                  "override_transition_sec": k.duration if k.duration is not None else path.default_duration}
                 for k in path.keyframes]
    return {"camera_type": "perspective", "render_width": width, "render_height": height,
            "fps": fps or path.fps, "seconds": len(samples) / (fps or path.fps), "is_cycle": path.loop,
            "smoothness_value": 0.5, "keyframes": keyframes, "camera_path": frames}


def save_nerfstudio(path: CameraPath, target: str | Path, n_model_frames: int, size: tuple[int, int] | None = None,
                    fps: float | None = None) -> None:
    with atomic_output(target) as tmp:
        tmp.write_text(json.dumps(nerfstudio_json(path, n_model_frames, size, fps), indent=1) + "\n")
