"""Playback from disk with and without the reader announcing a frame's byte ranges to the OS first
(``NpzArchive.will_need``), alternating in one run: the blended-view rows of bench_timeline.py (page cache
dropped, 4 GiB host cache, every frame drawn), on the uncompressed model and its compact copy.

    python benchmarks/bench_read_hint.py --output benchmarks/results/h200_read_hint.json   # NVIDIA GPU, ~2 min
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import bench_timeline as timeline  # noqa: E402
from k4d_viewer.model import ColourModel, open_model  # noqa: E402
from k4d_viewer.model.npz import NpzArchive  # noqa: E402
from k4d_viewer.render import RasterSettings  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402
from k4d_viewer.render.pipeline import render_frame  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/k4d-bench"))
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    cuda = CudaRasterizer()

    def draw(frame, camera):
        render_frame(frame, ColourModel.IBR, camera, cuda, raster_settings=RasterSettings())
        torch.cuda.synchronize()

    args.dir.mkdir(parents=True, exist_ok=True)
    plain, compact = args.dir / "dna_sized.npz", args.dir / "dna_sized_compact.npz"
    if not plain.exists():
        timeline.make_model(plain, args.frames)
    if not compact.exists():
        timeline.make_model(compact, args.frames, compact=True)
    model = open_model(plain)
    first = model.read_frame(0)
    model.close()
    camera = timeline.reference_camera(1920, 1080, timeline.frame_bounds(first))
    warm = timeline.reference_frame(4096, timeline.VIEWS)  # kernels compiled before timing
    draw(warm, timeline.reference_camera(1920, 1080, timeline.frame_bounds(warm)))
    disk = timeline.disk_read_rate(plain)
    announce = NpzArchive.will_need
    runs: dict[str, list[dict]] = {}
    for _ in range(args.rounds):
        for path in (plain, compact):
            for hinted in (False, True):
                NpzArchive.will_need = announce if hinted else (lambda self, ranges: None)
                row = timeline.disk_playback(path, camera, camera.centre, True, draw, disk, args.frames)
                name = f"{path.stem} {'announced' if hinted else 'not announced'}"
                runs.setdefault(name, []).append(row)
                print(f"{name:40} {row['fps']:6.1f} frames/s (disk bound {row['disk_bound_fps']:.1f})", flush=True)
    NpzArchive.will_need = announce
    result = {"disk_sequential_mib_s": disk,
              "fps_mean": {name: sum(r["fps"] for r in rows) / len(rows) for name, rows in runs.items()},
              "runs": runs,
              "meta": {"device": torch.cuda.get_device_name(), "date": time.strftime("%Y-%m-%d"),
                       "method": "bench_timeline.disk_playback of the blended views (n_srcs + 2), page cache "
                                 "dropped before each run, 4 GiB host cache, cuda backend 1920x1080 every frame "
                                 "drawn; with and without NpzArchive.will_need, alternating; mean of the rounds"}}
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
