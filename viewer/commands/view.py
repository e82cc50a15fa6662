"""``k4d-viewer [view] [MODEL]``: open the desktop viewer."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..camera import load_camera_json
from ..errors import InputError
from ..settings import add_arguments as add_settings_arguments
from ..settings import from_args as settings_from_args
from .common import add_bake_arguments, add_model_argument, cache_budgets, load_model, parse_size


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "view", help="open the desktop viewer (the default command)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Open a window that plays the model: drag to orbit, scroll to dolly, Space to play, F1 for all "
                    "shortcuts. 'k4d-viewer MODEL' is the same as 'k4d-viewer view MODEL'.")
    add_model_argument(parser)
    add_bake_arguments(parser)
    parser.add_argument("--backend", choices=("auto", "cuda", "gl", "torch"), default="auto",
                        help="rasterizer: auto (cuda where an NVIDIA GPU and triton work, else gl), cuda (compute "
                             "kernels), gl (OpenGL depth peeling) or torch (reference, slow)")
    parser.add_argument("--frame", type=int, default=0, help="frame to start on (default 0)")
    parser.add_argument("--camera", type=Path, metavar="CAM.json", help="start from this camera")
    parser.add_argument("--window", type=parse_size, metavar="WxH", help="window size (default: as last time)")
    parser.add_argument("--resolution", type=parse_resolution, default="window", metavar="WxH",
                        help="render resolution: 'window' (the default: the render region's size) or any WxH, "
                             "e.g. 3840x2160 (the Quality panel changes it)")
    parser.add_argument("--host-cache", type=str, metavar="SIZE",
                        help="host memory for cached frames, e.g. 16G (default: 40%% of the free memory)")
    parser.add_argument("--gpu-cache", type=str, metavar="SIZE",
                        help="GPU memory for cached frames, e.g. 8G (default: half of the free GPU memory)")
    parser.add_argument("--screenshot-dir", type=Path, default=Path("."),
                        help="where Ctrl+S saves screenshots (default: the current folder)")
    add_settings_arguments(parser, "initial rendering rules (changeable in the Quality panel)")
    parser.set_defaults(run=run)


def parse_resolution(text: str) -> str | tuple[int, int]:
    """--resolution: 'window', a preset of the Quality panel, or a custom WxH; argparse type."""
    from ..app.state import MIN_CUSTOM_SIDE, RESOLUTION_PRESETS

    if text == "window":
        return text
    size = parse_size(text)
    if min(size) < MIN_CUSTOM_SIDE:
        raise argparse.ArgumentTypeError(f"'{text}': width and height must be at least {MIN_CUSTOM_SIDE}")
    preset = f"{size[0]}x{size[1]}"
    return preset if preset in RESOLUTION_PRESETS else size


def run(args: argparse.Namespace) -> int:
    if not args.screenshot_dir.is_dir():
        raise InputError(args.screenshot_dir, "screenshot folder does not exist")
    settings = settings_from_args(args)
    camera = load_camera_json(args.camera) if args.camera else None
    budgets = cache_budgets(args)
    model = load_model(args.model, data=args.data, preset=args.preset)
    try:
        if not 0 <= args.frame < model.info.n_frames:
            raise InputError("--frame", f"{args.frame} is out of range (frames 0..{model.info.n_frames - 1})")
        from ..app.window import NoDisplayError

        try:
            from ..app.ui_prefs import remember_model
            from ..app.viewer import ViewerApp, ViewerOptions

            app = ViewerApp(model, ViewerOptions(backend=args.backend, frame=args.frame, camera=camera,
                                                 window_size=args.window, resolution=args.resolution,
                                                 screenshot_dir=args.screenshot_dir, settings=settings,
                                                 open_model=load_model, **budgets))
            if args.model is not None:
                remember_model(args.model)
        except NoDisplayError as exc:
            raise InputError(None, f"cannot open a window: {exc}; render headless with 'k4d-viewer render "
                             "MODEL -o out.png'") from None
        except ImportError as exc:
            raise InputError(None, f"the viewer needs moderngl, glfw and imgui-bundle ({exc})") from None
        app.run()
    finally:
        model.close()
    return 0
