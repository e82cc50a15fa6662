"""Rendering one segment of a job (a range of its output frames) in a worker: the same plan, backend and
writers as ``k4d-viewer render``. Video segments are complete files of their own (each starts with a
keyframe), written atomically into the job's parts folder; PNG segments write their frames in place."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError


@dataclass(frozen=True)
class SegmentResult:
    start: int
    stop: int
    checksum: str
    files: tuple[str, ...]


def parts_folder(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def segment_file(output: Path, start: int) -> Path:
    return parts_folder(output) / f"segment_{start:07d}{output.suffix}"


def checksum(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as fp:
            for chunk in iter(lambda: fp.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=2)
def _prepared(argv: tuple[str, ...], output: str):
    """A worker keeps its job's parsed flags, open model, plan and backend across segments (a model opened,
    a path sampled and kernels compiled once per worker, not once per segment)."""
    from ..commands.common import load_model, parse_device
    from ..commands.render import _backend
    from ..commands.render_plan import make_plan
    from ..settings import from_args
    from .jobs import Job, parse_render_args

    output_path = Path(output)
    args = parse_render_args(Job(0, output, argv, output_path, None), output_path)
    settings = from_args(args)
    device, rasterizer = parse_device(args.device), _backend(args.backend)
    model = load_model(args.model, up=args.up)
    return args, settings.for_model(model.info), device, rasterizer, model, make_plan(args, model)


def render_segment(argv: tuple[str, ...], output: str, start: int, stop: int,
                   encoder_threads: int = 0) -> SegmentResult:
    """Render output frames [start, stop) of the render command ``argv``; runs in a worker process.
    ``encoder_threads``: threads of this segment's video encoder (0: the encoder's own choice)."""
    import torch

    from ..commands.render_output import PngSequence, VideoSink, render_samples
    from ..render.pipeline import render_frame
    from ..video import is_video

    output_path = Path(output)
    args, settings, device, rasterizer, model, plan = _prepared(argv, output)
    info = model.info
    samples = plan.samples[start:stop]
    size = (samples[0].camera.width, samples[0].camera.height)
    colour, raster = settings.colour(info.n_srcs, info.sh_limit), settings.raster()

    def render(frame, sample):
        return render_frame(frame, info.colour, sample.camera, rasterizer, colour, raster)

    if is_video(output_path):
        target = segment_file(output_path, start)
        target.parent.mkdir(exist_ok=True)
        sink = VideoSink(target, args.codec, args.crf, size, plan.fps, args.rgba, encoder_threads)
        files = [target]
    else:
        sink = PngSequence(output_path, plan.frame_numbers()[start:stop], False)
        files = list(sink.names)
    with torch.inference_mode():
        render_samples(samples, model, device, render, sink, settings.mode, args.rgba)
    return SegmentResult(start, stop, checksum(files), tuple(str(f) for f in files))


def plan_length(argv: tuple[str, ...], output: Path) -> tuple[int, float]:
    """(output frames, fps) of a job, checked as ``render`` checks it: model, path, flags, output folder."""
    from ..commands.common import load_model
    from ..commands.render import _check_flags
    from ..commands.render_plan import make_plan
    from ..settings import from_args
    from ..video import choose_codec, is_video
    from .jobs import Job, parse_render_args

    args = parse_render_args(Job(0, str(output), argv, output, None), output)
    from_args(args)
    _check_flags(args)
    if is_video(output):
        choose_codec(output, args.codec, args.rgba)
    elif args.codec is not None:
        raise InputError("codec", "applies to video outputs")
    model = load_model(args.model, up=args.up)
    try:
        plan = make_plan(args, model)
    finally:
        model.close()
    return len(plan.samples), plan.fps
