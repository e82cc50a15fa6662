"""Whole-frame render benchmark: the cuda backend against 4K4D's own algorithm and the gl backend, same run.

Cases (benchmarks/scene.py CASES): the reference figure (262,144 points, 60 views, SH 3) at 1920x1080 and
3840x2160, the full scene (the figure in a 2M-point room that covers the frame, ~8 discs per pixel) at
3840x2160, and 1M points at 7680x4320; K = 11, n_srcs = 4. The anchor is benchmarks/anchor_4k4d.py (eager torch
colour, interop upload, K ping-pong point-sprite peel passes). ``cuda`` is the viewer's path (CudaRasterizer.render,
replayed from CUDA graphs once a frame has been drawn a few times, then the display hand-over); ``cuda-eager``
the same frames without graphs, colour and rasterization timed apart. Times each stage with CUDA events (GL work with
glFinish and a wall clock), reports medians and 90th percentiles after warm-up, prints a table and writes
benchmarks/results/<device>.json.

    python benchmarks/bench_render.py                  # needs an NVIDIA GPU, triton, cuda-python, moderngl
    python benchmarks/bench_render.py --quick          # fewer frames
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from anchor_4k4d import FourK4DAnchor  # noqa: E402
from k4d_viewer.app.display import Display  # noqa: E402
from k4d_viewer.colour import ColourSettings, evaluate_colour  # noqa: E402
from k4d_viewer.model import ColourModel  # noqa: E402
from k4d_viewer.render import RasterSettings  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402
from k4d_viewer.render.gl_backend import GLRasterizer  # noqa: E402
from scene import CASES, case_frame, device_slug, swing_cameras  # noqa: E402

VIEWS, LAYERS, N_SRCS = 60, 11, 4


def summarise(samples: dict[str, list[float]]) -> dict:
    return {stage: {"median": float(np.median(v)), "p90": float(np.percentile(v, 90))} for stage, v in samples.items()}


def time_stages(cameras, frames, warmup, draw) -> dict:
    """Median and p90 CUDA-event times of each stage of ``draw(camera)`` and of the whole frame, after
    ``warmup`` frames. ``draw`` is a generator that yields a stage's name once it has launched the stage."""
    samples: dict[str, list[float]] = {}
    for i in range(warmup + frames):
        marks = [("start", torch.cuda.Event(enable_timing=True))]
        marks[0][1].record()
        for name in draw(cameras[i % len(cameras)]):  # the camera swings ±10° across frames
            marks.append((name, torch.cuda.Event(enable_timing=True)))
            marks[-1][1].record()
        torch.cuda.synchronize()
        if i >= warmup:
            for (_, before), (name, after) in zip(marks, marks[1:]):
                samples.setdefault(name, []).append(before.elapsed_time(after))
            samples.setdefault("frame", []).append(marks[0][1].elapsed_time(marks[-1][1]))
    return summarise(samples)


def bench_cuda(cameras, frame, frames, warmup, ctx) -> dict:
    """The viewer's path: CudaRasterizer.render (replayed from CUDA graphs once the frame has been drawn a few
    times, cuda_graphs.py) and the hand-over into what the window draws."""
    cuda = CudaRasterizer()
    settings, colour_settings = RasterSettings(layers=LAYERS), ColourSettings(n_srcs=N_SRCS)
    display = Display(ctx)  # the viewer's own hand-over into what the window draws

    def draw(camera):
        image = cuda.render(frame, ColourModel.IBR, camera, colour_settings, settings)
        yield "render"
        display.from_cuda(image.ready().accum, None, settings)
        yield "display"

    result = time_stages(cameras, frames, warmup, draw)
    result["display_path"] = display.cuda_path + "".join(
        f" ({reason})" for reason in (display.shared_unavailable, display.cuda_fallback) if reason)
    result["recorded"] = bool(cuda._graphs is not None and cuda._graphs._plans)
    return result


