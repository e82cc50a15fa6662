"""``k4d-viewer info``: what a model holds, from its index (and, with --check, every frame's data)."""

from __future__ import annotations

import argparse
import json

from ..model import ModelInfo
from ..model.frame import ColourModel
from .common import add_model_argument, human_bytes, load_model, progress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="print what a model holds (frames, points, colour model, cameras)",
        description="Print frames, points per frame, colour model, source views, SH degree, bytes per frame and "
                    "capture cameras. Reads only the file's index unless --check is given.")
    add_model_argument(parser)
    parser.add_argument("--check", action="store_true", help="also read and validate every frame's data")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    try:
        if args.check:
            for index in progress(range(model.info.n_frames), "checking frames", model.info.n_frames):
                model.read_frame(index)
        data = info_dict(model.info)
        if args.check:
            data["check"] = {"frames_read": model.info.n_frames, "valid": True}
        print(json.dumps(data, indent=2) if args.json else format_info(model.info))
        if args.check and not args.json:
            print(f"check      all {model.info.n_frames} frames read and valid")
    finally:
        model.close()
    return 0


def info_dict(info: ModelInfo) -> dict:
    points = info.points_per_frame
    return {
        "path": str(info.path), "kind": info.kind, "frames": info.n_frames, "frame_labels": info.frame_labels,
        "fps": info.fps, "points": {"min": min(points), "mean": sum(points) / len(points), "max": max(points)},
        "colour": info.colour.value, "source_views": info.n_views, "sh_degree": info.sh_degree,
        "sh_limit": info.sh_limit, "n_srcs": info.n_srcs, "bytes_per_frame": {
            "min": min(info.bytes_per_frame), "max": max(info.bytes_per_frame)},
        "compressed": info.compressed, "up": info.up,
        "bounds": None if info.bounds is None else [b.tolist() for b in info.bounds],
        "cameras": [{"name": c.name, "width": c.width, "height": c.height} for c in info.cameras],
        "notes": info.notes,
    }


def format_info(info: ModelInfo) -> str:
    points, sizes = info.points_per_frame, info.bytes_per_frame
    labels = info.frame_labels
    slots = f"{labels[0]}..{labels[-1]}" if labels == list(range(labels[0], labels[-1] + 1)) else \
        ", ".join(map(str, labels[:8])) + (" ..." if len(labels) > 8 else "")
    colour = info.colour.value
    if info.colour is ColourModel.IBR:
        colour += f" (image-based blend of {info.n_views} source views, n_srcs {info.n_srcs}"
        colour += f"; SH residual degree {info.sh_degree}, limit {info.sh_limit:g})" if info.sh_degree >= 0 \
            else "; no SH residual)"
    elif info.colour is ColourModel.SH:
        colour += f" (SH degree {info.sh_degree})"
    lines = [
        f"model      {info.path} ({info.kind}{', compressed' if info.compressed else ''})",
        f"frames     {info.n_frames} at {info.fps:g} fps (slots {slots})",
        f"points     min {min(points):,}  mean {sum(points) / len(points):,.0f}  max {max(points):,} per frame",
        f"colour     {colour}",
        f"bytes      {human_bytes(min(sizes))} .. {human_bytes(max(sizes))} per frame "
        f"({human_bytes(sum(sizes))} in all, uncompressed)",
        f"up         {info.up}",
    ]
    if info.bounds is not None:
        lo, hi = (", ".join(f"{v:.3f}" for v in b) for b in info.bounds)
        lines.append(f"bounds     [{lo}] .. [{hi}]")
    if info.cameras:
        shown = ", ".join(f"{c.name} {c.width}x{c.height}" for c in info.cameras[:6])
        more = f", ... ({len(info.cameras) - 6} more)" if len(info.cameras) > 6 else ""
        lines.append(f"cameras    {len(info.cameras)}: {shown}{more}")
    else:
        lines.append("cameras    none stored")
    lines += [f"note       {note}" for note in info.notes]
    return "\n".join(lines)
