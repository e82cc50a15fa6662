"""The window's display shaders on any OpenGL 4.3+ context (Mesa in CI): the storage-buffer path that shows
CUDA output from shared memory draws what the texture path draws, in every mode. The CUDA side of shared
memory is tested on the GPU (test_cuda_gpu.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gl_support import gl_rasterizer
from k4d_viewer.app.display import Display, DisplayImage
from k4d_viewer.render import RasterOutput, RasterSettings


class BufferImage:
    """Stands in for SharedImage: the same layout in ordinary GL buffers."""

    def __init__(self, ctx, accum: torch.Tensor, depth: torch.Tensor) -> None:
        self.size = (accum.shape[1], accum.shape[0])
        self.accum_buffer = ctx.buffer(accum.half().numpy().tobytes())
        self.depth_buffer = ctx.buffer(depth.float().numpy().tobytes())
        self.fenced = 0

    def bind(self) -> None:
        self.accum_buffer.bind_to_storage_buffer(0)
        self.depth_buffer.bind_to_storage_buffer(1)

    def gl_done(self) -> None:
        self.fenced += 1


@pytest.mark.parametrize("mode", ["color", "alpha", "depth"])
@pytest.mark.parametrize("viewport", [(0, 0, 40, 24), (3, 5, 97, 61)])  # 1:1, and scaled up and letterboxed
def test_buffer_display_draws_what_the_texture_display_draws(mode, viewport):
    ctx = gl_rasterizer().ctx
    if ctx.version_code < 430:
        pytest.skip("storage buffers need OpenGL 4.3")
    generator = torch.Generator().manual_seed(1)
    accum = torch.rand(24, 40, 4, generator=generator).half().float()  # values fp16 holds exactly
    depth = torch.rand(24, 40, generator=generator) * 3 + 1
    depth[:4] = 0  # empty rows
    settings = RasterSettings(background=(0.2, 0.3, 0.4))
    textures = Display(ctx)
    by_texture = textures.upload(RasterOutput(rgb=accum[..., :3] + torch.tensor(settings.background) * accum[..., 3:],
                                              alpha=1 - accum[..., 3], depth=depth), settings)
    buffers = Display(ctx)
    from k4d_viewer.kernels import shader_source

    buffers._buffer_program = ctx.program(vertex_shader=shader_source("fullscreen.vert"), fragment_shader=(
        shader_source("display_buffer.glsl") + shader_source("display.frag")))
    buffers._buffer_vao = ctx.vertex_array(buffers._buffer_program, [])
    shared = BufferImage(ctx, accum, depth)
    by_buffer = DisplayImage(None, None, flip_y=True, background=settings.background, shared=shared)
    target = ctx.framebuffer([ctx.texture((100, 70), 4, dtype="f4")])
    drawn = []
    for display, image in ((textures, by_texture), (buffers, by_buffer)):
        target.clear(0.5, 0.5, 0.5, 1.0)
        display.draw(image, viewport, mode, (1.0, 4.0), target)
        drawn.append(np.frombuffer(target.read(components=4, dtype="f4"), np.float32).reshape(70, 100, 4))
    assert shared.fenced == 1
    # scaled views: texture units filter with ~8-bit weights on some GPUs (NVIDIA), the shader in float
    scaled = viewport[2:] != (40, 24)
    np.testing.assert_allclose(drawn[1], drawn[0], atol=1 / 128 if scaled else 2e-3)


def test_only_the_window_around_the_image_is_cleared():
    from k4d_viewer.app.display import letterbox, outside

    rect = letterbox((100, 50, 800, 600), (1920, 1080))  # wide image in a region: bars above and below
    assert rect == (100, 125, 800, 450)
    parts = outside(rect, 1000, 700)
    covered = np.zeros((700, 1000), dtype=int)
    for x, y, w, h in [*parts, rect]:
        covered[y:y + h, x:x + w] += 1
    assert (covered == 1).all()  # every window pixel exactly once: the image or one cleared part
    assert len(parts) == 4 and outside((0, 0, 1000, 500), 1000, 500) == []
    assert outside((2000, 0, 10, 10), 1000, 500) == [(0, 0, 1000, 500)]
