"""Whole-frame render benchmark: the cuda backend against the gl backend on the reference scene, same run.

Times each stage with CUDA events (GL work with glFinish and a wall clock), reports medians and 90th
percentiles after warm-up, prints a table and writes benchmarks/results/<device>.json.

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
from k4d_viewer.colour import ColourSettings, evaluate_colour  # noqa: E402
from k4d_viewer.model import ColourModel  # noqa: E402
from k4d_viewer.render import RasterSettings  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402
from k4d_viewer.render.cuda_interop import texture_sink  # noqa: E402
from k4d_viewer.render.gl_backend import GLRasterizer  # noqa: E402
from scene import frame_bounds, reference_camera, reference_frame  # noqa: E402

CONFIGS = [(1920, 1080, 262_144), (3840, 2160, 262_144), (3840, 2160, 1_048_576)]
VIEWS, LAYERS, N_SRCS = 60, 11, 4


def summarise(samples: dict[str, list[float]]) -> dict:
    return {stage: {"median": float(np.median(v)), "p90": float(np.percentile(v, 90))} for stage, v in samples.items()}


def bench_cuda(frame, width, height, frames, warmup, ctx) -> dict:
    cuda = CudaRasterizer()
    settings, colour_settings = RasterSettings(layers=LAYERS), ColourSettings(n_srcs=N_SRCS)
    texture = ctx.texture((width, height), 4, dtype="f4")
    sink, fallback = texture_sink(texture)
    samples = {"colour": [], "raster": [], "display": [], "frame": []}
    bounds = frame_bounds(frame)
    events = [torch.cuda.Event(enable_timing=True) for _ in range(4)]
    for i in range(warmup + frames):
        camera = reference_camera(width, height, bounds, yaw_deg=(i % 20) - 10)
        centre = torch.as_tensor(camera.centre, dtype=torch.float32)  # host: the kernel takes it as scalars
        events[0].record()
        rgb = cuda.evaluate_colour(frame, ColourModel.IBR, centre, colour_settings)
        events[1].record()
        accum, _ = cuda.render_buffers(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
        events[2].record()
        sink.write(accum)
        events[3].record()
        torch.cuda.synchronize()
        if i >= warmup:
            samples["colour"].append(events[0].elapsed_time(events[1]))
            samples["raster"].append(events[1].elapsed_time(events[2]))
            samples["display"].append(events[2].elapsed_time(events[3]))
            samples["frame"].append(events[0].elapsed_time(events[3]))
    result = summarise(samples)
    result["display_path"] = sink.kind + (f" ({fallback})" if fallback else "")
    sink.release()
    texture.release()
    return result


def bench_gl(frame, width, height, frames, warmup, gl) -> dict:
    settings, colour_settings = RasterSettings(layers=LAYERS), ColourSettings(n_srcs=N_SRCS)
    samples = {"colour": [], "raster": [], "frame": []}
    bounds = frame_bounds(frame)
    start_event, end_event = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for i in range(warmup + frames):
        camera = reference_camera(width, height, bounds, yaw_deg=(i % 20) - 10)
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


def compare_backends(frame, width, height, gl) -> torch.Tensor:
    """|cuda − gl| colour of one frame from the same camera (the cuda output differs only at exact depth ties
    and rim rounding)."""
    camera = reference_camera(width, height, frame_bounds(frame))
    settings, colour_settings = RasterSettings(layers=LAYERS), ColourSettings(n_srcs=N_SRCS)
    cuda = CudaRasterizer()
    rgb = cuda.evaluate_colour(frame, ColourModel.IBR, torch.tensor(camera.centre, dtype=torch.float32),
                               colour_settings)
    cuda_out = cuda.rasterize(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
    gl_out = gl.rasterize(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
    return (cuda_out.rgb.cpu() - gl_out.rgb.cpu()).abs()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer frames (a smoke run)")
    parser.add_argument("--output", type=Path, help="JSON path (default benchmarks/results/<device>.json)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench_render: needs a CUDA GPU")
    device = torch.cuda.get_device_name()
    gl = GLRasterizer()
    records = []
    for width, height, points in CONFIGS:
        frame = reference_frame(points, VIEWS)
        cuda_result = bench_cuda(frame, width, height, 10 if args.quick else 100, 5 if args.quick else 20, gl.ctx)
        gl_result = bench_gl(frame, width, height, 3 if args.quick else 10, 1 if args.quick else 3, gl)
        difference = compare_backends(frame, width, height, gl)
        for backend, result in (("cuda", cuda_result), ("gl", gl_result)):
            records.append({
                "device": device, "backend": backend, "width": width, "height": height, "points": points,
                "views": VIEWS, "layers": LAYERS, "n_srcs": N_SRCS,
                "ms_median": result["frame"]["median"], "ms_p90": result["frame"]["p90"],
                "fps_median": 1000 / result["frame"]["median"],
                "stages_ms_median": {k: v["median"] for k, v in result.items() if isinstance(v, dict) and k != "frame"},
                **({"display_path": result["display_path"]} if "display_path" in result else {}),
            })
        records[-2]["speedup_vs_gl"] = gl_result["frame"]["median"] / cuda_result["frame"]["median"]
        records[-2]["difference_vs_gl"] = {
            "max_abs": float(difference.max()), "p999_abs": float(torch.quantile(difference.flatten()[::7], 0.999)),
            "fraction_over_2_255": float((difference > 2 / 255).float().mean())}
        del frame
        torch.cuda.empty_cache()
    meta = {"device": device, "torch": torch.__version__, "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"), "gl_renderer": gl.ctx.info.get("GL_RENDERER"),
            "method": "median and p90 of per-frame times after warm-up; cuda stages by CUDA events, gl raster "
                      "by glFinish + wall clock; the camera swings ±10° across frames"}
    slug = "h100" if "H100" in device else "h200" if "H200" in device else device.lower().replace(" ", "-")
    path = args.output or Path(__file__).parent / "results" / f"{slug}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "records": records}, indent=2) + "\n")
    print(f"{'backend':8} {'size':>10} {'points':>9} {'median ms':>10} {'p90 ms':>8} {'FPS':>7}  stages (median ms)")
    for r in records:
        stages = "  ".join(f"{k} {v:.2f}" for k, v in r["stages_ms_median"].items())
        print(f"{r['backend']:8} {r['width']}x{r['height']:<5} {r['points']:>9,} {r['ms_median']:>10.2f} "
              f"{r['ms_p90']:>8.2f} {r['fps_median']:>7.1f}  {stages}"
              + (f"  speedup {r['speedup_vs_gl']:.1f}x" if "speedup_vs_gl" in r else ""))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
