"""The viewer's camera-path editor state: keyframes being built, path playback and the export job.

Typed state with methods, no window or UI imports: the Path panel calls these, the render loop asks
``playing_sample`` for the camera and frame to show while a path plays, and tests drive it directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..errors import InputError
from ..paths.path import DEFAULT_DURATION, DEFAULT_FPS, CameraPath, Keyframe, PathSample
from ..paths.pathfile import load_path, save_path

CURVE_SAMPLES = 200  # points of the path curve drawn over the view


@dataclass
class ExportJob:
    """A video or PNG export running on a background thread; the UI polls it."""

    output: Path
    total: int
    done: int = 0
    error: str = ""
    finished: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return not self.finished


@dataclass
class PathEditor:
    keyframes: list[Keyframe] = field(default_factory=list)
    selected: int = -1
    loop: bool = False
    tension: float = 0.0
    fps: float = DEFAULT_FPS
    default_duration: float = DEFAULT_DURATION
    playing: bool = False
    play_time: float = 0.0
    show_path: bool = True
    show_capture_cameras: bool = False
    file: str = "camera_path.json"
    export_file: str = "path.mp4"
    export: ExportJob | None = None
    _curve: tuple | None = field(default=None, repr=False, compare=False)  # (keyframes, settings, centres)

    # -- editing -----------------------------------------------------------------------------------------

    def add(self, camera: Camera, t: float) -> int:
        """Insert a keyframe at ``camera`` and model time ``t`` after the selected one (or at the end)."""
        index = self.selected + 1 if 0 <= self.selected < len(self.keyframes) else len(self.keyframes)
        self.keyframes.insert(index, Keyframe(replace(camera, name=""), float(t)))
        self.selected = index
        return index

    def replace(self, index: int, camera: Camera, t: float) -> None:
        key = self.keyframes[index]
        self.keyframes[index] = Keyframe(replace(camera, name=""), float(t), key.duration)

    def delete(self, index: int) -> None:
        del self.keyframes[index]
        self.selected = min(self.selected, len(self.keyframes) - 1)

    def move(self, index: int, delta: int) -> None:
        target = index + delta
        if 0 <= target < len(self.keyframes):
            self.keyframes[index], self.keyframes[target] = self.keyframes[target], self.keyframes[index]
            self.selected = target

    def set_time(self, index: int, t: float) -> None:
        self.keyframes[index] = replace(self.keyframes[index], t=float(t))

    def set_duration(self, index: int, seconds: float | None) -> None:
        self.keyframes[index] = replace(self.keyframes[index], duration=seconds)

    def clear(self) -> None:
        self.keyframes.clear()
        self.selected, self.playing = -1, False

    # -- the path ----------------------------------------------------------------------------------------

    def path(self, size: tuple[int, int]) -> CameraPath | None:
        """The path the keyframes describe, at output ``size``; None with no keyframe."""
        if not self.keyframes:
            return None
        return CameraPath(tuple(self.keyframes), fps=self.fps, loop=self.loop, tension=self.tension, size=size,
                          default_duration=self.default_duration)

    def curve(self) -> np.ndarray | None:
        """Camera centres at CURVE_SAMPLES even steps along the path, for the overlay (None with fewer than two
        keyframes or no length). Kept until a keyframe or a path setting changes: sampling the spline takes tens
        of milliseconds, far too long for every UI frame (benchmarks/bench_ui.py). Keyframes are frozen: an edit
        puts a new object in the list, and the cache holds the old ones, so identity says whether they changed."""
        if len(self.keyframes) < 2:
            return None
        settings = (self.loop, self.tension, self.default_duration, self.fps)
        cached = self._curve
        if cached is not None and cached[1] == settings and len(cached[0]) == len(self.keyframes) \
                and all(a is b for a, b in zip(cached[0], self.keyframes, strict=True)):
            return cached[2]
        first = self.keyframes[0].camera
        path = self.path((first.width, first.height))  # camera centres do not depend on the output size
        centres = None
        if path.seconds > 0:
            centres = np.stack([path.at(t, first.width, first.height).camera.centre
                                for t in np.linspace(0, path.seconds, CURVE_SAMPLES)])
        self._curve = (tuple(self.keyframes), settings, centres)
        return centres

    def key_times(self) -> list[float]:
        """Seconds into the path at which each keyframe is reached (for markers and jumping)."""
        times, total = [], 0.0
        for index, key in enumerate(self.keyframes):
            times.append(total)
            total += key.duration if key.duration is not None else self.default_duration
            if index == len(self.keyframes) - 1:
                break
        return times

    def save(self, target: str | Path, size: tuple[int, int]) -> Path:
        path = self.path(size)
        if path is None:
            raise InputError(target, "the path has no keyframes to save")
        save_path(path, Path(target).expanduser())
        return Path(target).expanduser()

    def load(self, source: str | Path, n_model_frames: int, start_frame: float) -> None:
        path = load_path(Path(source).expanduser(), n_model_frames, start_frame)
        if not path.keyframes:
            # a sampled path (nerfstudio, EasyVolcap): every sampled camera becomes a keyframe one frame apart
            keys = [Keyframe(s.camera, s.time, 1 / path.fps) for s in path.samples]
            path = replace(path, keyframes=tuple(keys), samples=None, default_duration=1 / path.fps)
        self.keyframes = list(path.keyframes)
        self.loop, self.tension, self.fps = path.loop, path.tension, path.fps
        self.default_duration = path.default_duration
        self.selected, self.playing, self.play_time = 0, False, 0.0

    # -- playback ----------------------------------------------------------------------------------------

    def toggle_play(self) -> None:
        self.playing = bool(self.keyframes) and not self.playing
        path = self.path((1, 1))
        if self.playing and path is not None and self.play_time >= path.seconds:
            self.play_time = 0.0

    def advance(self, dt: float, size: tuple[int, int]) -> PathSample | None:
        """While playing, move ``dt`` seconds along the path and return the camera and time there."""
        path = self.path(size)
        if not self.playing or path is None:
            return None
        self.play_time += dt
        if self.play_time >= path.seconds:
            if self.loop:
                self.play_time %= max(path.seconds, 1e-9)
            else:
                self.play_time, self.playing = path.seconds, False
        return path.at(self.play_time, *size)
