"""See-through pixels inside the subject's silhouette for captured point clouds (issue: captures render closed).

Renders the shared 8i loot frames (d8, d10) and generated voxel-grid, anisotropic-grid, random-surface,
uneven and sparse clouds, opened as PLY exactly as a user would, at the default framing and in a close-up of the
upper body from 1 m, at 1920x1080 and 3840x2160, and reports the see-through fraction (alpha < 0.5 inside the
filled silhouette) and the mean colour error. Writes benchmarks/results/see_through_<label>.json.

    python benchmarks/bench_see_through.py --label after [--backend gl] [--cases loot-d8,voxel]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from capture_quality import SIZES, generated_cloud, see_through, views, visible_colour, write_ply  # noqa: E402

LOOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "8i-loot"
CASES = ("loot-d8", "loot-d10", "voxel", "anisotropic", "random", "uneven", "sparse")


def case_input(name: str, folder: Path) -> Path:
    if name == "loot-d8":
        return LOOT / "d8" / "loot_d8_0001.ply"
    if name == "loot-d10":
        return LOOT / "d10" / "loot_d10_0001.ply"
    xyz, rgb = generated_cloud(name)
    return write_ply(folder / f"{name}.ply", xyz, rgb)


def measure(path: Path, backend_name: str, settings_overrides: dict | None = None) -> list[dict]:
    """Every framing and size for one PLY input: see-through fraction and colour error."""
    from k4d_viewer.model import open_model
    from k4d_viewer.render import get_backend
    from k4d_viewer.settings import RenderSettings

    model = open_model(path)
    frame = model.read_frame(0)
    settings = RenderSettings().for_model(model.info) if hasattr(RenderSettings, "for_model") else RenderSettings()
    for name, value in (settings_overrides or {}).items():
        settings = settings.with_value(name, value)
    backend = get_backend(backend_name)
    xyz, radius = frame.xyz.float().numpy().astype(np.float64), frame.radius.float().numpy()
    rgb_points = frame.rgb.float().numpy() / (255.0 if frame.rgb.dtype == __import__("torch").uint8 else 1.0)
    rows = []
    for size_name, size in SIZES.items():
        for view_name, camera in views(model, frame, size).items():
            start = time.perf_counter()
            output = backend.render(frame, model.info.colour, camera, settings.colour(), settings.raster()).readback()
            seconds = time.perf_counter() - start
            alpha = output.alpha.float().numpy()
            fraction, inside = see_through(alpha)
            rgb = output.rgb.float().numpy()
            seen = visible_colour(xyz, rgb_points, radius, camera, output.depth.float().numpy(), inside)
            colour_error = float(np.abs(rgb[inside].mean(0) - seen).max()) if inside.any() else 1.0
            rows.append({"size": size_name, "view": view_name, "see_through": fraction,
                         "silhouette_pixels": int(inside.sum()), "colour_error": colour_error,
                         "render_s": round(seconds, 3)})
    model.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--label", required=True)
    parser.add_argument("--backend", default="gl")
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    results = {"machine": platform.node(), "processor": platform.processor() or platform.machine(),
               "backend": args.backend, "cases": {}}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.cases.split(","):
            path = case_input(name, Path(folder))
            if not path.exists():
                print(f"{name}: skipped ({path} missing)")
                continue
            rows = measure(path, args.backend)
            results["cases"][name] = rows
            for row in rows:
                print(f"{name:12s} {row['size']:6s} {row['view']:9s} see-through {100 * row['see_through']:6.3f}%  "
                      f"colour error {row['colour_error']:.3f}  ({row['render_s']:.2f} s)")
    out = Path(__file__).with_name("results") / f"see_through_{args.label}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
