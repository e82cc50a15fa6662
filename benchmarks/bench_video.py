"""Video export benchmark: 300 frames of the reference scene along an orbit, rendered by the cuda backend and
encoded as H.264 (CRF 18, veryfast) through the same code as ``k4d-viewer render --orbit -o out.mp4``.

Per size (1920x1080 and 3840x2160), in one run: the encoder alone on pre-rendered YUV frames (the bound),
rendering alone (colour + rasterization + conversion to YUV planes, copied to the host), end to end into an
.mp4, and end to end into a PNG sequence. Frames per second from wall time after a warm-up; results go to
benchmarks/results/<device>_video.json.

    python benchmarks/bench_video.py                 # needs an NVIDIA GPU, triton and av
    python benchmarks/bench_video.py --frames 60     # shorter
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from k4d_viewer.colour import ColourSettings  # noqa: E402
from k4d_viewer.commands.render_output import PngSequence, VideoSink, render_samples  # noqa: E402
from k4d_viewer.image import mode_image  # noqa: E402
from k4d_viewer.model import ColourModel, ModelInfo  # noqa: E402
from k4d_viewer.paths.presets import Timing, orbit  # noqa: E402
from k4d_viewer.render import RasterSettings, get_backend  # noqa: E402
from k4d_viewer.render.pipeline import render_frame  # noqa: E402
from k4d_viewer.video import CODECS, VideoWriter, rgb_to_yuv420  # noqa: E402
from scene import frame_bounds, reference_camera, reference_frame  # noqa: E402

SIZES = [(1920, 1080), (3840, 2160)]


class OneFrameModel:
    """The reference frame as a model (already on the GPU): the benchmark measures rendering and encoding."""

    def __init__(self, frame) -> None:
        self.frame = frame
        self.info = ModelInfo(path=Path("reference"), kind="benchmark", colour=ColourModel.IBR,
                              points_per_frame=[frame.n_points], bytes_per_frame=[frame.nbytes()],
                              frame_labels=[0], n_views=60, sh_degree=3)

    def read_frame(self, index: int):
        return self.frame

    def close(self) -> None:
        pass


def timed(fn) -> float:
    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def bench_size(frame, width: int, height: int, count: int, folder: Path) -> dict:
    rasterizer = get_backend("cuda")
    settings, colour = RasterSettings(layers=11), ColourSettings(n_srcs=4)
    start = reference_camera(width, height, frame_bounds(frame))
    lo, hi = frame_bounds(frame)
    path = orbit(start, (np.asarray(lo) + np.asarray(hi)) / 2, "+y", seconds=count / 30, fps=30, timing=Timing())
    samples = path.sample((width, height))[:count]
    model = OneFrameModel(frame)

    def render(f, sample):
        return render_frame(f, ColourModel.IBR, sample.camera, rasterizer, colour, settings)

    for sample in samples[:10]:  # warm-up: kernels compiled, allocator primed
        rgb_to_yuv420(mode_image(render(frame, sample)))
    yuv = []
    render_only = timed(lambda: yuv.extend(rgb_to_yuv420(mode_image(render(frame, s))) for s in samples))
    distinct = yuv[:60]

    def encode_only() -> None:
        writer = VideoWriter(folder / "enc.mp4", CODECS["h264"], (width, height), 30.0)
        for i in range(count):
            writer.write(distinct[i % len(distinct)])
        writer.close()

    encoder = timed(encode_only)
    end_to_end = timed(lambda: render_samples(samples, model, torch.device("cuda"), render,
                                              VideoSink(folder / "e2e.mp4", "h264", None, (width, height), 30.0,
                                                        False), "color", False))
    png_count = min(count, 120)
    png = timed(lambda: render_samples(samples[:png_count], model, torch.device("cuda"), render,
                                       PngSequence(folder / "f.png", list(range(png_count)), False), "color",
                                       False))
    size_mb = (folder / "e2e.mp4").stat().st_size / 1e6
    result = {
        "width": width, "height": height, "frames": count,
        "encoder_only_fps": count / encoder, "render_only_fps": count / render_only,
        "end_to_end_fps": count / end_to_end, "end_to_end_vs_encoder": encoder / end_to_end,
        "png_sequence_fps": png_count / png, "png_frames": png_count, "mp4_megabytes": size_mb,
    }
    print(f"{width}x{height}: encoder alone {result['encoder_only_fps']:.1f} fps, render alone "
          f"{result['render_only_fps']:.1f} fps, end to end {result['end_to_end_fps']:.1f} fps "
          f"({100 * result['end_to_end_vs_encoder']:.0f}% of the encoder), PNG sequence "
          f"{result['png_sequence_fps']:.1f} fps, {size_mb:.1f} MB", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    frame = reference_frame(device="cuda")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in SIZES:
            results.append(bench_size(frame, width, height, args.frames, Path(tmp)))
    device = torch.cuda.get_device_name()
    report = {"device": device, "cpu_cores": os.cpu_count(), "torch": torch.__version__,
              "python": platform.python_version(), "codec": "h264 (libx264 veryfast, CRF 18, yuv420p)",
              "scene": "reference figure, 262,144 points, 60 views, K=11, cuda backend", "results": results}
    name = "h100" if "H100" in device else device.lower().replace(" ", "_")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}_video.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
