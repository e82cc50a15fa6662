"""The ``cuda`` backend: fused colour evaluation and the tile-based compute rasterizer (Triton kernels).

On NVIDIA GPUs this is the fast path. The same kernels run on the CPU through the Triton interpreter
(``TRITON_INTERPRET=1``), which is how CI tests them on tiny images.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
import torch

from ..camera import Camera
from ..colour import ColourSettings, evaluate_colour
from ..model.frame import ColourModel, Frame
from .base import BackendUnavailable, DeviceImage, RasterOutput, RasterSettings, output_from_accum

USE_GRAPHS_ENV = "K4D_CUDA_GRAPHS"  # "0" turns the recorded frames off (to compare, or to rule them out)


def cuda_available() -> bool:
    """CUDA and Triton are both usable (or the Triton interpreter was asked for)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1"


class CudaRasterizer:
    """Triton kernels behind the Rasterizer interface; tensors must be on a CUDA device (or the CPU when
    the Triton interpreter is on). A frame drawn several times in a row is replayed as CUDA graphs
    (cuda_graphs.py): the same kernels for a fraction of the launch cost."""

    name = "cuda"

    def __init__(self, tile: int | None = None, batch: int | None = None, graphs: bool | None = None) -> None:
        """``tile``: the compositing tile's side in pixels; None picks per image (``tile_for``). ``batch``:
        records per compositing step (None: the kernel's default). ``graphs``:
        record repeated frames as CUDA graphs; None: on a CUDA device unless K4D_CUDA_GRAPHS=0."""
        if not cuda_available():
            raise BackendUnavailable("the cuda backend needs an NVIDIA GPU with CUDA and the triton package "
                                     "(pip install 'k4d-viewer[cuda]')")
        from ..kernels import triton_colour, triton_raster

        self._colour, self._raster = triton_colour, triton_raster
        self.tile, self.batch = tile, batch
        if graphs is None:
            graphs = os.environ.get(USE_GRAPHS_ENV, "1") != "0"
        self._graphs = None
        if graphs and torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
            from .cuda_graphs import FrameGraphs

            self._graphs = FrameGraphs()

    def tile_for(self, width: int, height: int) -> int:
        """8x8 tiles up to 4K; 16x16 beyond, where discs span many pixels and small tiles multiply the pairs to
        sort (H200, benchmarks/profile_raster.py: 1M points at 7680x4320 2.24 ms with 16, 3.04 ms with 8;
        the 4K cases are fastest with 8)."""
        if self.tile is not None:
            return self.tile
        return 16 if width * height > 2 * 3840 * 2160 else 8

    def device(self) -> torch.device:
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")

    @staticmethod
    def params(camera: Camera, settings: RasterSettings, colour: ColourSettings = ColourSettings()) -> np.ndarray:
        """The kernels' per-frame parameter block (kernels/params.py) for this camera and these settings."""
        from ..kernels.params import frame_params

        return frame_params(camera.K, camera.R, camera.T, camera.near, camera.far, settings.radius_scale,
                            settings.alpha_threshold, camera.centre, colour.sh_limit)

    def _ibr_colour(self, frame: Frame, params: torch.Tensor, settings: ColourSettings) -> torch.Tensor:
        degree = min(settings.sh_degree, frame.sh_degree)
        return self._colour.ibr_colour(frame.xyz, frame.sh, frame.rgbw, frame.cents, settings.n_srcs, params, degree,
                                       settings.skip_sh or degree < 0, settings.skip_base)

    def evaluate_colour(self, frame: Frame, colour: ColourModel, centre: torch.Tensor,
                        settings: ColourSettings = ColourSettings()) -> torch.Tensor:
        """Fused 4K4D colour (reference §2); other colour models are cheap and use the torch code."""
        if colour is not ColourModel.IBR:
            return evaluate_colour(frame, colour, centre, settings)
        # ``centre`` should live on the CPU: reading a GPU scalar back would stall the GPU pipeline.
        from ..kernels.params import colour_params

        block = colour_params(centre.detach().cpu().numpy(), settings.sh_limit)
        return self._ibr_colour(frame, torch.from_numpy(block).to(frame.xyz.device), settings)

    def render_buffers(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                       camera: Camera, settings: RasterSettings) -> tuple[torch.Tensor, torch.Tensor]:
        """(accum (H,W,4): premultiplied rgb + transmittance, depth (H,W): 0 where empty), rows top first."""
        return self._rasterize(xyz, rgb, radius, alpha, torch.from_numpy(self.params(camera, settings)).to(xyz.device),
                               camera, settings)

    def _rasterize(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                   params: torch.Tensor, camera: Camera, settings: RasterSettings) -> tuple[torch.Tensor, torch.Tensor]:
        with _oom_as_oom():
            return self._raster.rasterize(
                xyz, rgb, radius.reshape(-1), alpha.reshape(-1), params, camera.width, camera.height,
                1 if settings.solid else settings.layers, settings.solid,
                tile=self.tile_for(camera.width, camera.height), batch=self.batch)

    def render(self, frame: Frame, colour_model: ColourModel, camera: Camera, colour: ColourSettings,
               settings: RasterSettings) -> DeviceImage:
        layers = 1 if settings.solid else settings.layers
        recorded = None
        if self._graphs is not None and colour_model is ColourModel.IBR and frame.n_points:
            recorded = self._recorded(frame, camera, colour, settings)
        if recorded is not None:
            accum, depth, pending = recorded
        else:
            try:
                accum, depth = self._eager(frame, colour_model, camera, colour, settings)
            except torch.OutOfMemoryError:
                if self._graphs is None or not self._graphs.release():
                    raise
                torch.cuda.empty_cache()  # recorded frames held their buffers: try once more without them
                accum, depth = self._eager(frame, colour_model, camera, colour, settings)
            pending = None
        return DeviceImage(camera.width, camera.height, settings.background, camera.far, layers, frame.n_points,
                           accum=accum, depth=depth, pending=pending)

    def _eager(self, frame: Frame, colour_model: ColourModel, camera: Camera, colour: ColourSettings,
               settings: RasterSettings) -> tuple[torch.Tensor, torch.Tensor]:
        # the fused colour kernel takes the camera centre from the parameter block: no GPU→CPU read
        params = torch.from_numpy(self.params(camera, settings, colour)).to(frame.xyz.device)
        if colour_model is ColourModel.IBR:
            rgb = self._ibr_colour(frame, params, colour)
        else:
            rgb = evaluate_colour(frame, colour_model, torch.as_tensor(camera.centre, dtype=torch.float32), colour)
        return self._rasterize(frame.xyz, rgb, frame.radius, frame.alpha, params, camera, settings)

    def _recorded(self, frame: Frame, camera: Camera, colour: ColourSettings, settings: RasterSettings):
        """(accum, depth, pending) replayed from CUDA graphs once this frame has been drawn a few times
        (cuda_graphs.py), or None."""
        from .cuda_graphs import FramePlan

        raster = self._raster
        width, height = camera.width, camera.height
        tile = self.tile_for(width, height)
        tiles_x, tiles_y = -(-width // tile), -(-height // tile)
        layers = 1 if settings.solid else settings.layers
        tensors = tuple(None if t is None else (t.data_ptr(), tuple(t.shape), t.dtype, t.stride())
                        for t in (frame.xyz, frame.sh, frame.rgbw, frame.cents, frame.radius, frame.alpha))
        key = (tensors, width, height, tile, self.batch, layers, settings.solid, colour.n_srcs,
               min(colour.sh_degree, frame.sh_degree), colour.skip_sh, colour.skip_base)

        def stage_a(params: torch.Tensor) -> tuple:
            rgb = self._ibr_colour(frame, params, colour)
            record, z, rect, counts = raster.project(frame.xyz, rgb, frame.radius.reshape(-1),
                                                     frame.alpha.reshape(-1), params, width, height, tile)
            return (record, rect, counts, *raster.depth_order(z, counts))

        def stage_b(a: tuple, capacity: int) -> tuple[torch.Tensor, torch.Tensor]:
            record, rect, counts, order, ends = a
            ids, starts = raster.bin_pairs(order, rect, counts, ends, record, capacity, tiles_x, tiles_x * tiles_y,
                                           tile, padded=True)
            return raster.composite(ids, starts, record, width, height, tiles_x, layers, settings.solid, tile,
                                    self.batch)

        def make() -> FramePlan:
            return FramePlan(frame, frame.xyz.device, stage_a, stage_b)

        return self._graphs.render(key, make, self.params(camera, settings, colour),
                                   lambda: self._eager(frame, ColourModel.IBR, camera, colour, settings))

    def rasterize(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                  camera: Camera, settings: RasterSettings) -> RasterOutput:
        accum, depth = self.render_buffers(xyz, rgb, radius, alpha, camera, settings)
        return output_from_accum(accum, depth, settings.background, camera.far)


@contextlib.contextmanager
def _oom_as_oom() -> Iterator[None]:
    """Out-of-memory from inside Triton or torch as torch.OutOfMemoryError (the CLI and the viewer turn that
    into a message)."""
    try:
        yield
    except torch.OutOfMemoryError:
        raise
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():
            raise torch.OutOfMemoryError(str(exc)) from None
        raise