def bench_cuda_stages(cameras, frame, frames, warmup, ctx) -> dict:
    """The same frames without CUDA graphs, colour and rasterization timed apart (where the time goes)."""
    cuda = CudaRasterizer(graphs=False)
    settings, colour_settings = RasterSettings(layers=LAYERS), ColourSettings(n_srcs=N_SRCS)
    display = Display(ctx)

    def draw(camera):
        centre = torch.as_tensor(camera.centre, dtype=torch.float32)  # host: no GPU read to build the params
        rgb = cuda.evaluate_colour(frame, ColourModel.IBR, centre, colour_settings)
        yield "colour"
        accum, _ = cuda.render_buffers(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
        yield "raster"
        display.from_cuda(accum, None, settings)
        yield "display"

    return time_stages(cameras, frames, warmup, draw)


def bench_anchor(cameras, frame, frames, warmup, anchor: FourK4DAnchor) -> dict:
    """4K4D's algorithm: eager colour and the interop upload timed by CUDA events, the peel passes by glFinish."""
    colour_settings = ColourSettings(n_srcs=N_SRCS)
    samples = {"colour": [], "upload": [], "raster": [], "frame": []}
    events = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
    for i in range(warmup + frames):
        camera = cameras[i % len(cameras)]  # the camera swings ±10° across frames
        events[0].record()
        rgb = anchor.colour(frame, camera, colour_settings)
        events[1].record()
        anchor.upload(frame, rgb)
        events[2].record()
        torch.cuda.synchronize()
        start = time.perf_counter()
        anchor.peel_passes(frame.n_points, camera, LAYERS)
        anchor.ctx.finish()
        raster = (time.perf_counter() - start) * 1000
        if i >= warmup:
            samples["colour"].append(events[0].elapsed_time(events[1]))
            samples["upload"].append(events[1].elapsed_time(events[2]))
            samples["raster"].append(raster)
            samples["frame"].append(samples["colour"][-1] + samples["upload"][-1] + raster)
    result = summarise(samples)
    result["upload_path"] = anchor.upload_path
    return result


def bench_gl(cameras, frame, frames, warmup, gl) -> dict:
    settings, colour_settings = RasterSettings(layers=LAYERS), ColourSettings(n_srcs=N_SRCS)
    samples = {"colour": [], "raster": [], "frame": []}
    start_event, end_event = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for i in range(warmup + frames):
        camera = cameras[i % len(cameras)]  # the camera swings ±10° across frames
        centre = torch.as_tensor(camera.centre, dtype=torch.float32, device="cuda")
        start_event.record()
        rgb = evaluate_colour(frame, ColourModel.IBR, centre, colour_settings)
        end_event.record()
        torch.cuda.synchronize()
        start = time.perf_counter()
        accum_tex, _ = gl.render_textures(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
        gl.ctx.finish()
        raster = (time.perf_counter() - start) * 1000
        if i >= warmup:
            samples["colour"].append(start_event.elapsed_time(end_event))
            samples["raster"].append(raster)
            samples["frame"].append(samples["colour"][-1] + raster)
    return summarise(samples)


def compare_images(cameras, frame, gl, anchor) -> dict:
    """|cuda − gl| and |cuda − 4K4D algorithm| colour of one frame from the same camera (they differ at exact
    depth ties, disc rims and, for the anchor, its fp16 accumulation and driver point sizes)."""
    camera = cameras[len(cameras) // 2]  # straight ahead
    settings, colour_settings = RasterSettings(layers=LAYERS), ColourSettings(n_srcs=N_SRCS)
    cuda = CudaRasterizer()
    rgb = cuda.evaluate_colour(frame, ColourModel.IBR, torch.tensor(camera.centre, dtype=torch.float32),
                               colour_settings)
    cuda_rgb = cuda.rasterize(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings).rgb.cpu()
    gl_rgb = gl.rasterize(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings).rgb.cpu()
    anchor_rgb = torch.from_numpy(anchor.render(frame, camera, LAYERS, colour_settings)[0][..., :3])
    out = {}
    for name, other in (("gl", gl_rgb), ("4k4d", anchor_rgb)):
        difference = (cuda_rgb - other).abs()
        out[name] = {"max_abs": float(difference.max()),
                     "p999_abs": float(torch.quantile(difference.flatten()[::7], 0.999)),
                     "fraction_over_2_255": float((difference > 2 / 255).float().mean())}
    return out


TARGETS_MS = {"figure-1080p": 0.6, "figure-4k": 1.0, "full-scene-4k": 2.5, "1m-8k": 4.0}  # issue targets (H100)


def warm_up_gpu(seconds: float = 2.0) -> None:
    """Busy the GPU first: an idle GPU starts at a low clock, which would penalise the first case."""
    a = torch.randn(8192, 8192, device="cuda")
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        a = (a @ a).clamp_(-1, 1)
        torch.cuda.synchronize()


def scene_bounds(frame, figure_points: int) -> tuple:
    xyz = frame.xyz[:figure_points].float()
    return xyz.min(0).values.cpu().numpy(), xyz.max(0).values.cpu().numpy()


def print_records(records: list[dict]) -> None:
    print(f"{'case':14} {'backend':10} {'size':>10} {'points':>10} {'median ms':>10} {'p90 ms':>8} {'FPS':>7}  "
          "stages (median ms)")
    for r in records:
        stages = "  ".join(f"{k} {v:.2f}" for k, v in r["stages_ms_median"].items())
        extra = "".join(f"  {k[8:]} {v:.1f}x" for k, v in r.items() if k.startswith("speedup_vs_"))
        print(f"{r['case']:14} {r['backend']:10} {r['width']}x{r['height']:<5} {r['points']:>10,} "
              f"{r['ms_median']:>10.2f} {r['ms_p90']:>8.2f} {r['fps_median']:>7.1f}  {stages}{extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer frames (a smoke run)")
    parser.add_argument("--case", action="append", choices=list(CASES), help="one case (repeatable); default all")
    parser.add_argument("--output", type=Path, help="JSON path (default benchmarks/results/<device>.json)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench_render: needs a CUDA GPU")
    device = torch.cuda.get_device_name()
    gl = GLRasterizer()
    anchor = FourK4DAnchor(gl.ctx)
    warm_up_gpu()
    records = []
    frames, warmup = (10, 5) if args.quick else (100, 20)
    slow_frames, slow_warmup = (3, 1) if args.quick else (10, 3)
    for case in args.case or list(CASES):
        width, height, figure, room = CASES[case]
        frame, _ = case_frame(case)
        cameras = swing_cameras(width, height, scene_bounds(frame, figure))  # framing the figure, not the room
        results = {"cuda": bench_cuda(cameras, frame, frames, warmup, gl.ctx),
                   "cuda-eager": bench_cuda_stages(cameras, frame, frames, warmup, gl.ctx),
                   "4k4d": bench_anchor(cameras, frame, slow_frames, slow_warmup, anchor),
                   "gl": bench_gl(cameras, frame, slow_frames, slow_warmup, gl)}
        difference = compare_images(cameras, frame, gl, anchor)
        for backend, result in results.items():
            records.append({
                "case": case, "device": device, "backend": backend, "width": width, "height": height,
                "points": frame.n_points, "figure_points": figure, "room_points": room, "views": VIEWS,
                "layers": LAYERS, "n_srcs": N_SRCS,
                "ms_median": result["frame"]["median"], "ms_p90": result["frame"]["p90"],
                "fps_median": 1000 / result["frame"]["median"],
                "stages_ms_median": {k: v["median"] for k, v in result.items() if isinstance(v, dict) and k != "frame"},
                **{key: result[key] for key in ("display_path", "upload_path", "recorded") if key in result},
            })
            if backend == "cuda":
                cuda_record = records[-1]
                cuda_record["target_ms"] = TARGETS_MS.get(case)
                cuda_record["difference"] = difference
            else:
                cuda_record[f"speedup_vs_{backend}"] = result["frame"]["median"] / results["cuda"]["frame"]["median"]
        print_records(records[-len(results):])
        del frame
        torch.cuda.empty_cache()
    meta = {"device": device, "torch": torch.__version__, "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"), "gl_renderer": gl.ctx.info.get("GL_RENDERER"),
            "method": "median and p90 of per-frame times after warm-up; cuda: CudaRasterizer.render (CUDA graphs once "
                      "the frame has been drawn 3 times) + display hand-over; cuda-eager: the same without graphs, "
                      "stages apart; cuda stages and the 4K4D algorithm's colour "
                      "and upload by CUDA events, GL peel passes by glFinish + wall clock; the camera swings "
                      "±10° across frames; all backends on the same frames and cameras in one run"}
    slug = device_slug(device)
    path = args.output or Path(__file__).parent / "results" / f"{slug}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "records": records}, indent=2) + "\n")
    print_records(records)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
