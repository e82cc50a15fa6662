"""The ``cuda`` backend: fused colour evaluation and the tile-based compute rasterizer (Triton kernels).

On NVIDIA GPUs this is the fast path. The same kernels run on the CPU through the Triton interpreter
(``TRITON_INTERPRET=1``), which is how CI tests them on tiny images.
"""

from __future__ import annotations

import os

import torch

from ..camera import Camera
from ..colour import ColourSettings, evaluate_colour
from ..model.frame import ColourModel, Frame
from .base import BackendUnavailable, DeviceImage, RasterOutput, RasterSettings, output_from_accum


def cuda_available() -> bool:
    """CUDA and Triton are both usable (or the Triton interpreter was asked for)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1"


class CudaRasterizer:
    """Triton kernels behind the Rasterizer interface; tensors must be on a CUDA device (or the CPU when
    the Triton interpreter is on)."""

    name = "cuda"

    def __init__(self, tile: int | None = None, batch: int = 16) -> None:
        """``tile``: the compositing tile's side in pixels; None picks per image (``tile_for``)."""
        if not cuda_available():
            raise BackendUnavailable("the cuda backend needs an NVIDIA GPU with CUDA and the triton package "
                                     "(pip install 'k4d-viewer[cuda]')")
        from ..kernels import triton_colour, triton_raster

        self._colour, self._raster = triton_colour, triton_raster
        self.tile, self.batch = tile, batch

    def tile_for(self, width: int, height: int) -> int:
        """8x8 tiles up to 4K; 16x16 beyond, where discs span many pixels and small tiles multiply the pairs to
        sort (H200, benchmarks/profile_raster.py: 1M points at 7680x4320 2.24 ms with 16, 3.04 ms with 8;
        the 4K cases are fastest with 8)."""
        if self.tile is not None:
            return self.tile
        return 16 if width * height > 2 * 3840 * 2160 else 8

    def device(self) -> torch.device:
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")

    def evaluate_colour(self, frame: Frame, colour: ColourModel, centre: torch.Tensor,
                        settings: ColourSettings = ColourSettings()) -> torch.Tensor:
        """Fused 4K4D colour (reference §2); other colour models are cheap and use the torch code."""
        if colour is not ColourModel.IBR:
            return evaluate_colour(frame, colour, centre, settings)
        # ``centre`` should live on the CPU: reading a GPU scalar back would stall the GPU pipeline.
        centre_host = tuple(float(c) for c in centre.detach().cpu())
        degree = min(settings.sh_degree, frame.sh_degree)
        return self._colour.ibr_colour(frame.xyz, frame.sh, frame.rgbw, frame.cents, settings.n_srcs, centre_host,
                                       degree, settings.sh_limit, settings.skip_sh or degree < 0, settings.skip_base)

    def render_buffers(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                       camera: Camera, settings: RasterSettings) -> tuple[torch.Tensor, torch.Tensor]:
        """(accum (H,W,4): premultiplied rgb + transmittance, depth (H,W): 0 where empty), rows top first."""
        try:
            return self._raster.rasterize(
                xyz, rgb, radius.reshape(-1), alpha.reshape(-1), camera.K, camera.R, camera.T, camera.width,
                camera.height, camera.near, camera.far, 1 if settings.solid else settings.layers,
                settings.radius_scale, settings.alpha_threshold, settings.solid,
                tile=self.tile_for(camera.width, camera.height), batch=self.batch)
        except torch.OutOfMemoryError:
            raise  # the CLI and the viewer turn this into a message
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise torch.OutOfMemoryError(str(exc)) from None
            raise

    def render(self, frame: Frame, colour_model: ColourModel, camera: Camera, colour: ColourSettings,
               settings: RasterSettings) -> DeviceImage:
        # the fused colour kernel takes the camera centre from host memory: no GPU→CPU read per frame
        rgb = self.evaluate_colour(frame, colour_model, torch.as_tensor(camera.centre, dtype=torch.float32),
                                   colour)
        accum, depth = self.render_buffers(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
        return DeviceImage(camera.width, camera.height, settings.background, camera.far,
                           1 if settings.solid else settings.layers, frame.n_points, accum=accum, depth=depth)

    def rasterize(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                  camera: Camera, settings: RasterSettings) -> RasterOutput:
        accum, depth = self.render_buffers(xyz, rgb, radius, alpha, camera, settings)
        return output_from_accum(accum, depth, settings.background, camera.far)
