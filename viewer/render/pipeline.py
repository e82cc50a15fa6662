"""One frame from model data to images: a backend's ``render`` (colour evaluation and rasterization), read back."""

from __future__ import annotations

from ..camera import Camera
from ..colour import ColourSettings
from ..model.frame import ColourModel, Frame
from .base import Rasterizer, RasterOutput, RasterSettings


def render_frame(frame: Frame, colour_model: ColourModel, camera: Camera, rasterizer: Rasterizer,
                 colour_settings: ColourSettings = ColourSettings(),
                 raster_settings: RasterSettings = RasterSettings()) -> RasterOutput:
    """Render ``frame`` (already on the compute device) seen from ``camera``, as tensors."""
    return rasterizer.render(frame, colour_model, camera, colour_settings, raster_settings).readback()
