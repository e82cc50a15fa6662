"""Where the cuda backend's frame time goes: each step of the rasterizer timed alone on the benchmark scenes,
for the rasterizer options in CONFIGS (tile side, batch, warps, reached tiles or bounding box); a whole render
with and without CUDA graphs (GPU time and CPU time per call); and what copying a frame into the display costs
through CUDA-GL interop. A development tool; the numbers that count come from bench_render.py.

    python benchmarks/profile_raster.py [--case figure-4k] [--json out.json] [--no-interop]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import triton

sys.path.insert(0, str(Path(__file__).parent))
from k4d_viewer.colour import ColourSettings  # noqa: E402
from k4d_viewer.kernels import triton_raster as tr  # noqa: E402
from k4d_viewer.model import ColourModel  # noqa: E402
from k4d_viewer.render import RasterSettings  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402
from scene import CASES, case_frame  # noqa: E402

# rasterizer options compared (triton_raster: tile side, compositing batch, pairs for the tiles a disc reaches
# or its whole box, warps per compositing tile)
CONFIGS = {
    "tile8": {"tile": 8}, "tile8_box": {"tile": 8, "tight": False}, "tile8_warps2": {"tile": 8, "warps": 2},
    "tile8_batch4": {"tile": 8, "batch": 4}, "tile8_batch16": {"tile": 8, "batch": 16},
    "tile16": {"tile": 16}, "tile16_batch4": {"tile": 16, "batch": 4}, "tile16_batch16": {"tile": 16, "batch": 16},
    "tile16_warps2": {"tile": 16, "warps": 2},
}


def timed(fn) -> float:
    return float(triton.testing.do_bench(fn, warmup=10, rep=100, return_mode="median"))


def profile_case(name: str) -> dict:
    frame, camera = case_frame(name)
    width, height = camera.width, camera.height
    cuda = CudaRasterizer()
    centre = torch.tensor(camera.centre, dtype=torch.float32)
    rgb = cuda.evaluate_colour(frame, ColourModel.IBR, centre, ColourSettings())
    result = {"colour": timed(lambda: cuda.evaluate_colour(frame, ColourModel.IBR, centre, ColourSettings()))}
    args = (frame.xyz, rgb, frame.radius, frame.alpha, camera, RasterSettings(layers=11))
    result["rasterize"] = timed(lambda: cuda.render_buffers(*args))
    params = torch.from_numpy(cuda.params(camera, RasterSettings(layers=11))).cuda()
    for name, backend in (("render_eager", CudaRasterizer(graphs=False)), ("render_graphs", CudaRasterizer())):
        def draw(b=backend):
            return b.render(frame, ColourModel.IBR, camera, ColourSettings(), RasterSettings(layers=11))

        result[name] = timed(draw)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(50):
            draw()
        result[f"{name}_host_ms"] = (time.perf_counter() - start) * 1000 / 50  # launches + the one sync
        torch.cuda.synchronize()
    for name, options in CONFIGS.items():
        result[name] = tr.profile_stages(frame.xyz, rgb, frame.radius.reshape(-1), frame.alpha.reshape(-1), params,
                                         width, height, 11, False, timed, **options)
    return result


def profile_interop(width: int, height: int) -> dict:
    """Display hand-over costs at one size: map/unmap alone and map + copy, for textures and buffers."""
    from k4d_viewer.render.cuda_interop import GLBufferSink, GLTextureSink
    from k4d_viewer.render.gl_backend import create_headless_context

    ctx = create_headless_context()
    out = {}
    for dtype, torch_dtype in (("f4", torch.float32), ("f2", torch.float16)):
        texture = ctx.texture((width, height), 4, dtype=dtype)
        sink = GLTextureSink(texture)
        image = torch.rand(height, width, 4, device="cuda").to(torch_dtype)
        out[f"texture_{dtype}_copy"] = timed(lambda s=sink, i=image: s.write(i))
        sink.release()
        texture.release()
        buffer = ctx.buffer(reserve=image.numel() * image.element_size())
        bsink = GLBufferSink(buffer)
        out[f"buffer_{dtype}_copy"] = timed(lambda s=bsink, i=image: s.write(i))
        out[f"buffer_{dtype}_map_unmap"] = timed(lambda s=bsink: (s.map(), s.unmap()))
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(100):
            bsink.map()
            bsink.unmap()
        out[f"buffer_{dtype}_map_unmap_host_us"] = (time.perf_counter() - start) * 1e4
        torch.cuda.synchronize()
        out[f"buffer_{dtype}_map_unmap_100_pipelined_ms"] = (time.perf_counter() - start) * 1e3
        bsink.release()
        buffer.release()
    out["device_copy_f4"] = timed(lambda: image.float().clone())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", choices=list(CASES), help="default: all")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-interop", action="store_true", help="skip the display hand-over costs")
    args = parser.parse_args()
    report = {"device": torch.cuda.get_device_name()}
    for name in args.case or list(CASES):
        report[name] = profile_case(name)
        for key, value in report[name].items():
            if isinstance(value, dict):
                value = "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items())
            print(f"{name:14} {key:16} {value}", flush=True)
        torch.cuda.empty_cache()
    for size in () if args.no_interop else ((3840, 2160), (1920, 1080)):
        report[f"interop_{size[0]}x{size[1]}"] = profile_interop(*size)
        print("interop", size, report[f"interop_{size[0]}x{size[1]}"], flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
