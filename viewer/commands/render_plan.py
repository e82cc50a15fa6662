"""What ``render`` renders: a list of (camera, model frame) samples from a camera file, a capture camera, a
path file or a preset, and a frame rate for videos."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Camera, default_camera, load_camera_json, parse_up
from ..errors import InputError
from ..model import Model
from ..paths import presets
from ..paths.path import CameraPath, PathSample, rescale
from ..paths.pathfile import MAX_PATH_FRAMES, load_path
from ..rig import load_rig
from .common import parse_frames, warn

DEFAULT_SIZE = (1920, 1080)
ORBIT_SECONDS = 8.0           # one turn
SECONDS_PER_CAPTURE_CAMERA = 0.5


@dataclass
class RenderPlan:
    samples: list[PathSample]
    fps: float
    path: CameraPath | None = None  # the path behind the samples (for --save-path)
    numbers: list[int] | None = None  # PNG frame numbers: the model frames of a range, else output frames

    def frame_numbers(self) -> list[int]:
        return self.numbers if self.numbers is not None else list(range(len(self.samples)))


def uses_path(args: argparse.Namespace) -> bool:
    return bool(args.path or args.orbit or args.spiral or args.through_cameras or args.bullet_time is not None)


def make_plan(args: argparse.Namespace, model: Model) -> RenderPlan:
    info = model.info
    last = info.n_frames - 1
    if not 0 <= args.frame <= last:
        raise InputError("--frame", f"{args.frame} is out of range (the model has frames 0..{last})")
    if args.path is not None:
        path = load_path(args.path, info.n_frames, float(args.frame), args.fps or info.fps)
        fps = args.fps or path.fps
        _check_length(path, fps, "--fps" if args.fps else args.path)
        samples = path.sample(args.size, fps)
        _check_times(samples, last, args.path)
        return RenderPlan(samples, fps, path)
    if uses_path(args):
        path = _preset(args, model)
        fps = path.fps
        _check_length(path, fps, "--seconds")
        return RenderPlan(path.sample(args.size), fps, path)
    if args.cameras is not None and args.view is None:
        warn("--cameras is used with --view and the path presets; here it changes nothing")
    frames = parse_frames(args.frames, info.n_frames) if args.frames is not None else [args.frame]
    camera = _camera(args, model, model.read_frame(frames[0]))
    fps = args.fps or info.fps
    return RenderPlan([PathSample(camera, float(f)) for f in frames], fps, numbers=frames)


def _check_length(path: CameraPath, fps: float, where) -> None:
    count = path.n_frames(fps)
    if count > MAX_PATH_FRAMES:
        raise InputError(where, f"the video would have {count:,} frames (at most {MAX_PATH_FRAMES:,})")


def _check_times(samples: list[PathSample], last: int, where: Path) -> None:
    for index, sample in enumerate(samples):
        if not 0 <= sample.frame <= last:
            raise InputError(where, f"output frame {index} shows model frame {sample.frame}, but the model has "
                             f"frames 0..{last}")


def _preset(args: argparse.Namespace, model: Model) -> CameraPath:
    info = model.info
    frame = args.bullet_time if args.bullet_time is not None else args.frame
    if not 0 <= frame < info.n_frames:
        raise InputError("--bullet-time", f"{frame} is out of range (the model has frames 0..{info.n_frames - 1})")
    first = model.read_frame(frame)
    lo, hi, _ = info.framing(first)
    centre = (np.asarray(lo, np.float64) + np.asarray(hi, np.float64)) / 2
    up = _up(args, model)
    fps = args.fps or info.fps
    timing = presets.Timing(float(frame), info.fps if args.play and args.bullet_time is None else 0.0,
                            float(info.n_frames - 1))
    cameras = _rig(args, model)
    size = args.size or (DEFAULT_SIZE if not (args.camera or args.view is not None) else None)
    if args.through_cameras:
        if not cameras:
            raise InputError(info.path, "has no capture cameras for --through-cameras (give --cameras DIR)")
        seconds = args.seconds or SECONDS_PER_CAPTURE_CAMERA * len(cameras)
        return presets.through_cameras(cameras, centre, up, seconds, fps, timing, size=args.size)
    if args.camera is not None or args.view is not None:
        start = _camera(args, model, first)
    elif cameras:
        start = presets.rig_view(cameras, centre, up, size)
    else:
        start = _camera(args, model, first)
    seconds = args.seconds or ORBIT_SECONDS
    if args.spiral:
        height = float(np.abs((np.asarray(hi) - np.asarray(lo)) @ np.abs(np.array(_axis(up)))))
        return presets.spiral(start, centre, up, height, seconds, fps, timing)
    return presets.orbit(start, centre, up, seconds, fps, timing)


def _axis(up: str) -> tuple[float, float, float]:
    from ..camera import UP_AXES

    return UP_AXES[up]


def _up(args: argparse.Namespace, model: Model) -> str:
    try:
        return parse_up(args.up) if args.up is not None else model.info.up
    except ValueError as exc:
        raise InputError("--up", str(exc)) from None


def _rig(args: argparse.Namespace, model: Model) -> list[Camera]:
    if args.cameras is None:
        return list(model.info.cameras)
    notes: list[str] = []
    cameras = load_rig(args.cameras, notes)
    for note in notes:
        warn(note)
    return cameras


def _camera(args: argparse.Namespace, model: Model, frame) -> Camera:
    info = model.info
    if args.camera is not None:
        camera = load_camera_json(args.camera)
    elif args.view is not None:
        cameras = _rig(args, model)
        if not cameras:
            raise InputError(info.path, "has no capture cameras for --view (give a rig with --cameras DIR)")
        if not 0 <= args.view < len(cameras):
            raise InputError("--view", f"{args.view} is out of range (cameras 0..{len(cameras) - 1})")
        camera = cameras[args.view]
    else:
        lo, hi, toward = info.framing(frame)
        camera = default_camera(lo, hi, _up(args, model), *(args.size or DEFAULT_SIZE), toward=toward)
    if args.size and (args.camera is not None or args.view is not None):
        # a camera keeps its focal ratio at another size: fitted whole (letterbox/pillarbox) for frames,
        # the vertical field of view kept for paths
        return camera.fitted(*args.size) if not uses_path(args) else rescale(camera, *args.size)
    return camera
