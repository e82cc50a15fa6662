"""The small interface every rasterizer backend implements, and the settings and outputs they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from ..camera import Camera


class BackendUnavailable(RuntimeError):
    """A backend cannot run here (no GPU, no GL context, a missing package); the message says what to do."""


@dataclass(frozen=True)
class RasterSettings:
    """Rasterization rules of reference §4 that a user can change."""

    layers: int = 11                 # K = pts_per_pix: at most this many points composited per pixel
    radius_scale: float = 1.0        # radii_mult (4K4D uses 0.85 in solid mode)
    alpha_threshold: float = 1e-4    # points with alpha <= this are dropped before they take a layer
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    solid: bool = False              # one layer, nearest point wins, colour not premultiplied


@dataclass
class RasterOutput:
    """Images with row 0 at the top: rgb (H,W,3) premultiplied and composited over the background,
    alpha (H,W) = 1 − Π(1 − α), depth (H,W) = camera z of the last composited layer (far where empty)."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor


def output_from_accum(accum: torch.Tensor, depth: torch.Tensor, background: tuple[float, float, float],
                      far: float) -> RasterOutput:
    """The fast backends' layout (accum: premultiplied rgb + transmittance; depth: last layer's z, with 0 or
    >= 1e29 where empty), rows top first, as a RasterOutput with the background composited."""
    transmittance = accum[..., 3]
    bg = torch.tensor(background, dtype=torch.float32, device=accum.device)
    empty = (depth <= 0) | (depth >= 1e29)
    return RasterOutput(rgb=accum[..., :3] + bg * transmittance[..., None], alpha=1 - transmittance,
                        depth=torch.where(empty, torch.full_like(depth, far), depth))


class FinishedEvent:
    """Stands in for a CUDA event where the work ran on the CPU (tests): it is done as soon as it is recorded."""

    def record(self, stream: object = None) -> None:
        return None

    def query(self) -> bool:
        return True

    def synchronize(self) -> None:
        return None


@dataclass
class DeviceImage:
    """A rendered frame where the backend made it: a RasterOutput (torch), CUDA tensors (cuda: accum and depth,
    rows top first) or GL textures (gl: rows bottom first). ``readback`` gives a RasterOutput only when asked
    (screenshots, files, the browser); a window displays the device data directly. ``layers`` and ``points``
    say what was actually drawn."""

    width: int
    height: int
    background: tuple[float, float, float]
    far: float
    layers: int
    points: int
    output: RasterOutput | None = None     # torch
    accum: object = None                   # tensor (H,W,4) or GL texture: premultiplied rgb + transmittance
    depth: object = None                   # tensor (H,W) or GL texture: last layer's z, 0 or >= 1e29 where empty
    rows_top_first: bool = True
    pending: Callable[[], tuple | None] | None = None  # see ``ready``

    def ready(self) -> DeviceImage:
        """Finish what the backend left for when the image is used (a frame replayed from CUDA graphs checks
        that its pair buffers were large enough, cuda_graphs.py); call before using accum or depth. Once."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            replaced = pending()
            if replaced is not None:
                self.accum, self.depth = replaced
        return self

    @property
    def kind(self) -> str:
        if self.output is not None:
            return "output"
        return "tensor" if isinstance(self.accum, torch.Tensor) else "gl"

    def readback(self) -> RasterOutput:
        self.ready()
        if self.output is not None:
            return self.output
        if isinstance(self.accum, torch.Tensor):
            return output_from_accum(self.accum, self.depth, self.background, self.far)
        import numpy as np

        accum = np.frombuffer(self.accum.read(), np.float32).reshape(self.height, self.width, 4)
        depth = np.frombuffer(self.depth.read(), np.float32).reshape(self.height, self.width)
        if not self.rows_top_first:
            accum, depth = accum[::-1], depth[::-1]
        return output_from_accum(torch.from_numpy(accum.copy()), torch.from_numpy(depth.copy()), self.background,
                                 self.far)


class Rasterizer(Protocol):
    """The backend contract: ``render`` a frame for a camera (colour evaluation included) to a DeviceImage
    that stays on its device; ``rasterize`` is the underlying op on already coloured points, which the tests
    compare between backends. Constructors raise BackendUnavailable where the backend cannot run."""

    name: str

    def render(self, frame, colour_model, camera: Camera, colour, settings: RasterSettings) -> DeviceImage:
        """``frame`` (a model Frame on the backend's device), its ColourModel, ColourSettings ``colour``."""

    def rasterize(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                  camera: Camera, settings: RasterSettings) -> RasterOutput:
        """xyz (N,3), rgb (N,3) in [0,1], radius (N,) world units, alpha (N,) in [0,1]."""
