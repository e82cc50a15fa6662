"""Typed state of the viewer that the UI edits and the render loop reads."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

RESOLUTION_PRESETS: dict[str, tuple[int, int] | None] = {
    "window": None, "1280x720": (1280, 720), "1920x1080": (1920, 1080), "2560x1440": (2560, 1440),
    "3840x2160": (3840, 2160), "7680x4320": (7680, 4320), "custom": None,
}
MIN_CUSTOM_SIDE = 16  # the smallest custom render width or height


@dataclass
class RenderOptions:
    """The desktop window's own options (the render rules live in the session's RenderSettings)."""

    resolution: str = "window"      # a RESOLUTION_PRESETS key
    render_scale: float = 1.0       # with resolution 'window': render size = render region size × scale
    custom_size: tuple[int, int] = (1024, 1024)  # with resolution 'custom'
    vsync: bool = True
    show_axes: bool = False         # world axes at the origin
    show_grid: bool = False         # a floor grid under the model
    show_box: bool = False          # the model's bounding box

    @classmethod
    def at(cls, resolution: str | tuple[int, int]) -> RenderOptions:
        """Options that render at ``resolution``: a RESOLUTION_PRESETS key, or a custom (width, height)."""
        if isinstance(resolution, tuple):
            return cls(resolution="custom", custom_size=resolution)
        return cls(resolution=resolution)

    def render_size(self, region_size: tuple[int, int]) -> tuple[int, int]:
        """The size to render at, given the render region's size in framebuffer pixels."""
        if self.resolution == "custom":
            return self.custom_size
        preset = RESOLUTION_PRESETS[self.resolution]
        if preset is not None:
            return preset
        width, height = region_size
        return max(1, int(width * self.render_scale)), max(1, int(height * self.render_scale))


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
    image_times: deque = field(default_factory=lambda: deque(maxlen=120))  # when new images were rendered

    def add_frame(self, frame_ms: float) -> None:
        self.history.append(frame_ms)

    def add_image(self, when: float) -> None:
        self.image_times.append(when)

    def images_per_second(self, now: float) -> float:
        """New images drawn per second over the last two seconds (what playback really shows)."""
        recent = [t for t in self.image_times if now - t <= 2.0]
        return len(recent) / 2.0

    @property
    def fps(self) -> float:
        recent = list(self.history)[-30:]
        return 1000.0 / float(np.mean(recent)) if recent else 0.0

    def plot_values(self) -> np.ndarray:
        return np.asarray(self.history, dtype=np.float32)
