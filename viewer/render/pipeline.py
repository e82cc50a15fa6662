"""One frame from model data to images: colour evaluation, then a rasterizer backend."""

from __future__ import annotations

import torch

from ..camera import Camera
from ..colour import ColourSettings, evaluate_colour
from ..model.frame import ColourModel, Frame
from .base import Rasterizer, RasterOutput, RasterSettings


def render_frame(frame: Frame, colour_model: ColourModel, camera: Camera, rasterizer: Rasterizer,
                 colour_settings: ColourSettings = ColourSettings(),
                 raster_settings: RasterSettings = RasterSettings()) -> RasterOutput:
    """Render ``frame`` (already on the compute device) seen from ``camera``."""
    fused = getattr(rasterizer, "evaluate_colour", None)  # backends may fuse colour into a kernel
    # a fused kernel takes the centre from host memory (no GPU→CPU read); the torch code wants it on the device
    centre = torch.as_tensor(camera.centre, dtype=torch.float32,
                             device="cpu" if fused is not None else frame.xyz.device)
    rgb = (fused or evaluate_colour)(frame, colour_model, centre, colour_settings)
    return rasterizer.rasterize(frame.xyz, rgb, frame.radius, frame.alpha, camera, raster_settings)
