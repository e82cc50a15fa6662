"""``k4d-viewer bake``: a released 4K4D model (``1599.npz`` weights) + its capture dataset → a playable model."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from ..bake.bake import Baker, FrameStore, bake_identity
from ..bake.dataset import Dataset
from ..bake.output import LAYOUTS, write_output
from ..bake.presets import PRESETS, preset_for, with_overrides
from ..bake.weights import WeightsFile
from ..errors import InputError
from ..fileutil import check_output_folder, check_regular_file
from .common import finite_float, human_bytes, parse_device, parse_frames


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bake", help="bake a released 4K4D model (1599.npz) and its dataset into a playable model",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compute what 4K4D's viewer precomputes from a trained model: per frame the point radii, "
                    "opacities and SH from the networks, and per source view the image colours and blend "
                    "weights, in pure PyTorch (no tiny-cuda-nn; a GPU with 8 GB, or the CPU). Frames are "
                    "written as they finish: an interrupted bake continues with --resume.",
        epilog="examples:\n"
               "  k4d-viewer bake data/trained_model/4k4d_0013_01/1599.npz --data data/renbody/0013_01 -o 0013_01.npz\n"
               "  k4d-viewer bake 1599.npz --data my_313/ --preset my_313 --frames 0:20 -o first20.npz\n"
               "  k4d-viewer bake 1599.npz --data DATA -o runtime.npz --layout 4k4d   # 4K4D's runtime arrays\n"
               f"\npresets: {', '.join(PRESETS)}")
    parser.add_argument("weights", type=Path, help="the model's weights: data/trained_model/4k4d_<seq>/1599.npz")
    parser.add_argument("--data", type=Path, required=True, metavar="DATA_ROOT",
                        help="the dataset: images/<cam>/<frame>.jpg + masks/ + intri.yml/extri.yml (or optimized/)"
                             ", or the minimal dataset's videos_libx265/<cam>.mp4")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .npz to write")
    parser.add_argument("--preset", help="which released model's constants (default: from the folder name "
                                         "4k4d_<seq>)")
    parser.add_argument("--frames", metavar="A:B", help="bake frames A..B-1 only (default: every frame)")
    parser.add_argument("--layout", choices=LAYOUTS, default="canonical",
                        help="canonical (default: streams in k4d-viewer) or 4k4d (4K4D's runtime arrays)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted bake of this output")
    parser.add_argument("--device", default=None, help="cuda, cuda:1 or cpu (default: cuda when available)")
    overrides = parser.add_argument_group("constants (each overrides the preset's; the preset's are printed)")
    overrides.add_argument("--t-end", type=int, metavar="N", help="training frame count (t = f / (N - 1))")
    overrides.add_argument("--ratio", metavar="R[,R...]", help="image scale, one value or one per camera")
    overrides.add_argument("--aligned", action=argparse.BooleanOptionalAction, default=None,
                           help="re-centre the cameras on their centre of attention (NHR, ZJU-MoCap 313/315)")
    overrides.add_argument("--cameras", choices=("optimized", "root"), help="optimized/ or the root's intri/extri")
    overrides.add_argument("--masks", metavar="DIR", help="the masks folder's name (masks, mask, bgmtv2)")
    overrides.add_argument("--crop", action=argparse.BooleanOptionalAction, default=None,
                           help="crop to the mask box and fill the background with black")
    overrides.add_argument("--dist-opt-k", action=argparse.BooleanOptionalAction, default=None,
                           help="undistort onto OpenCV's optimal new camera matrix")
    overrides.add_argument("--legacy", action=argparse.BooleanOptionalAction, default=None,
                           help="legacy networks (alpha shift 0, ReLU SH)")
    for name, text in (("radius-min", "smallest point radius"), ("radius-max", "largest point radius"),
                       ("radius-shift", "radius logit shift"), ("bg-radius-max", "background's largest radius"),
                       ("bg-radius-shift", "background's radius logit shift"),
                       ("sh-limit", "SH residual limit written for the viewer")):
        overrides.add_argument(f"--{name}", type=finite_float, metavar="X", help=text)
    overrides.add_argument("--n-srcs", type=int, metavar="N", help="source views the viewer blends")
    parser.set_defaults(run=run)


def _ratio(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError("--ratio", f"'{text[:40]}' is not a number or a comma-separated list") from None
    if not values or not all(0 < v <= 4 for v in values):
        raise InputError("--ratio", "every value must be in (0, 4]")
    return values


def run(args: argparse.Namespace) -> int:
    check_regular_file(args.weights)
    if args.output.suffix.lower() != ".npz":
        raise InputError(args.output, "output must be a .npz file")
    check_output_folder(args.output)
    if args.output.resolve() == args.weights.resolve():
        raise InputError(args.output, "is the weights file (4K4D's own tool overwrites it; this one does not)")
    if args.t_end is not None and args.t_end < 1:
        raise InputError("--t-end", "must be >= 1")
    preset = with_overrides(preset_for(args.weights, args.preset), t_end=args.t_end, ratio=_ratio(args.ratio),
                            aligned=args.aligned, cameras=args.cameras, masks=args.masks, crop=args.crop,
                            dist_opt_k=args.dist_opt_k, legacy=args.legacy, radius_min=args.radius_min,
                            radius_max=args.radius_max, radius_shift=args.radius_shift,
                            bg_radius_max=args.bg_radius_max, bg_radius_shift=args.bg_radius_shift,
                            sh_limit=args.sh_limit, n_srcs=args.n_srcs)
    if args.n_srcs is not None and args.n_srcs < 1:
        raise InputError("--n-srcs", "must be >= 1")
    if not 0 < preset.radius_min < preset.radius_max:
        raise InputError("--radius-min", f"the radius range {preset.radius_min:g}..{preset.radius_max:g} is empty")
    device = parse_device("auto" if args.device is None else args.device)
    weights = WeightsFile(args.weights)
    notes: list[str] = []
    dataset = Dataset(args.data, preset, notes)
    try:
        frames = weights.frames
        if args.frames is not None:
            frames = [frames[i] for i in parse_frames(args.frames, len(frames))]
        print(preset.describe())
        for note in notes:
            print(f"note: {note}")
        kind = "foreground + background" if weights.background is not None else "one sampler"
        print(f"baking {len(frames)} frames x {dataset.n_views} views ({kind}) on {device}")
        store = FrameStore(args.output, bake_identity(args.weights, args.data, preset, frames), args.resume)
        try:
            views_per_frame = dataset.n_views * len(weights.samplers)
            _bake_frames(Baker(weights, dataset, preset, device), store, frames, views_per_frame)
        except BaseException:
            if not store.holds_frames():  # stopped before any frame was done: nothing to resume, nothing left
                store.remove()
            raise
        count = write_output(args.output, args.layout, store, frames, preset, f"4K4D {preset.name}")
        store.remove()
    finally:
        dataset.close()
        weights.close()
    print(f"wrote {args.output}: {count} frames, {human_bytes(args.output.stat().st_size)}")
    return 0


def _bake_frames(baker: Baker, store: FrameStore, frames: list[int], views_per_frame: int) -> None:
    """Bake the frames the store does not hold yet, each saved as it finishes, with one progress bar."""
    todo = [f for f in frames if not store.done(f)]
    if len(todo) < len(frames):
        print(f"resuming: {len(frames) - len(todo)} frames already baked")
    try:
        with tqdm(total=len(todo) * views_per_frame, desc="baking", unit="view", disable=None, leave=False) as bar:
            for index, frame in enumerate(todo):
                following = todo[index + 1] if index + 1 < len(todo) else None
                store.save(frame, baker.frame(frame, progress=lambda: bar.update(1), next_frame=following))
    finally:
        baker.close()
