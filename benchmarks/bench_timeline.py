"""Timeline benchmark on a generated DNA-Rendering-sized model (150 frames × 146.5 MB, 262,144 points, 60 views).

Measures, with the viewer's FrameCache and the cuda backend:
- open → first frame rendered (the model is opened lazily: only the index is read);
- the sustained read rate from disk (page cache dropped first where the OS allows it);
- a random frame switch when the frame is in the host cache (request → rendered on the GPU);
- playback at 60 frames/s from the host cache: frames that were not ready at their display tick;
- host and GPU cache memory against their budgets.

    python benchmarks/bench_timeline.py --dir /tmp/k4d-bench      # needs ~23 GB of disk, an NVIDIA GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from k4d_viewer.frame_cache import FrameCache, GiB  # noqa: E402
from k4d_viewer.model import ColourModel, open_model, save_canonical  # noqa: E402
from k4d_viewer.render import RasterSettings  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402
from k4d_viewer.render.pipeline import render_frame  # noqa: E402
from scene import frame_bounds, reference_camera, reference_frame  # noqa: E402

FRAMES, POINTS, VIEWS, N_SRCS = 150, 262_144, 60, 4


def make_model(path: Path, frames: int) -> float:
    """Write the model (uncompressed, as `convert` does); returns the seconds it took."""
    base = reference_frame(POINTS, VIEWS, device="cpu")
    arrays = {k: v.numpy() for k, v in base.__dict__.items() if v is not None}

    def stream():
        for f in range(frames):
            frame = dict(arrays)
            frame["xyz"] = (arrays["xyz"].astype(np.float32) + np.float32(0.002 * np.sin(f / 10))).astype(np.float16)
            frame["rgbw"] = np.roll(arrays["rgbw"], f, axis=1)
            yield frame

    start = time.perf_counter()
    save_canonical(path, stream(), colour="ibr", fps=60, up="+y")
    return time.perf_counter() - start


def drop_page_cache() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/k4d-bench"))
    parser.add_argument("--frames", type=int, default=FRAMES)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / "dna_sized.npz"
    results: dict = {}
    if not path.exists():
        results["write_s"] = make_model(path, args.frames)
    results["file_gib"] = path.stat().st_size / GiB

    cuda = CudaRasterizer()
    device = torch.device("cuda")

    def draw(frame, camera):
        out = render_frame(frame, ColourModel.IBR, camera, cuda, raster_settings=RasterSettings())
        torch.cuda.synchronize()
        return out

    # compile the kernels first (Triton keeps them in its on-disk cache, so a viewer pays this once ever)
    warm = reference_frame(4096, VIEWS)
    draw(warm, reference_camera(1920, 1080, frame_bounds(warm)))

    # 1. open to first frame, cold
    results["page_cache_dropped"] = drop_page_cache()
    start = time.perf_counter()
    model = open_model(path)
    opened = time.perf_counter()
    cache = FrameCache(model, device, host_budget=40 * GiB, device_budget=8 * GiB)
    first = cache.wait(0)
    camera = reference_camera(1920, 1080, frame_bounds(first))
    draw(first, camera)
    results["open_s"] = opened - start
    results["open_to_first_frame_s"] = time.perf_counter() - start
    results["frame_mib"] = model.info.bytes_per_frame[0] / 2 ** 20
    centre = camera.centre

    # 2. sustained read rate from disk: read every frame into the host cache
    start = time.perf_counter()
    for index in range(model.info.n_frames):
        cache.prefetch(index, 1)
        while cache.status(index) not in ("host", "device"):
            cache.prefetch(index, 1)
            time.sleep(0.0005)
    seconds = time.perf_counter() - start
    results["disk_read_mib_s"] = sum(model.info.bytes_per_frame) / 2 ** 20 / seconds
    results["disk_frames_per_s"] = model.info.n_frames / seconds

    # 3. random switches between frames held in host memory: request → drawn
    rng = np.random.default_rng(0)
    switch_ms = []
    for index in rng.integers(0, model.info.n_frames, 5):  # warm-up: allocator growth for the first uploads
        draw(cache.wait(int(index), centre, N_SRCS), camera)
    for index in rng.integers(0, model.info.n_frames, 60):
        start = time.perf_counter()
        frame = cache.wait(int(index), centre, N_SRCS)
        draw(frame, camera)
        switch_ms.append((time.perf_counter() - start) * 1000)
    results["switch_ms"] = {"median": float(np.median(switch_ms)), "p90": float(np.percentile(switch_ms, 90)),
                            "max": float(np.max(switch_ms))}

    # 4. playback at 60 frames/s from the host cache, rendering every frame
    period, dropped, shown = 1 / 60, 0, 0
    ticks = 2 * model.info.n_frames
    start = time.perf_counter()
    for tick in range(ticks):
        index = tick % model.info.n_frames
        deadline = start + (tick + 1) * period
        frame = cache.get(index, centre, N_SRCS)
        while frame is None:
            time.sleep(0.0002)
            frame = cache.get(index, centre, N_SRCS)
        cache.prefetch(index, 1, centre, N_SRCS)
        draw(frame, camera)
        shown += 1
        now = time.perf_counter()
        if now > deadline:
            dropped += 1
        else:
            time.sleep(deadline - now)
    results["playback_60fps"] = {"frames": ticks, "late": dropped,
                                 "achieved_fps": ticks / (time.perf_counter() - start)}
    results["memory"] = {"host_budget_gib": cache.host_budget / GiB, "host_peak_gib": cache.stats.host_peak / GiB,
                         "gpu_budget_gib": cache.device_budget / GiB,
                         "gpu_peak_gib": cache.stats.device_peak / GiB}
    cache.close()

    # 5. playback straight from disk with small caches: the sustained frame rate, memory bounded
    drop_page_cache()
    small = FrameCache(open_model(path), device, host_budget=2 * GiB, device_budget=1 * GiB, workers=4)
    start = time.perf_counter()
    frames = 60
    for index in range(frames):
        frame = small.wait(index, centre, N_SRCS)
        small.prefetch(index, 1, centre, N_SRCS)
        draw(frame, camera)
    results["playback_from_disk"] = {"frames": frames, "fps": frames / (time.perf_counter() - start),
                                     "host_budget_gib": 2.0, "host_peak_gib": small.stats.host_peak / GiB,
                                     "gpu_budget_gib": 1.0, "gpu_peak_gib": small.stats.device_peak / GiB}
    small.close()

    results["meta"] = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                       "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
                       "model": f"{args.frames} frames x {POINTS} points x {VIEWS} views, canonical, uncompressed",
                       "render": "cuda backend, 1920x1080, K=11, every frame drawn and synchronised"}
    out = args.output or Path(__file__).parent / "results" / "h100_timeline.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
