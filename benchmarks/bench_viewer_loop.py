"""The desktop viewer's real frame loop on the GPU: what the loop adds over the render itself.

Runs the actual viewer (ViewerApp: input, session step, render, hand-over to GL, present, ImGui panels, swap) on
its headless EGL window at 3840x2160 with the cuda backend, rendering the reference scene (262,144 points, 60
views, SH 3, K = 11) at 3840x2160, while a mouse drag orbits the camera so every frame renders anew. Per frame:
the loop's wall time (the headless swap keeps one frame in flight, like a window's swap chain without vsync,
so in steady state this is the time per finished frame), the render's own GPU time as the session measures it
(colour + rasterization, CUDA events), and the difference. Then the same with the camera still (no render:
the loop alone), a cProfile of the orbiting loop and GL timings that say where the rest goes.

    python benchmarks/bench_viewer_loop.py             # needs an NVIDIA GPU, triton, cuda-python, moderngl, imgui
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
from scene import device_slug, reference_frame  # noqa: E402

SIZE = "3840x2160"  # the render resolution (as the viewer's --resolution); the window is this size unless --window


def write_model(path: Path) -> None:
    from k4d_viewer.model import save_canonical

    frame = reference_frame(262_144, 60, device="cpu")
    arrays = {k: v.numpy() for k, v in frame.__dict__.items() if v is not None}
    save_canonical(path, [arrays], colour="ibr", fps=30, up="+y")


def run_loop(app, frames: int, orbit: bool) -> dict:
    """``frames`` loop iterations; with ``orbit`` a held left-button drag moves 2 px a frame."""
    region = app.region
    x0, y = region.x + region.width / 2, region.y + region.height / 2
    loop_ms, render_ms, display_ms, swap_ms = [], [], [], []
    swap = app.window.swap

    def timed_swap() -> None:  # the headless swap waits for the previous frame: time the CPU waits on the GPU
        start = time.perf_counter()
        swap()
        swap_ms.append((time.perf_counter() - start) * 1000)

    app.window.swap = timed_swap
    if orbit:
        app.frame(lambda io: (io.add_mouse_pos_event(x0, y), io.add_mouse_button_event(0, True)))
    for i in range(frames):
        x = x0 + 2 * ((i % 200) if (i // 200) % 2 == 0 else 200 - i % 200)
        start = time.perf_counter()
        app.frame((lambda io, x=x: io.add_mouse_pos_event(x, y)) if orbit else None)
        loop_ms.append((time.perf_counter() - start) * 1000)
        render_ms.append(app.session.stats.raster_ms if orbit else 0.0)
        display_ms.append(app.session.stats.display_ms)
    if orbit:
        app.frame(lambda io: io.add_mouse_button_event(0, False))
    app.window.swap = swap
    loop, render = np.array(loop_ms), np.array(render_ms)
    swaps = np.array(swap_ms[-frames - 1:-1] if orbit else swap_ms[-frames:])
    return {"frames": frames, "loop_ms_median": float(np.median(loop)), "loop_ms_p90": float(np.percentile(loop, 90)),
            "render_ms_median": float(np.median(render)),
            "loop_minus_render_ms_median": float(np.median(loop - render)),
            "display_ms_median": float(np.median(display_ms)),
            "end_of_frame_gpu_wait_ms_median": float(np.median(swaps)),
            "cpu_ms_median": float(np.median(loop - swaps))}


def gl_probes(app, repeat: int = 50) -> dict:
    """What the end-of-frame wait is made of: glFinish on an idle context, after clearing the 4K window, and
    after the present (clear + image drawn into the view region)."""
    ctx, target = app.ctx, app.target

    def median_ms(action) -> float:
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            action()
            ctx.finish()
            samples.append((time.perf_counter() - start) * 1000)
        return float(np.median(samples))

    def present() -> None:
        app.view.present(target, app.window.framebuffer_size, app.region, app._pixel_scale(), app.ui.compare)

    return {"finish_idle_ms": median_ms(lambda: None),
            "clear_window_and_finish_ms": median_ms(lambda: (target.use(), ctx.clear(0.0, 0.0, 0.0))),
            "present_and_finish_ms": median_ms(present)}


def profile_loop(app, frames: int) -> list[dict]:
    """Where an orbiting frame's wall time goes (cProfile, cumulative ms per frame, the 15 largest)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run_loop(app, frames, orbit=True)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    rows = sorted(((value[3], key) for key, value in stats.items()), reverse=True)[:15]
    return [{"function": f"{Path(key[0]).name}:{key[1]}({key[2]})", "ms_per_frame": total * 1000 / frames}
            for total, key in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--backend", default="cuda", help="cuda (default); gl for a smoke run without CUDA")
    parser.add_argument("--size", default=SIZE, help=f"render resolution (default {SIZE})")
    parser.add_argument("--window", help="window size (default: the render resolution)")
    args = parser.parse_args()
    if args.backend == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_viewer_loop: needs a CUDA GPU")
    window = tuple(int(v) for v in (args.window or args.size).split("x"))
    render_size = tuple(int(v) for v in args.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="k4d-loop-"))
    os.environ["K4D_VIEWER_CONFIG_DIR"] = str(work / "config")
    from k4d_viewer.app.viewer import ViewerApp, ViewerOptions
    from k4d_viewer.commands.view import parse_resolution
    from k4d_viewer.model import open_model

    write_model(work / "reference.npz")
    model = open_model(work / "reference.npz")
    app = ViewerApp(model, ViewerOptions(backend=args.backend, window_size=window, headless=True,
                                         resolution=parse_resolution(args.size), screenshot_dir=work))
    try:
        run_loop(app, 60, orbit=True)  # warm-up: kernels compiled, layout settled, buffers allocated
        assert app.render_size() == render_size, app.render_size()
        orbiting = run_loop(app, args.frames, orbit=True)
        still = run_loop(app, args.frames // 2, orbit=False)
        profile = profile_loop(app, 60)
        probes = gl_probes(app)
        display_path = app.view.display.cuda_path
    finally:
        app.shutdown()
        model.close()
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu"
    result = {"orbiting": orbiting, "still": still, "gl": probes, "profile_orbiting": profile,
              "display_path": display_path,
              "backend": args.backend,
              "window": list(window), "render_resolution": args.size,
              "meta": {"device": name, "torch": torch.__version__, "python": platform.python_version(),
                       "date": time.strftime("%Y-%m-%d"),
                       "method": "ViewerApp on the headless EGL window (same code as the desktop window but glfw "
                                 "input and vsync; its swap keeps one frame in flight); loop wall time per frame; "
                                 "render = the session's GPU time of colour + raster (CUDA events); medians"}}
    slug = device_slug(name)
    path = args.output or Path(__file__).parent / "results" / f"{slug}_viewer_loop_{window[0]}x{window[1]}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
