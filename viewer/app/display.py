"""Puts a rendered image into the window: letterboxed, in the chosen render mode.

CUDA output reaches GL the cheapest way that works here: memory both share (render/cuda_gl_shared.py: one
fp32→fp16 copy on the GPU, no map/unmap), else CUDA-GL interop copies into textures, else host memory."""

from __future__ import annotations

import numpy as np
import torch

from ..image import to_image
from ..kernels import shader_source
from ..render.base import RasterOutput, RasterSettings, output_from_accum

MODE_INDEX = {"color": 0, "alpha": 1, "depth": 2}


def letterbox(viewport: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where an image of ``size`` goes inside ``viewport`` (x, y, width, height): as large as fits, aspect kept,
    centred."""
    x, y, vw, vh = viewport
    iw, ih = size
    scale = min(vw / iw, vh / ih)
    w, h = max(1, int(iw * scale)), max(1, int(ih * scale))
    return x + (vw - w) // 2, y + (vh - h) // 2, w, h


def outside(rect: tuple[int, int, int, int], width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The parts of a ``width`` x ``height`` area that ``rect`` leaves uncovered, as up to four rectangles."""
    x, y, w, h = rect
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, width), min(y + h, height)
    if x0 >= x1 or y0 >= y1:
        return [(0, 0, width, height)]
    parts = [(0, 0, width, y0), (0, y1, width, height - y1), (0, y0, x0, y1 - y0), (x1, y0, width - x1, y1 - y0)]
    return [part for part in parts if part[2] > 0 and part[3] > 0]


class DisplayImage:
    """A rendered image as GL textures (accum: rgb premultiplied without background + transmittance; depth),
    or, with ``shared``, in CUDA-GL shared buffers (rows top first)."""

    def __init__(self, accum, depth, flip_y: bool, background: tuple[float, float, float], shared=None) -> None:
        self.accum, self.depth, self.flip_y, self.background = accum, depth, flip_y, background
        self.shared = shared

    @property
    def size(self) -> tuple[int, int]:
        return self.shared.size if self.shared is not None else self.accum.size

    def to_output(self, far: float) -> RasterOutput:
        """Read back to tensors (screenshots): rows top first, background composited."""
        if self.shared is not None:
            return output_from_accum(self.shared.accum.float().cpu(), self.shared.depth.cpu(), self.background, far)
        width, height = self.size
        accum = np.frombuffer(self.accum.read(), np.float32).reshape(height, width, 4)
        depth = np.frombuffer(self.depth.read(), np.float32).reshape(height, width)
        if not self.flip_y:  # GL rows are bottom first
            accum, depth = accum[::-1], depth[::-1]
        return output_from_accum(torch.from_numpy(accum.copy()), torch.from_numpy(depth.copy()), self.background,
                                 far)

    def screenshot(self, mode: str, far: float) -> np.ndarray:
        return to_image(self.to_output(far), mode)


