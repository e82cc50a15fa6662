"""Compact storage (``convert --compact``): bytes per frame and render fidelity against the original.

Converts MODEL twice (as stored, and --compact), renders both from a spread of views (an orbit at three heights
and every capture camera) at a few frames, and reports PSNR over the whole image and over the subject's pixels
(alpha > 0 in either render), worst and median. Writes benchmarks/results/compact_<label>.json.

    python benchmarks/bench_compact.py [MODEL] [--backend gl] [--size 640x360] [--label demo]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import tempfile
from pathlib import Path

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", default=None, help="default: the built-in demo")
    parser.add_argument("--backend", default="gl")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", default="0,25")
    parser.add_argument("--label", default="demo")
    args = parser.parse_args()
    from k4d_viewer.camera import UP_AXES, Camera, default_camera
    from k4d_viewer.cli import main as cli
    from k4d_viewer.commands.common import load_model
    from k4d_viewer.model import open_model
    from k4d_viewer.render import get_backend
    from k4d_viewer.settings import RenderSettings

    width, height = (int(v) for v in args.size.split("x"))
    source = Path(args.model) if args.model else load_model(None).info.path
    backend = get_backend(args.backend)
    rows, sizes = [], {}
    with tempfile.TemporaryDirectory() as folder:
        paths = {"original": Path(folder) / "original.npz", "compact": Path(folder) / "compact.npz"}
        assert cli(["convert", str(source), "-o", str(paths["original"])]) == 0
        assert cli(["convert", str(source), "-o", str(paths["compact"]), "--compact"]) == 0
        models = {name: open_model(path) for name, path in paths.items()}
        info = models["original"].info
        sizes = {name: sum(m.info.bytes_per_frame) / len(m.info.bytes_per_frame) for name, m in models.items()}
        for frame_index in (int(f) for f in args.frames.split(",")):
            frames = {name: m.read_frame(frame_index) for name, m in models.items()}
            lo, hi, toward = info.framing(frames["original"])
            home = default_camera(lo, hi, info.up, width, height, toward=toward)
            centre = (np.asarray(lo) + np.asarray(hi)) / 2
            radius = float(np.linalg.norm(home.centre - centre))
            up = np.array(UP_AXES[info.up], float)
            side = np.cross(up, [1.0, 0, 0]) if abs(up[0]) < 0.9 else np.cross(up, [0, 1.0, 0])
            side /= np.linalg.norm(side)
            other = np.cross(up, side)
            cameras = [c.fitted(width, height) for c in info.cameras]
            for elevation in (-0.3, 0.15, 0.6):
                for k in range(8):
                    angle = 2 * math.pi * k / 8
                    direction = math.cos(elevation) * (math.cos(angle) * side + math.sin(angle) * other) \
                        + math.sin(elevation) * up
                    cameras.append(Camera.look_at(centre + radius * direction, centre, up, width, height))
            settings = RenderSettings().for_model(info)
            for camera in cameras:
                renders = {name: backend.render(frame, info.colour, camera, settings.colour(info.n_srcs, info.sh_limit),
                                                settings.raster()).readback() for name, frame in frames.items()}
                a, b = (renders[n].rgb.clamp(0, 1).numpy() for n in ("original", "compact"))
                subject = (renders["original"].alpha.numpy() > 0) | (renders["compact"].alpha.numpy() > 0)
                rows.append({"frame": frame_index, "psnr_image": psnr(a, b),
                             "psnr_subject": psnr(a[subject], b[subject]) if subject.any() else math.inf})
        for m in models.values():
            m.close()
    image = [r["psnr_image"] for r in rows]
    subject = [r["psnr_subject"] for r in rows]
    result = {"machine": platform.node(), "model": str(source), "backend": args.backend, "size": [width, height],
              "views": len(rows), "bytes_per_frame": sizes,
              "size_ratio": sizes["compact"] / sizes["original"],
              "psnr_image_db": {"worst": min(image), "median": statistics.median(image)},
              "psnr_subject_db": {"worst": min(subject), "median": statistics.median(subject)}}
    print(json.dumps(result, indent=2))
    out = Path(__file__).with_name("results") / f"compact_{args.label}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
