"""``k4d-viewer convert``: PLY sequences and 4K4D runtime files to the canonical, stream-friendly format."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..camera import parse_up
from ..errors import InputError
from ..fileutil import check_output_folder
from ..model import Frame, Model, open_model, save_canonical
from ..model.compact import compact_frame
from ..model.frame import ColourModel
from ..model.ply import DEFAULT_RADIUS_SCALE, NEIGHBOURS, OUTLIER_CAP, PlySequenceModel, expand_inputs
from ..rig import load_rig
from .common import finite_float, human_bytes, progress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert", help="convert PLY sequences or 4K4D runtime files to the canonical format",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a canonical k4d-viewer model from a PLY sequence (files, folders or quoted globs; "
                    "binary or ASCII; one file per frame) or from a 4K4D runtime .npz (re-packed uncompressed so "
                    "frames stream fast). PLY points get a radius from their local spacing; units and up axis "
                    "are detected unless given.",
        epilog="examples:\n"
               "  k4d-viewer convert 'captures/loot/*.ply' -o loot.npz --fps 30\n"
               "  k4d-viewer convert frames/ -o seq.npz --cameras rig/ --up z --units mm\n"
               "  k4d-viewer convert 4k4d_runtime.npz -o streaming.npz --cameras rig/")
    parser.add_argument("inputs", nargs="+", help="PLY files / folders / globs, or one .npz model")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .npz to write")
    parser.add_argument("--cameras", type=Path, metavar="DIR", help="attach an intri.yml/extri.yml capture rig")
    parser.add_argument("--fps", type=finite_float, help="frame rate (default: the input's, or 30)")
    parser.add_argument("--up", help="world up axis: x, y, z, -x, -y, -z (default: detected / the input's)")
    parser.add_argument("--units", choices=("auto", "m", "cm", "mm", "voxel"), default="auto",
                        help="PLY coordinate units (default: detected from the extent)")
    parser.add_argument("--voxel-size", type=finite_float, metavar="M",
                        help="metres per voxel for --units voxel (default: scale the subject to 1.8 m)")
    parser.add_argument("--radius-scale", type=finite_float, default=DEFAULT_RADIUS_SCALE,
                        help=f"PLY point radius = this × the distance to the point's {NEIGHBOURS}th nearest neighbour "
                             f"(default {DEFAULT_RADIUS_SCALE}; isolated points are held to "
                             f"{OUTLIER_CAP:g}× their neighbours' radius)")
    parser.add_argument("--compress", action="store_true", help="deflate the arrays (smaller, slower to play)")
    parser.add_argument("--compact", action="store_true",
                        help="8-bit colours and blend weights, 8-bit SH with a scale per point: about half the bytes "
                             "per frame (faster from disk), renders within 45 dB PSNR of the original")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.output.suffix.lower() != ".npz":
        raise InputError(args.output, "output must be a .npz file")
    check_output_folder(args.output)
    if args.fps is not None and not 0 < args.fps <= 1000:
        raise InputError("--fps", f"{args.fps} is outside (0, 1000]")
    if not args.radius_scale > 0:
        raise InputError("--radius-scale", "must be > 0")
    if args.voxel_size is not None and not args.voxel_size > 0:
        raise InputError("--voxel-size", "must be > 0")
    try:
        up = parse_up(args.up) if args.up is not None else None
    except ValueError as exc:
        raise InputError("--up", str(exc)) from None
    cameras = load_rig(args.cameras) if args.cameras else None
    model = _open_inputs(args, up)
    try:
        info = model.info
        if any(Path(i).resolve() == args.output.resolve() for i in args.inputs):
            raise InputError(args.output, "is also an input")
        count = save_canonical(
            args.output, _frames(model, args.compact), colour=info.colour, fps=args.fps or info.fps, up=up or info.up,
            bounds=info.bounds, sh_limit=info.sh_limit,
            n_srcs=info.n_srcs, cameras=cameras if cameras is not None else info.cameras, compress=args.compress,
            splat=info.splat)
    finally:
        model.close()
    points = info.points_per_frame
    for note in info.notes:
        print(f"note: {note}")
    print(f"wrote {args.output}: {count} frames, points per frame min {min(points):,} mean "
          f"{sum(points) / len(points):,.0f} max {max(points):,}, {human_bytes(args.output.stat().st_size)}")
    return 0


def _open_inputs(args: argparse.Namespace, up: str | None) -> Model:
    npz = [i for i in args.inputs if i.lower().endswith(".npz")]
    if npz:
        if len(args.inputs) != 1:
            raise InputError(npz[0], "an .npz model converts on its own (give one .npz, or only PLY inputs)")
        return open_model(npz[0])
    return PlySequenceModel(expand_inputs(args.inputs), up=up, units=args.units, voxel_size=args.voxel_size,
                            radius_scale=args.radius_scale, fps=args.fps or 30.0)


def _frames(model: Model, compact: bool = False) -> Iterator[dict[str, np.ndarray]]:
    """Each frame as arrays for the writer, with a progress bar; PLY colours are stored as 8-bit, and with
    ``compact`` image-based colours and SH too (model/compact.py)."""
    for index in progress(range(model.info.n_frames), "converting", model.info.n_frames):
        frame: Frame = model.read_frame(index)
        arrays = {name: value.numpy() for name, value in frame.__dict__.items() if value is not None}
        if isinstance(model, PlySequenceModel):
            arrays["radius"] = arrays["radius"].astype(np.float16)
            arrays["alpha"] = arrays["alpha"].astype(np.float16)
            if model.info.colour is ColourModel.RGB:
                arrays["rgb"] = np.round(arrays["rgb"] * 255).astype(np.uint8)
        yield compact_frame(arrays) if compact else arrays
