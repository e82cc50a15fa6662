"""Point picking: which point the user sees at a pixel, with its stored attributes and its colour from here.

Uses the reference projection and coverage rule (reference §4): the front-most disc that covers the pixel's
centre, among the points the rasterizer keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .camera import Camera
from .colour import ColourSettings, evaluate_colour
from .model import ColourModel, Frame
from .render.base import RasterSettings
from .render.projection import project_points


@dataclass(frozen=True)
class PickedPoint:
    """One point of a frame, as seen from a camera."""

    frame: int
    index: int                   # into the frame's arrays
    position: np.ndarray         # world coordinates
    radius: float                # world units, as stored
    radius_pixels: float         # on screen, after --radius-scale
    alpha: float
    colour: np.ndarray           # rgb in 0..1 as the colour stage gives it for this camera
    depth: float                 # camera-space z
    pixel: tuple[int, int]       # the pixel picked (x, y, row 0 at the top)
    covering: int                # how many discs cover that pixel


def pick_point(frame: Frame, frame_index: int, colour_model: ColourModel, camera: Camera, x: int, y: int,
               colour: ColourSettings, raster: RasterSettings) -> PickedPoint | None:
    """The front-most point whose disc covers pixel (x, y) of ``camera``'s image, or None."""
    if not (0 <= x < camera.width and 0 <= y < camera.height):
        return None
    points = project_points(frame.xyz, frame.radius, frame.alpha, camera, raster)
    dx, dy = points.u - (x + 0.5), points.v - (y + 0.5)
    covers = torch.nonzero(dx * dx + dy * dy < points.radius ** 2).squeeze(1)
    if len(covers) == 0:
        return None
    first = int(covers[0])  # points are sorted front to back
    index = int(points.index[first])
    centre = torch.as_tensor(camera.centre, dtype=torch.float32, device=frame.xyz.device)
    rgb = evaluate_colour(frame, colour_model, centre, colour)[index].float().clamp(0, 1)
    return PickedPoint(frame=frame_index, index=index, position=frame.xyz[index].double().cpu().numpy(),
                       radius=float(frame.radius[index]), radius_pixels=float(points.radius[first]),
                       alpha=float(frame.alpha[index]), colour=rgb.cpu().numpy(), depth=float(points.z[first]),
                       pixel=(int(x), int(y)), covering=len(covers))
