"""Bake speed and memory: seconds per frame and peak GPU memory for a DNA-Rendering-sized frame (262,144
points, 60 views, 1224x1024 images, the whole image as the crop: the worst case), and on the CPU at a small
size. The synthetic model and dataset are generated first (tests/synthetic_4k4d.py). Writes
benchmarks/results/bake_<device>.json.

    python benchmarks/bench_bake.py [--points 262144 --views 60 --size 1224x1024 --frames 4] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_4k4d import write_dataset, write_weights  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=262_144)
    parser.add_argument("--views", type=int, default=60)
    parser.add_argument("--size", default="1224x1024")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--label", default=None)
    parser.add_argument("--image-ext", choices=(".jpg", ".png"), default=".png",
                        help="how the generated dataset's images are stored")
    parser.add_argument("--profile", action="store_true", help="time each stage (synchronising the GPU)")
    args = parser.parse_args()
    from k4d_viewer.bake.bake import Baker
    from k4d_viewer.bake.dataset import Dataset
    from k4d_viewer.bake.presets import PRESETS
    from k4d_viewer.bake.weights import WeightsFile

    width, height = (int(v) for v in args.size.split("x"))
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        start = time.perf_counter()
        weights_path = write_weights(root / "4k4d_0013_01" / "1599.npz", args.points, args.frames)
        data = write_dataset(root / "data", args.views, args.frames, (width, height), videos=False, full_mask=True,
                             image_ext=args.image_ext)
        print(f"generated in {time.perf_counter() - start:.1f} s")
        preset = replace(PRESETS["0013_01"], ratio=(1.0,))  # the images are already at the baked size
        weights = WeightsFile(weights_path)
        dataset = Dataset(data, preset, [])
        baker = Baker(weights, dataset, preset, device, profile=args.profile)
        times, load_times = [], []
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for frame in range(args.frames):
            start = time.perf_counter()
            parts = baker.frame(frame, next_frame=frame + 1 if frame + 1 < args.frames else None)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
            assert np.isfinite(parts[""].rgbws.astype(np.float32)).all()
            print(f"frame {frame}: {times[-1]:.3f} s")
        start = time.perf_counter()
        for view in range(args.views):
            dataset.view(view, 0)
        load_times.append(time.perf_counter() - start)
        baker.close()
    result = {
        "machine": platform.node(), "device": torch.cuda.get_device_name(device) if device.type == "cuda" else
        (platform.processor() or platform.machine()), "cpu_cores": __import__("os").cpu_count(),
        "points": args.points, "views": args.views, "image": [width, height], "image_format": args.image_ext,
        "frames": args.frames,
        "seconds_per_frame_median_after_first": statistics.median(times[1:]) if len(times) > 1 else times[0],
        "seconds_per_frame": times,
        "image_loading_serial_s": load_times[0],
        "stage_seconds_all_frames": dict(baker.timings),
        "peak_gpu_memory_gib": (torch.cuda.max_memory_allocated(device) / 2 ** 30) if device.type == "cuda" else None,
    }
    print(json.dumps(result, indent=2))
    label = args.label or ("cuda" if device.type == "cuda" else "cpu")
    out = Path(__file__).with_name("results") / f"bake_{label}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
