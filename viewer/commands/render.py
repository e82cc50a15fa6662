"""``k4d-viewer render``: headless rendering of one frame or a range to PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ..fileutil import check_output_folder
from ..render import BACKENDS, get_backend
from ..render.base import BackendUnavailable
from ..render.pipeline import render_frame
from ..settings import add_arguments as add_settings_arguments
from ..settings import from_args as settings_from_args
from ..video import CODECS, is_video
from .common import add_bake_arguments, add_model_argument, finite_float, load_model, parse_device, parse_size, warn
from .render_output import OUTPUT_KINDS, make_sink, render_samples
from .render_plan import ORBIT_SECONDS, SECONDS_PER_CAPTURE_CAMERA, RenderPlan, make_plan, uses_path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="render frames, camera paths and videos without a window",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Render a model headless: one frame or a range to PNG, or a camera path (a path file or a "
                    "preset) to a video or numbered PNGs. The output's extension decides: .png, or .mp4 .mov "
                    ".mkv .webm for a video.",
        epilog="examples:\n"
               "  k4d-viewer render -o demo.png                         # built-in demo, frame 0\n"
               "  k4d-viewer render model.npz --orbit -o orbit.mp4      # a full turn, 8 s, time frozen\n"
               "  k4d-viewer render model.npz --orbit --play -o o.mp4   # ... while the model plays\n"
               "  k4d-viewer render model.npz --bullet-time 40 --seconds 4 -o bt.mp4\n"
               "  k4d-viewer render model.npz --path path.json -o video.mp4 --size 3840x2160\n"
               "  k4d-viewer render model.npz --path camera_path.json -o frames/f.png  # nerfstudio path\n"
               "  k4d-viewer render model.npz --view 3 --frames 0:150 -o cam3.mp4   # fixed camera, time plays\n"
               "  k4d-viewer render model.npz --frames 0:30 -o out.png  # out_0000.png .. out_0029.png\n"
               "  k4d-viewer render model.npz --camera cam.json --size 3840x2160 -o 4k.png")
    add_model_argument(parser)
    add_bake_arguments(parser)
    parser.add_argument("-o", "--output", type=Path,
                        help="a .png, or a video (.mp4 .mov .mkv .webm); for several frames to PNG, numbers are "
                             "added (out_0007.png) unless the name has a {frame} or %%04d field")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--frame", type=int, default=0, help="frame index, 0-based (default 0); where a path "
                       "or preset starts in time")
    which.add_argument("--frames", metavar="A:B", help="a range of frames, Python-slice style (B exclusive)")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--camera", type=Path, metavar="CAM.json",
                      help="camera JSON {H, W, K, R, T, n, f} (what the viewer copies with Ctrl+C)")
    view.add_argument("--view", type=int, metavar="I", help="render from capture camera I (0-based)")
    parser.add_argument("--cameras", type=Path, metavar="DIR",
                        help="capture-camera rig (intri.yml + extri.yml) for --view, if the model has none")
    parser.add_argument("--size", type=parse_size, metavar="WxH",
                        help="image size (default: the camera's or path's own, or 1920x1080 for the default camera)")
    parser.add_argument("--backend", choices=BACKENDS, default="torch", help="rasterizer (default torch)")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda, cuda:1 ... (default auto)")
    parser.add_argument("--rgba", action="store_true", help="write accumulated alpha as a fourth channel (PNG, "
                        "or an FFV1 .mkv): a transparent background")
    parser.add_argument("--up", type=str, help="override the model's world up axis for the default camera")
    paths = parser.add_argument_group("camera paths and video")
    preset = paths.add_mutually_exclusive_group()
    preset.add_argument("--path", type=Path, metavar="PATH", help="camera path: a k4d-viewer path .json (saved by "
                        "the viewer), a nerfstudio camera_path.json, or an EasyVolcap camera folder")
    preset.add_argument("--orbit", action="store_true", help="a full turn around the subject from the start view "
                        "(--camera/--view, else at the capture rig's height and distance)")
    preset.add_argument("--spiral", action="store_true", help="a turn that rises and sinks, facing the subject")
    preset.add_argument("--through-cameras", action="store_true",
                        help="through the capture cameras in order around the subject")
    preset.add_argument("--bullet-time", type=int, metavar="FRAME", help="an orbit with time frozen at FRAME")
    paths.add_argument("--play", action="store_true", help="let model time advance (from --frame) during "
                       "--orbit/--spiral/--through-cameras")
    paths.add_argument("--seconds", type=finite_float, help=f"preset length (default {ORBIT_SECONDS:g} s a turn; "
                       f"{SECONDS_PER_CAPTURE_CAMERA:g} s per capture camera)")
    paths.add_argument("--fps", type=finite_float, help="output frame rate (default: the path's, else the model's)")
    paths.add_argument("--codec", help=f"video codec: {', '.join(CODECS)} (default h264; vp9 for .webm)")
    paths.add_argument("--crf", type=int, help="video quality, lower is better (default 18 for h264)")
    paths.add_argument("--resume", action="store_true", help="PNG sequences: skip frames already written; with "
                       "--workers, skip finished segments")
    paths.add_argument("--workers", type=int, metavar="N", help="render the path in N parallel segments (local "
                       "Ray or worker processes, as 'k4d-viewer batch'): parallel encoders for long videos")
    paths.add_argument("--save-path", type=Path, metavar="FILE",
                       help="also write the camera path used: a .json in the viewer's format, "
                            "'*camera_path.json' for nerfstudio, or a folder for EasyVolcap")
    add_settings_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.workers is not None:
        return _run_parallel(args)
    settings, device = settings_from_args(args), parse_device(args.device)
    _check_flags(args)
    rasterizer = _backend(args.backend)
    model = load_model(args.model, up=args.up, data=args.data, preset=args.preset)
    try:
        info = model.info
        settings = settings.for_model(info)
        raster = settings.raster()
        colour = settings.colour(info.n_srcs, info.sh_limit)
        plan = make_plan(args, model)
        if args.save_path is not None:
            _save_path(plan, args.save_path, info.n_frames)
        if args.output is None:
            return 0
        size = (plan.samples[0].camera.width, plan.samples[0].camera.height)
        sink = make_sink(args.output, plan.frame_numbers(), size, plan.fps, args.codec, args.crf, args.rgba,
                         args.resume)

        empty: list[int] = []

        def render(frame, sample):
            result = render_frame(frame, info.colour, sample.camera, rasterizer, colour, raster)
            if not bool((result.alpha > 0).any()):
                empty.append(sample.frame)
            return result

        print(render_samples(plan.samples, model, device, render, sink, settings.mode, args.rgba))
        if empty:
            warn(f"{len(empty)} of {len(plan.samples)} image(s) show none of the model (only background): the "
                 "camera faces away or the model is outside its near/far range")
    finally:
        model.close()
    return 0


def _run_parallel(args: argparse.Namespace) -> int:
    """``render --workers N``: this one job through the batch machinery (segments, manifest, join)."""
    from ..batch.jobs import Job
    from .batch import run_single_job

    if not 1 <= args.workers <= 4096:
        raise InputError("--workers", f"{args.workers} is outside 1..4096")
    if args.output is None or not (uses_path(args) or args.frames is not None):
        raise InputError("--workers", "needs -o and a camera path, a preset or --frames")
    words = list(getattr(args, "command_line", []))
    if not words:
        raise InputError("--workers", "is only available from the command line")
    argv, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in ("--workers", "--resume"):
            skip = word == "--workers"
        elif word.startswith("--workers="):
            continue
        else:
            argv.append(word)
    job = Job(0, f"render ({args.output})", tuple(argv), args.output, None)
    return run_single_job(job, args.workers, args.resume)


def _check_flags(args: argparse.Namespace) -> None:
    if args.output is None and args.save_path is None:
        raise InputError("-o/--output", "required (or --save-path to write only the camera path)")
    if args.output is not None:
        if args.output.suffix.lower() != ".png" and not is_video(args.output):
            raise InputError(args.output, OUTPUT_KINDS)
        check_output_folder(args.output)
    if args.frames is not None and uses_path(args):
        raise InputError("--frames", "does not go with a camera path or preset (their model time comes from the "
                         "path; --frame sets where presets start)")
    if args.play and not (args.orbit or args.spiral or args.through_cameras):
        raise InputError("--play", "applies to --orbit, --spiral and --through-cameras")
    if args.seconds is not None and not 0 < args.seconds <= 36000:
        raise InputError("--seconds", f"{args.seconds:g} is outside (0, 36000]")
    if args.fps is not None and not 0 < args.fps <= 1000:
        raise InputError("--fps", f"{args.fps:g} is outside (0, 1000]")
    if args.crf is not None and not 0 <= args.crf <= 63:
        raise InputError("--crf", f"{args.crf} is outside 0..63")


def _save_path(plan: RenderPlan, target: Path, n_frames: int) -> None:
    if plan.path is None:
        raise InputError("--save-path", "needs a camera path or a preset (--path, --orbit, ...)")
    if target.suffix.lower() != ".json":
        from ..paths.easyvolcap import save_easyvolcap

        save_easyvolcap([s.camera for s in plan.samples], target)
    elif target.name.endswith("camera_path.json"):
        from ..paths.nerfstudio import save_nerfstudio

        check_output_folder(target)
        save_nerfstudio(plan.path, target, n_frames, fps=plan.fps)
    else:
        from ..paths.pathfile import save_path

        if not plan.path.keyframes:
            raise InputError("--save-path", "this path is a list of sampled cameras without keyframes: save it as "
                             "'*camera_path.json' or as a folder")
        check_output_folder(target)
        save_path(plan.path, target)
    print(f"wrote camera path {target}")


def _backend(name: str):
    try:
        return get_backend(name)
    except BackendUnavailable as exc:
        raise InputError("--backend", f"{name}: {exc}") from None


