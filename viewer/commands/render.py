"""``k4d-viewer render``: headless rendering of one frame or a range to PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ..camera import Camera, default_camera, load_camera_json, parse_up
from ..colour import ColourSettings
from ..errors import InputError
from ..fileutil import check_output_folder
from ..image import MODES, save_png, to_image
from ..model import Model
from ..render import BACKENDS, RasterSettings, get_backend
from ..render.base import BackendUnavailable
from ..render.pipeline import render_frame
from ..rig import load_rig
from .common import add_model_argument, finite_float, load_model, parse_frames, parse_size, progress

DEFAULT_SIZE = (1920, 1080)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "render", help="render frames to PNG without a window",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Render one frame (or a range) of a model to PNG, headless.",
        epilog="examples:\n"
               "  k4d-viewer render -o demo.png                      # built-in demo, frame 0\n"
               "  k4d-viewer render model.npz --frames 0:30 -o out.png  # out_0000.png .. out_0029.png\n"
               "  k4d-viewer render model.npz --camera cam.json --size 3840x2160 -o 4k.png\n"
               "  k4d-viewer render model.npz --view 3 --mode depth -o depth.png")
    add_model_argument(parser)
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="PNG path; for a range, frame numbers are added (out_0007.png) unless the name "
                             "has a {frame} or %%04d field")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--frame", type=int, default=0, help="frame index, 0-based (default 0)")
    which.add_argument("--frames", metavar="A:B", help="a range of frames, Python-slice style (B exclusive)")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--camera", type=Path, metavar="CAM.json",
                      help="camera JSON {H, W, K, R, T, n, f} (what the viewer copies with Ctrl+C)")
    view.add_argument("--view", type=int, metavar="I", help="render from capture camera I (0-based)")
    parser.add_argument("--cameras", type=Path, metavar="DIR",
                        help="capture-camera rig (intri.yml + extri.yml) for --view, if the model has none")
    parser.add_argument("--size", type=parse_size, metavar="WxH",
                        help="image size (default: the camera's own, or 1920x1080 for the default camera)")
    parser.add_argument("--backend", choices=BACKENDS, default="torch", help="rasterizer (default torch)")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda, cuda:1 ... (default auto)")
    parser.add_argument("--mode", choices=MODES, default="color", help="what to write (default color)")
    parser.add_argument("--rgba", action="store_true", help="write accumulated alpha as a fourth channel")
    parser.add_argument("--up", type=str, help="override the model's world up axis for the default camera")
    quality = parser.add_argument_group("rendering rules (4K4D defaults)")
    quality.add_argument("--layers", type=int, default=11, help="K: points composited per pixel, 1-32 (default 11)")
    quality.add_argument("--radius-scale", type=finite_float, default=None,
                         help="point radius multiplier (default 1.0; 0.85 with --solid)")
    quality.add_argument("--alpha-threshold", type=finite_float, default=1e-4, help="drop points with alpha <= this")
    quality.add_argument("--bg", type=str, default="0,0,0", metavar="R,G,B", help="background colour in [0,1]")
    quality.add_argument("--solid", action="store_true", help="solid mode: nearest point wins, no blending")
    quality.add_argument("--n-srcs", type=int, help="source views blended (default: the model's, usually 4)")
    quality.add_argument("--sh-degree", type=int, default=3, help="highest SH degree used, 0-3 (default 3)")
    quality.add_argument("--sh-limit", type=finite_float, help="SH residual limit (default: the model's, usually 1.0)")
    quality.add_argument("--skip-sh", action="store_true", help="debug view: base colour only")
    quality.add_argument("--skip-base", action="store_true", help="debug view: SH residual only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raster, device = _raster_settings(args), _device(args.device)
    _check_output(args.output)
    rasterizer = _backend(args.backend)
    model = load_model(args.model, up=args.up)
    try:
        info = model.info
        frames = parse_frames(args.frames, info.n_frames) if args.frames is not None else [args.frame]
        if not 0 <= frames[0] < info.n_frames:
            raise InputError("--frame", f"{args.frame} is out of range (the model has frames 0..{info.n_frames - 1})")
        colour = _colour_settings(args, model)
        outputs = [_output_path(args.output, index, len(frames) > 1) for index in frames]
        if len(set(outputs)) != len(outputs):
            raise InputError(args.output, "the name pattern gives several frames the same file name")
        first = model.read_frame(frames[0])
        camera = _camera(args, model, first)
        written: list[Path] = []
        try:
            for index, path in progress(zip(frames, outputs), "rendering", len(frames)):
                frame = (first if index == frames[0] else model.read_frame(index)).to(device)
                result = render_frame(frame, info.colour, camera, rasterizer, colour, raster)
                save_png(to_image(result, args.mode, with_alpha=args.rgba), path)
                written.append(path)
        except BaseException:
            for path in written:  # a failed range leaves nothing behind
                path.unlink(missing_ok=True)
            raise
        print(f"wrote {outputs[0]}" if len(outputs) == 1 else f"wrote {len(outputs)} frames: {outputs[0]} .. "
              f"{outputs[-1]}")
    finally:
        model.close()
    return 0


def _raster_settings(args: argparse.Namespace) -> RasterSettings:
    if not 1 <= args.layers <= 32:
        raise InputError("--layers", f"{args.layers} is outside 1..32")
    if args.alpha_threshold < 0:
        raise InputError("--alpha-threshold", "must be >= 0")
    try:
        bg = tuple(float(c) for c in args.bg.split(","))
    except ValueError:
        bg = ()
    if len(bg) != 3 or not all(0 <= c <= 1 for c in bg):
        raise InputError("--bg", f"'{args.bg}' is not R,G,B with values in [0,1]")
    scale = args.radius_scale if args.radius_scale is not None else (0.85 if args.solid else 1.0)
    if not scale > 0:
        raise InputError("--radius-scale", "must be > 0")
    return RasterSettings(layers=args.layers, radius_scale=scale, alpha_threshold=args.alpha_threshold,
                          background=bg, solid=args.solid)


def _colour_settings(args: argparse.Namespace, model: Model) -> ColourSettings:
    n_srcs = args.n_srcs if args.n_srcs is not None else model.info.n_srcs
    sh_limit = args.sh_limit if args.sh_limit is not None else model.info.sh_limit
    if n_srcs < 1:
        raise InputError("--n-srcs", "must be >= 1")
    if not 0 <= args.sh_degree <= 3:
        raise InputError("--sh-degree", f"{args.sh_degree} is outside 0..3")
    if sh_limit < 0:
        raise InputError("--sh-limit", "must be >= 0")
    return ColourSettings(n_srcs=n_srcs, sh_degree=args.sh_degree, sh_limit=sh_limit, skip_sh=args.skip_sh,
                          skip_base=args.skip_base)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise InputError("--device", f"'{name}' is not a device this renderer runs on (auto, cpu, cuda, cuda:N)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device", f"'{name}' asked for, but CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InputError("--device", f"'{name}': this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def _backend(name: str):
    try:
        return get_backend(name)
    except BackendUnavailable as exc:
        raise InputError("--backend", f"{name}: {exc}") from None


def _check_output(path: Path) -> None:
    if path.suffix.lower() != ".png":
        raise InputError(path, "output must be a .png file")
    check_output_folder(path)
    _output_path(path, 0, True)  # a bad name pattern is an error before anything is rendered


def _output_path(template: Path, index: int, numbered: bool) -> Path:
    text = str(template)
    try:
        if "{" in text:
            path = Path(text.format(frame=index))
        elif "%" in text:
            path = Path(text % index)
        elif not numbered:
            return template
        else:
            return template.with_name(f"{template.stem}_{index:04d}{template.suffix}")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise InputError(template, f"bad frame-number pattern ({exc}); use {{frame}}, {{frame:04d}} or %04d") \
            from None
    if path.suffix.lower() != ".png" or path.parent != template.parent:
        raise InputError(template, "the frame-number pattern must keep the folder and the .png ending")
    return path


def _camera(args: argparse.Namespace, model: Model, frame) -> Camera:
    info = model.info
    if args.camera is not None:
        camera = load_camera_json(args.camera)
    elif args.view is not None:
        cameras = load_rig(args.cameras) if args.cameras is not None else info.cameras
        if not cameras:
            raise InputError(info.path, "has no capture cameras for --view (give a rig with --cameras DIR)")
        if not 0 <= args.view < len(cameras):
            raise InputError("--view", f"{args.view} is out of range (cameras 0..{len(cameras) - 1})")
        camera = cameras[args.view]
    else:
        try:
            up = parse_up(args.up) if args.up is not None else info.up
        except ValueError as exc:
            raise InputError("--up", str(exc)) from None
        lo, hi, toward = info.framing(frame)
        camera = default_camera(lo, hi, up, *(args.size or DEFAULT_SIZE), toward=toward)
    return camera.resized(*args.size) if args.size else camera
