"""Timeline benchmark on a generated DNA-Rendering-sized model (150 frames × 146.5 MB, 262,144 points, 60 views).

Measures, with the viewer's FrameCache and the cuda backend:
- open → first frame rendered (the model is opened lazily: only the index is read);
- the sustained read rate from disk (page cache dropped first where the OS allows it);
- a random frame switch when the frame is in the host cache (request → rendered on the GPU);
- playback at 60 frames/s from the host cache: frames that were not ready at their display tick;
- host and GPU cache memory against their budgets;
- playback straight from disk (page cache dropped, 4 GiB host cache) three ways: every source view read (the
  old reader), only the views the camera blends (n_srcs + VIEW_MARGIN), and those views from the compact copy
  written by `convert --compact`; each with the bytes read per frame, the frames/s achieved and the bound the
  disk sets (its sequential read rate / bytes per frame).

    python benchmarks/bench_timeline.py --dir /tmp/k4d-bench      # needs ~35 GB of disk, an NVIDIA GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from k4d_viewer.frame_cache import VIEW_MARGIN, FrameCache, GiB  # noqa: E402
from k4d_viewer.model import ColourModel, open_model, save_canonical  # noqa: E402
from k4d_viewer.model.compact import compact_frame  # noqa: E402
from k4d_viewer.render import RasterSettings  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402
from k4d_viewer.render.pipeline import render_frame  # noqa: E402
from scene import device_slug, frame_bounds, reference_camera, reference_frame  # noqa: E402

FRAMES, POINTS, VIEWS, N_SRCS = 150, 262_144, 60, 4
DEVICE = "cuda"


def make_model(path: Path, frames: int, compact: bool = False) -> float:
    """Write the model (uncompressed, as `convert` does; with ``compact``, as `convert --compact` does);
    returns the seconds it took."""
    base = reference_frame(POINTS, VIEWS, device="cpu")
    arrays = {k: v.numpy() for k, v in base.__dict__.items() if v is not None}

    def build(f: int) -> dict:
        frame = dict(arrays)
        frame["xyz"] = (arrays["xyz"].astype(np.float32) + np.float32(0.002 * np.sin(f / 10))).astype(np.float16)
        frame["rgbw"] = np.roll(arrays["rgbw"], f, axis=1)
        return compact_frame(frame) if compact else frame

    def stream():  # frames built 16 at a time on threads (numpy releases the GIL), written in order
        with ThreadPoolExecutor(8) as pool:
            for first in range(0, frames, 16):
                yield from pool.map(build, range(first, min(first + 16, frames)))

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


def disk_read_rate(path: Path, limit: int = 4 * GiB) -> float:
    """The disk's own sequential read rate (MiB/s) over the first ``limit`` bytes of ``path``, page cache
    dropped first: the bound for any reader of this file."""
    drop_page_cache()
    chunk = bytearray(64 << 20)
    done = 0
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as fp:
        while done < limit and (got := fp.readinto(chunk)):
            done += got
    return done / 2 ** 20 / (time.perf_counter() - start)


def disk_playback(path: Path, camera, centre, views: bool, draw, disk_mib_s: float, frames: int) -> dict:
    """Play ``frames`` frames straight from disk (page cache dropped) with a 4 GiB host cache, drawing each;
    with ``views`` only the source views the camera blends are read."""
    drop_page_cache()
    model = open_model(path)
    host_budget = 4 * GiB
    cache = FrameCache(model, torch.device(DEVICE), host_budget=host_budget, device_budget=1 * GiB, workers=4,
                       lookahead=16)
    where = (centre, N_SRCS) if views else (None, None)
    draw(cache.wait(0, *where), camera)  # the first frame: latency, not throughput
    start = time.perf_counter()
    for index in range(1, frames):
        frame = cache.wait(index, *where)
        cache.prefetch(index, 1, *where)
        draw(frame, camera)
    seconds = time.perf_counter() - start
    bytes_per_frame = cache.stats.disk_bytes / max(cache.stats.disk_reads, 1)
    result = {"frames": frames, "fps": (frames - 1) / seconds, "mib_read_per_frame": bytes_per_frame / 2 ** 20,
              "frame_mib_in_file": model.info.bytes_per_frame[0] / 2 ** 20,
              "disk_bound_fps": disk_mib_s * 2 ** 20 / bytes_per_frame,
              "host_budget_gib": host_budget / GiB, "host_peak_gib": cache.stats.host_peak / GiB,
              "gpu_budget_gib": 1.0, "gpu_peak_gib": cache.stats.device_peak / GiB,
              "views_read": (N_SRCS + VIEW_MARGIN) if views else VIEWS}
    cache.close()
    return result


def host_cache_sections(path: Path, draw, device, results: dict) -> None:
    """Sections 1-4: open to first frame, sustained reading, switches and 60 frames/s from the host cache."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/k4d-bench"))
    parser.add_argument("--frames", type=int, default=FRAMES)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--disk-only", action="store_true", help="only the playback-from-disk rows (section 5)")
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

    model = open_model(path)
    first = model.read_frame(0)
    camera = reference_camera(1920, 1080, frame_bounds(first))
    centre = camera.centre
    model.close()
    if not args.disk_only:
        host_cache_sections(path, draw, device, results)

    # 5. playback straight from disk with a 4 GiB host cache: every view, the blended views, compact + blended
    compact_path = args.dir / "dna_sized_compact.npz"
    if not compact_path.exists():
        results["write_compact_s"] = make_model(compact_path, args.frames, compact=True)
    results["disk_sequential_mib_s"] = disk_mib_s = disk_read_rate(path)
    results["playback_from_disk"] = {
        "every_view": disk_playback(path, camera, centre, False, draw, disk_mib_s, args.frames),
        "blended_views": disk_playback(path, camera, centre, True, draw, disk_mib_s, args.frames),
        "compact_blended_views": disk_playback(compact_path, camera, centre, True, draw, disk_mib_s, args.frames),
    }
    for name, row in results["playback_from_disk"].items():
        print(f"from disk, {name:22} {row['mib_read_per_frame']:7.1f} MiB/frame  {row['fps']:6.1f} frames/s  "
              f"(disk bound {row['disk_bound_fps']:.1f})", flush=True)

    results["meta"] = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
                       "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
                       "model": f"{args.frames} frames x {POINTS} points x {VIEWS} views, canonical, uncompressed "
                                f"(and its compact copy for the last disk row)",
                       "render": "cuda backend, 1920x1080, K=11, every frame drawn and synchronised"}
    name = torch.cuda.get_device_name()
    slug = device_slug(name)
    out = args.output or Path(__file__).parent / "results" / f"{slug}_timeline.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
