"""What the desktop viewer's own UI costs the CPU per frame, with nothing to render (the camera is still).

Runs the real ViewerApp on its headless EGL window (gl backend, the built-in demo, a 1280x800 window) and times
each frame's CPU work: wall time minus the time the headless swap waits for the GPU. Scenarios add what grows
with the user's work: the drawing aids (axes, floor grid, box), a camera path of 6 keyframes with the capture
cameras as frusta, and a sampled path of 300 keyframes (a loaded nerfstudio or EasyVolcap path). Medians over
``--frames`` frames after 20 warm-up frames. On a machine without a GPU the numbers include Mesa drawing the
ImGui lines in software, so they are an upper bound of the UI's cost there.

With ``--baseline REV`` the same scenarios also run on the package as it was at git revision REV (extracted
into a temporary folder and put first on the path), alternating with the current tree, twice each: the
before and after of a change, measured in one run.

    python benchmarks/bench_ui.py --baseline 1303f5e --output benchmarks/results/cpu_ui.json
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

WINDOW = (1280, 800)


def turned(camera, angle: float):
    """``camera`` turned by ``angle`` around the vertical axis through the origin."""
    from k4d_viewer.camera import Camera

    c, s = math.cos(angle), math.sin(angle)
    spin = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return Camera(K=camera.K, R=camera.R @ spin.T, T=camera.T, width=camera.width, height=camera.height)


def cpu_ms_per_frame(app, frames: int) -> dict:
    swap, waited = app.window.swap, []

    def timed_swap() -> None:
        start = time.perf_counter()
        swap()
        waited.append(time.perf_counter() - start)

    app.window.swap = timed_swap
    try:
        for _ in range(20):
            app.frame()
        samples = []
        for _ in range(frames):
            start = time.perf_counter()
            app.frame()
            samples.append((time.perf_counter() - start - waited[-1]) * 1000)
    finally:
        app.window.swap = swap
    return {"cpu_ms_median": float(np.median(samples)), "cpu_ms_p90": float(np.percentile(samples, 90)),
            "frames": frames}


def package_at(revision: str, root: Path) -> Path:
    """The k4d_viewer package as it was at git ``revision``, laid out under ``root`` (as pyproject maps it)."""
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "archive", revision, "viewer", "kernels", "assets"], cwd=repo, check=True,
                             capture_output=True).stdout
    tree = root / "tree"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    package = root / "path" / "k4d_viewer"
    package.parent.mkdir(parents=True)
    (tree / "viewer").rename(package)
    (tree / "kernels").rename(package / "kernels")
    (tree / "assets").rename(package / "assets")
    return package.parent


def run_child(frames: int, path: Path | None) -> dict:
    """The scenarios in a fresh process, on the package found first on ``path`` (None: the current tree)."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = str(path) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, __file__, "--frames", str(frames), "--scenarios-only"], env=env,
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--baseline", metavar="REV", help="also measure the package at this git revision")
    parser.add_argument("--scenarios-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenarios_only:
        print(json.dumps(measure(args.frames)))
        return
    runs: dict[str, list[dict]] = {"current": []}
    with tempfile.TemporaryDirectory() as tmp:
        baseline = package_at(args.baseline, Path(tmp)) if args.baseline else None
        if baseline is not None:
            runs[f"baseline {args.baseline}"] = []
        for _ in range(2 if baseline is not None else 1):  # alternating: drift in the machine hits both alike
            if baseline is not None:
                runs[f"baseline {args.baseline}"].append(run_child(args.frames, baseline))
            runs["current"].append(run_child(args.frames, None))
    summary = {tree: {name: float(np.mean([run[name]["cpu_ms_median"] for run in results]))
                      for name in results[0]} for tree, results in runs.items()}
    import moderngl

    renderer = moderngl.create_standalone_context(backend="egl").info.get("GL_RENDERER", "?")
    result = {"window": list(WINDOW), "model": "built-in demo (60,000 points, 8 views)",
              "cpu_ms_median": summary, "runs": runs,
              "meta": {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "gl": renderer,
                       "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
                       "method": "ViewerApp on the headless EGL window, gl backend, camera still (no render); CPU "
                                 "time per frame = wall time minus the swap's wait for the GPU; median per run, "
                                 "mean of the runs; each tree in its own process, alternating"}}
    text = json.dumps(result, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


def measure(frames: int) -> dict:
    """Every scenario's CPU time per frame (see the module docstring)."""
    work = Path(tempfile.mkdtemp(prefix="k4d-ui-"))
    os.environ["K4D_VIEWER_CONFIG_DIR"] = str(work / "config")
    from k4d_viewer.app.viewer import ViewerApp, ViewerOptions
    from k4d_viewer.assets import DEMO_MODEL
    from k4d_viewer.model import open_model

    model = open_model(DEMO_MODEL)
    app = ViewerApp(model, ViewerOptions(backend="gl", window_size=WINDOW, headless=True, screenshot_dir=work))
    results = {}
    try:
        for _ in range(5):
            app.frame()
        results["panels"] = cpu_ms_per_frame(app, frames)
        options = app.render_options
        options.show_axes = options.show_grid = options.show_box = True
        results["panels + axes, grid, box"] = cpu_ms_per_frame(app, frames)
        editor, start = app.session.path_editor, app.session.last_camera
        editor.show_capture_cameras = True
        for index in range(6):
            editor.add(turned(start, 0.3 * index), index * 8)
        results["... + a 6-keyframe path and 8 capture frusta"] = cpu_ms_per_frame(app, frames)
        editor.clear()
        for index in range(300):
            editor.add(turned(start, 2 * math.pi * index / 300), index % model.info.n_frames)
        results["... with a 300-keyframe sampled path instead"] = cpu_ms_per_frame(app, frames)
    finally:
        app.shutdown()
        model.close()
    return results


if __name__ == "__main__":
    sys.exit(main())
