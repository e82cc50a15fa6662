"""Where the cuda backend's frame time goes: each step of the rasterizer timed alone (synchronised), and a
sweep of tile size, batch size and warps for the compositing kernel. A development tool; the numbers that
count come from bench_render.py.

    python benchmarks/profile_raster.py [--points 262144] [--size 3840x2160]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import triton

sys.path.insert(0, str(Path(__file__).parent))
from k4d_viewer.colour import ColourSettings  # noqa: E402
from k4d_viewer.kernels import triton_raster as tr  # noqa: E402
from k4d_viewer.model import ColourModel  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402
from scene import frame_bounds, reference_camera, reference_frame  # noqa: E402


def timed(fn, repeat: int = 20) -> float:
    return triton.testing.do_bench(fn, warmup=5, rep=repeat * 5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=262_144)
    parser.add_argument("--size", default="3840x2160")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    frame = reference_frame(args.points)
    camera = reference_camera(width, height, frame_bounds(frame))
    cuda = CudaRasterizer()
    centre = torch.tensor(camera.centre, dtype=torch.float32)
    rgb = cuda.evaluate_colour(frame, ColourModel.IBR, centre, ColourSettings())
    colour_ms = timed(lambda: cuda.evaluate_colour(frame, ColourModel.IBR, centre, ColourSettings()))
    print(f"colour kernel            {colour_ms:.3f} ms")

    def whole(tile=16, batch=16, warps=4):
        return tr.rasterize(frame.xyz, rgb, frame.radius, frame.alpha, camera.K, camera.R, camera.T, width, height,
                            camera.near, camera.far, 11, 1.0, 1e-4, False, tile=tile, batch=batch, warps=warps)

    print(f"rasterize (default)      {timed(whole):.3f} ms")
    # the pieces
    n = frame.n_points
    tiles_x, tiles_y = triton.cdiv(width, 16), triton.cdiv(height, 16)
    u = torch.empty(n, device="cuda")
    v, z, rpix = torch.empty_like(u), torch.empty_like(u), torch.empty_like(u)
    rect = torch.empty(n, 4, dtype=torch.int32, device="cuda")
    counts = torch.empty(n, dtype=torch.int32, device="cuda")
    R, T, K = camera.R, camera.T, camera.K

    def project():
        tr._project_kernel[(triton.cdiv(n, 256),)](
            frame.xyz, frame.radius, frame.alpha, n, *(float(r) for r in R.reshape(-1)), *(float(t) for t in T),
            float(K[0, 0]), float(K[0, 1]), float(K[0, 2]), float(K[1, 1]), float(K[1, 2]), float(width),
            float(height), camera.near, camera.far, 1.0, 1e-4, u, v, z, rpix, rect, counts, TILE=16, BLOCK=256)

    print(f"  project                {timed(project):.3f} ms")
    project()
    ends = torch.cumsum(counts, 0, dtype=torch.int64)
    total = int(ends[-1])
    print(f"  pairs                  {total:,} ({total / n:.2f} per point)")
    keys = torch.empty(total, dtype=torch.int64, device="cuda")
    ids = torch.empty(total, dtype=torch.int32, device="cuda")

    def emit():
        tr._emit_kernel[(triton.cdiv(n, 256),)](rect, counts, ends - counts, z, n, tiles_x, keys, ids, BLOCK=256)

    print(f"  cumsum + sync          {timed(lambda: int(torch.cumsum(counts, 0, dtype=torch.int64)[-1])):.3f} ms")
    print(f"  emit                   {timed(emit):.3f} ms")
    emit()
    print(f"  sort                   {timed(lambda: torch.sort(keys)):.3f} ms")
    sorted_keys, order = torch.sort(keys)
    print(f"  gather ids             {timed(lambda: ids[order]):.3f} ms")
    sorted_ids = ids[order]
    arange = torch.arange(tiles_x * tiles_y + 1, device="cuda", dtype=torch.int64)
    print(f"  searchsorted           {timed(lambda: torch.searchsorted(sorted_keys >> 32, arange)):.3f} ms")
    starts = torch.searchsorted(sorted_keys >> 32, arange)
    accum = torch.empty(height, width, 4, device="cuda")
    depth = torch.empty(height, width, device="cuda")
    for tile, batch, warps in [(16, 16, 4), (16, 16, 8), (16, 32, 8), (16, 8, 4), (16, 8, 2), (8, 16, 2),
                               (8, 32, 4), (8, 8, 1), (32, 8, 8)]:
        if tile != 16:
            whole_ms = timed(lambda t=tile, b=batch, w=warps: whole(t, b, w))
            print(f"  render tile {tile} batch {batch} warps {warps}: whole {whole_ms:.3f} ms")
            continue

        def render(batch=batch, warps=warps):
            tr._render_kernel[(tiles_x * tiles_y,)](sorted_ids, starts, u, v, z, rpix, frame.alpha, rgb, accum, depth,
                                                    width, height, tiles_x, 11, SOLID=False, TILE=16, BATCH=batch,
                                                    num_warps=warps)

        print(f"  render tile 16 batch {batch} warps {warps}: {timed(render):.3f} ms")


if __name__ == "__main__":
    main()
