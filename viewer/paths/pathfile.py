"""The viewer's own camera-path file (versioned JSON, docs/camera-paths.md), and opening any path file.

``load_path`` accepts the viewer's format, a nerfstudio ``camera_path.json`` (recognised by its ``camera_path``
or ``keyframes`` list) and an EasyVolcap camera folder (``intri.yml`` + ``extri.yml``). Every problem is one
``InputError`` naming the file and the entry.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..camera import MAX_IMAGE_SIDE, Camera, load_json_file
from ..errors import InputError
from ..fileutil import atomic_output
from .path import DEFAULT_DURATION, CameraPath, Keyframe

FORMAT = "k4d-viewer-path"
MAX_PATH_FRAMES = 216_000  # two hours at 30 frames/s
VERSION = 1


def path_to_json(path: CameraPath) -> dict[str, Any]:
    width, height = path.output_size
    return {
        "format": FORMAT, "version": VERSION, "fps": path.fps, "loop": path.loop, "tension": path.tension,
        "size": [width, height], "default_duration": path.default_duration,
        "keyframes": [{"camera": k.camera.to_json_dict(), "t": k.t,
                       **({"duration": k.duration} if k.duration is not None else {})} for k in path.keyframes],
    }


def save_path(path: CameraPath, target: str | Path) -> None:
    """Write ``path`` in the viewer's format, atomically."""
    with atomic_output(target) as tmp:
        tmp.write_text(json.dumps(path_to_json(path), indent=1) + "\n")


def path_from_json(data: Any, where: Path | str) -> CameraPath:
    """Validate and build a path from the viewer's JSON; InputError naming the entry on any problem."""
    if not isinstance(data, dict):
        raise InputError(where, "a camera path must be a JSON object")
    if data.get("format") != FORMAT:
        raise InputError(where, f"not a k4d-viewer path (\"format\": \"{FORMAT}\" missing)")
    if data.get("version") != VERSION:
        raise InputError(where, f"path format version {str(data.get('version'))[:20]}; this k4d-viewer reads "
                         f"version {VERSION}")
    fps = _number(data.get("fps", 30.0), "fps", where, 0, 1000, open_low=True)
    tension = _number(data.get("tension", 0.0), "tension", where, -1, 1)
    default = _number(data.get("default_duration", DEFAULT_DURATION), "default_duration", where, 0, 3600,
                      open_low=True)
    loop = data.get("loop", False)
    if not isinstance(loop, bool):
        raise InputError(where, "field 'loop' must be true or false")
    size = data.get("size")
    if size is not None:
        if (not isinstance(size, list) or len(size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_IMAGE_SIDE for v in size)):
            raise InputError(where, f"field 'size' must be [width, height] with integers 1..{MAX_IMAGE_SIDE}")
        size = (size[0], size[1])
    entries = data.get("keyframes")
    if not isinstance(entries, list) or not entries:
        raise InputError(where, "field 'keyframes' must be a non-empty list")
    keyframes = []
    for index, entry in enumerate(entries):
        label = f"{where}: keyframe {index}"
        if not isinstance(entry, dict) or "camera" not in entry:
            raise InputError(label, "must be an object with a 'camera'")
        camera = Camera.from_json_dict(entry["camera"], where=label)
        t = _number(entry.get("t", 0.0), "t", label, -1e9, 1e9)
        duration = entry.get("duration")
        if duration is not None:
            duration = _number(duration, "duration", label, 0, 3600)
        keyframes.append(Keyframe(camera, t, duration))
    path = CameraPath(tuple(keyframes), fps=fps, loop=loop, tension=tension, size=size, default_duration=default)
    if len(keyframes) > 1 and path.seconds <= 0:
        raise InputError(where, "the path lasts 0 seconds (every transition has duration 0)")
    if path.n_frames() > MAX_PATH_FRAMES:
        raise InputError(where, f"the path would render {path.n_frames():,} frames (at most {MAX_PATH_FRAMES:,}: "
                         "check the fps and durations)")
    return path


def _number(value: Any, key: str, where: Path | str, low: float, high: float, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not (low < value if open_low else low <= value) or value > high:
        bound = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
        raise InputError(where, f"field '{key}' must be a finite number in {bound} (got {str(value)[:30]})")
    return float(value)


def load_path(location: str | Path, n_model_frames: int = 1, start_frame: float = 0.0, fps: float = 30.0
              ) -> CameraPath:
    """Open a path in any supported form: the viewer's JSON, nerfstudio's JSON or an EasyVolcap folder.

    ``n_model_frames`` maps nerfstudio's ``render_time``; ``start_frame`` is the model frame shown where the
    file gives no time (nerfstudio without ``render_time``, EasyVolcap folders); ``fps`` is the frame rate of
    an EasyVolcap folder, which has none.
    """
    location = Path(location)
    if location.is_dir() or location.name in ("intri.yml", "extri.yml"):
        from .easyvolcap import load_easyvolcap_path

        return load_easyvolcap_path(location, fps, start_frame)
    data = load_json_file(location, "camera path")
    if isinstance(data, dict) and data.get("format") != FORMAT and ("camera_path" in data or "keyframes" in data):
        from .nerfstudio import path_from_nerfstudio

        return path_from_nerfstudio(data, location, n_model_frames, start_frame)
    return path_from_json(data, location)