class Display:
    """Draws a DisplayImage into the window's framebuffer and uploads tensor images for non-GL backends."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.program = ctx.program(vertex_shader=shader_source("fullscreen.vert"), fragment_shader=(
            shader_source("display_texture.glsl") + shader_source("display.frag")))
        self.vao = ctx.vertex_array(self.program, [])
        self._buffer_program = self._buffer_vao = None
        self._upload_textures = None
        self._cuda_targets = None
        self._shared = None
        self.shared_unavailable: str | None = None  # why CUDA output is not displayed from shared memory
        self.cuda_fallback: str | None = None  # why CUDA output goes through host memory, if it does
        self.cuda_path = ""  # how the last CUDA image reached GL

    def _from_shared(self, accum: torch.Tensor, depth: torch.Tensor | None, settings: RasterSettings):
        """Into shared CUDA-GL memory, or None (and the reason kept) where that cannot work."""
        from ..render.cuda_gl_shared import SharedImage

        height, width = accum.shape[:2]
        if self._shared is None or self._shared.size != (width, height):
            self._release_shared()
            try:
                if self._buffer_program is None:
                    self._buffer_program = self.ctx.program(
                        vertex_shader=shader_source("fullscreen.vert"),
                        fragment_shader=shader_source("display_buffer.glsl") + shader_source("display.frag"))
                    self._buffer_vao = self.ctx.vertex_array(self._buffer_program, [])
                self._shared = SharedImage(self.ctx, width, height)
            except Exception as exc:  # SharingUnavailable; a GL compile error is a plain Exception
                self.shared_unavailable = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                return None
        shared = self._shared
        shared.ready_for_cuda()
        shared.accum.copy_(accum)
        if depth is not None:
            shared.depth.copy_(depth)
        shared.ready_for_gl()
        self.cuda_path = shared.kind
        return DisplayImage(None, None, flip_y=True, background=settings.background, shared=shared)

    def _release_shared(self) -> None:
        if self._shared is not None:
            self._shared.release()
            self._shared = None

    def from_cuda(self, accum: torch.Tensor, depth: torch.Tensor | None, settings: RasterSettings) -> DisplayImage:
        """CUDA tensors (rows top first) → textures through CUDA-GL interop (host copy as the fallback).
        ``depth`` may be None when the depth view is not shown, to save the copy."""
        from ..render.cuda_interop import texture_sink

        if self.shared_unavailable is None:
            shown = self._from_shared(accum, depth, settings)
            if shown is not None:
                return shown
        height, width = accum.shape[:2]
        if self._cuda_targets is None or self._cuda_targets[0].size != (width, height):
            self._release_cuda_targets()
            accum_tex = self.ctx.texture((width, height), 4, dtype="f4")
            depth_tex = self.ctx.texture((width, height), 1, dtype="f4")
            accum_sink, reason = texture_sink(accum_tex)
            depth_sink, _ = texture_sink(depth_tex)
            self.cuda_fallback = reason
            self._cuda_targets = (accum_tex, depth_tex, accum_sink, depth_sink)
        accum_tex, depth_tex, accum_sink, depth_sink = self._cuda_targets
        self.cuda_path = accum_sink.kind
        accum_sink.write(accum)
        if depth is not None:
            depth_sink.write(depth)
        return DisplayImage(accum_tex, depth_tex, flip_y=True, background=settings.background)

    def _release_cuda_targets(self) -> None:
        if self._cuda_targets is not None:
            for obj in self._cuda_targets[2:] + self._cuda_targets[:2]:
                obj.release()
            self._cuda_targets = None

    def upload(self, output: RasterOutput, settings: RasterSettings) -> DisplayImage:
        """Tensor output (e.g. from the torch backend) → textures in the same layout the gl backend produces."""
        height, width = output.alpha.shape
        if self._upload_textures is None or self._upload_textures[0].size != (width, height):
            if self._upload_textures is not None:
                for tex in self._upload_textures:
                    tex.release()
            self._upload_textures = (self.ctx.texture((width, height), 4, dtype="f4"),
                                     self.ctx.texture((width, height), 1, dtype="f4"))
        transmittance = 1 - output.alpha
        rgb = output.rgb - torch.tensor(settings.background, device=output.rgb.device) * transmittance[..., None]
        accum = torch.cat([rgb, transmittance[..., None]], -1).float().contiguous().cpu().numpy()
        accum_tex, depth_tex = self._upload_textures
        accum_tex.write(accum.tobytes())
        depth_tex.write(output.depth.float().contiguous().cpu().numpy().tobytes())
        return DisplayImage(accum_tex, depth_tex, flip_y=True, background=settings.background)

    def draw(self, image: DisplayImage, viewport: tuple[int, int, int, int], mode: str,
             depth_range: tuple[float, float], target=None) -> None:
        """Draw ``image`` letterboxed (aspect kept) into ``viewport`` = (x, y, width, height) of ``target``
        (the window's framebuffer; default the screen)."""
        (target or self.ctx.screen).use()
        self.ctx.viewport = letterbox(viewport, image.size)
        if image.shared is not None:
            program = self._buffer_program
            image.shared.bind()
            program["image_size"].value = image.size
        else:
            program = self.program
            image.accum.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
            image.depth.filter = (self.ctx.NEAREST, self.ctx.NEAREST)  # never blend depth with holes
            for texture in (image.accum, image.depth):  # edges clamp: no wrap-around from the opposite edge
                texture.repeat_x = texture.repeat_y = False
            image.accum.use(location=0)
            image.depth.use(location=1)
            program["accum"].value = 0
            program["depth"].value = 1
            program["flip_y"].value = image.flip_y
        program["mode"].value = MODE_INDEX[mode]
        program["background"].value = tuple(image.background)
        program["depth_range"].value = depth_range
        (self._buffer_vao if image.shared is not None else self.vao).render(vertices=3)
        if image.shared is not None:
            image.shared.gl_done()
        else:
            image.accum.filter = (self.ctx.NEAREST, self.ctx.NEAREST)
