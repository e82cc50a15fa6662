"""Typed state of the viewer that the UI edits and the render loop reads."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..colour import ColourSettings
from ..render.base import RasterSettings

RESOLUTION_PRESETS: dict[str, tuple[int, int] | None] = {
    "window": None, "1280x720": (1280, 720), "1920x1080": (1920, 1080), "2560x1440": (2560, 1440),
    "3840x2160": (3840, 2160),
}
RENDER_MODES = ("color", "alpha", "depth")


@dataclass
class RenderOptions:
    """Everything on the Quality panel; defaults are 4K4D's."""

    backend: str = "gl"
    resolution: str = "window"      # a RESOLUTION_PRESETS key
    render_scale: float = 1.0       # with resolution 'window': render size = window size × scale
    layers: int = 11
    radius_scale: float = 1.0
    alpha_threshold: float = 1e-4
    n_srcs: int = 4
    sh_degree: int = 3
    sh_limit: float = 1.0
    skip_sh: bool = False
    skip_base: bool = False
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    solid: bool = False
    mode: str = "color"
    vsync: bool = True

    def render_size(self, window_size: tuple[int, int]) -> tuple[int, int]:
        preset = RESOLUTION_PRESETS[self.resolution]
        if preset is not None:
            return preset
        width, height = window_size
        return max(1, int(width * self.render_scale)), max(1, int(height * self.render_scale))

    def raster_settings(self) -> RasterSettings:
        return RasterSettings(layers=self.layers, radius_scale=self.radius_scale,
                              alpha_threshold=self.alpha_threshold, background=self.background, solid=self.solid)

    def colour_settings(self) -> ColourSettings:
        return ColourSettings(n_srcs=self.n_srcs, sh_degree=self.sh_degree, sh_limit=self.sh_limit,
                              skip_sh=self.skip_sh, skip_base=self.skip_base)


@dataclass
class FrameStats:
    """Timings of the last frames, in milliseconds, for the Stats panel."""

    load_ms: float = 0.0
    colour_ms: float = 0.0
    raster_ms: float = 0.0
    display_ms: float = 0.0
    points: int = 0
    layers_drawn: int = 0
    gpu_bytes: int = 0
    history: deque = field(default_factory=lambda: deque(maxlen=240))

    def add_frame(self, frame_ms: float) -> None:
        self.history.append(frame_ms)

    @property
    def fps(self) -> float:
        recent = list(self.history)[-30:]
        return 1000.0 / float(np.mean(recent)) if recent else 0.0

    def plot_values(self) -> np.ndarray:
        return np.asarray(self.history, dtype=np.float32)
