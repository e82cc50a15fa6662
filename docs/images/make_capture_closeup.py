"""Make docs/images/capture_before_after.png: a close-up of the 8i loot capture (frame 1, octree depth 8) from
1 m, before and after the capture-quality change, background magenta so see-through pixels show.

Before: radius 1.2 x the mean distance to the 4 nearest neighbours, drawn with 4K4D's blended discs.
After: the default for captures (radius = distance to the 8th nearest neighbour, opaque splats).

    python docs/images/make_capture_closeup.py [../shared/data/8i-loot/d8/loot_d8_0001.ply]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from capture_quality import see_through, views  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "data" / "8i-loot" / "d8" / "loot_d8_0001.ply"


def main() -> None:
    from dataclasses import replace

    from k4d_viewer.model import open_model
    from k4d_viewer.render import get_backend
    from k4d_viewer.settings import RenderSettings
    from scipy.spatial import cKDTree

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    model = open_model(path)
    frame = model.read_frame(0)
    camera = views(model, frame, (1920, 1080))["close-up"]
    distances, _ = cKDTree(frame.xyz.numpy()).query(frame.xyz.numpy(), k=5, workers=-1)
    old = replace(frame, radius=torch.from_numpy((1.2 * distances[:, 1:].mean(1)).astype(np.float32)))
    magenta = (1.0, 0.0, 1.0)
    gl = get_backend("gl")
    panels = []
    for label, data, settings in (("before", old, RenderSettings(solid=False, background=magenta)),
                                  ("after", frame, RenderSettings(background=magenta).for_model(model.info))):
        out = gl.render(data, model.info.colour, camera, settings.colour(), settings.raster()).readback()
        fraction, _ = see_through(out.alpha.float().numpy())
        print(f"{label}: {100 * fraction:.2f}% of the silhouette see-through")
        image = (out.rgb.clamp(0, 1).numpy() * 255).astype(np.uint8)[120:840, 600:1320]  # shirt and face
        panels.append(image)
    Image.fromarray(np.concatenate(panels, axis=1)).resize((960, 480), Image.LANCZOS).save(
        Path(__file__).with_name("capture_before_after.png"), optimize=True)
    model.close()


if __name__ == "__main__":
    main()
