"""The ``gl`` backend: 4K4D's hardware path, point-sprite depth peeling in OpenGL 3.3 (reference §4).

Each of K passes draws every point as a round sprite and keeps, per pixel, the nearest fragment strictly
behind the previous pass's depth; a full-screen pass then composites that layer front to back into a
ping-pong accumulation target. Unlike upstream, pixels that run out of layers keep their accumulated colour
and depth (no stale-layer quirk): every pixel composites exactly min(K, layers there) layers. Peeling stops
early once a pass draws nothing. Runs on any OpenGL 3.3 GPU and on software Mesa; headless through EGL.
"""

from __future__ import annotations

import numpy as np
import torch

from ..camera import Camera
from .base import BackendUnavailable, DeviceImage, RasterOutput, RasterSettings, output_from_accum

NO_LAYER = 1e30  # the camera z stored where a pass drew nothing: later passes peel nothing there


def create_headless_context():
    """A standalone OpenGL context: EGL first (no display needed), then the platform default; 4.5 where the
    driver offers it (NVIDIA's EGL gives exactly the version asked for; 4.3 storage buffers let the display read
    CUDA output in place), else 3.3, which everything here needs at least."""
    import moderngl

    errors = []
    for kwargs in ({"backend": "egl"}, {}):
        for version in (450, 330):
            try:
                return moderngl.create_standalone_context(require=version, **kwargs)
            except Exception as exc:  # glcontext raises plain Exceptions with the loader's message
                if version == 330:
                    errors.append(f"{kwargs.get('backend', 'default')}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else exc}")
    raise BackendUnavailable("no OpenGL 3.3 context could be created (" + "; ".join(errors) + ")")


class GLRasterizer:
    """Depth peeling with moderngl. Pass a context to draw inside a window; otherwise one is made headless."""

    name = "gl"

    def __init__(self, ctx=None) -> None:
        import moderngl

        from ..kernels import shader_source

        self._mgl = moderngl
        self.ctx = ctx if ctx is not None else create_headless_context()
        self.peel = self.ctx.program(vertex_shader=shader_source("peel.vert"),
                                     fragment_shader=shader_source("peel.frag"))
        self.composite = self.ctx.program(vertex_shader=shader_source("fullscreen.vert"),
                                          fragment_shader=shader_source("composite.frag"))
        self._empty_vao = self.ctx.vertex_array(self.composite, [])
        self._vbo = None
        self._vao = None
        self._sink = None  # CUDA-GL interop into the vertex buffer, when the points live on a CUDA device
        self._capacity = 0
        self._size: tuple[int, int] | None = None
        self.last_layers = 0  # passes that drew something in the last render (for stats)

    # -- resources ------------------------------------------------------------------------------------

    def _ensure_targets(self, width: int, height: int) -> None:
        if self._size == (width, height):
            return
        self._release_targets()
        ctx, size = self.ctx, (width, height)
        self.layer_rgba = ctx.texture(size, 4, dtype="f4")
        self.layer_z = [ctx.texture(size, 1, dtype="f4"), ctx.texture(size, 1, dtype="f4")]
        self.peel_depth = ctx.depth_renderbuffer(size)
        self.accum = [ctx.texture(size, 4, dtype="f4"), ctx.texture(size, 4, dtype="f4")]
        self.depth = [ctx.texture(size, 1, dtype="f4"), ctx.texture(size, 1, dtype="f4")]
        for tex in [self.layer_rgba, *self.layer_z, *self.accum, *self.depth]:
            tex.filter = (self._mgl.NEAREST, self._mgl.NEAREST)
        self.layer_fbo = [ctx.framebuffer([self.layer_rgba, self.layer_z[i]], self.peel_depth) for i in (0, 1)]
        self.accum_fbo = [ctx.framebuffer([self.accum[i], self.depth[i]]) for i in (0, 1)]
        self._size = size

    def _release_targets(self) -> None:
        if self._size is None:
            return
        for obj in [*self.layer_fbo, *self.accum_fbo, self.layer_rgba, *self.layer_z, self.peel_depth,
                    *self.accum, *self.depth]:
            obj.release()
        self._size = None

    def _upload(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor) -> int:
        """Fill the vertex buffer; CUDA tensors go through CUDA-GL interop (no host round trip) when it works."""
        data = torch.cat([xyz.float(), rgb.float(), radius.float().reshape(-1, 1), alpha.float().reshape(-1, 1)],
                         dim=1).contiguous()
        if len(data) > self._capacity:
            self._release_buffer()
            self._capacity = max(len(data), int(self._capacity * 1.5), 1024)
            self._vbo = self.ctx.buffer(reserve=self._capacity * 32)
            self._vao = self.ctx.vertex_array(
                self.peel, [(self._vbo, "3f 3f 1f 1f", "in_xyz", "in_rgb", "in_radius", "in_alpha")])
            if data.is_cuda:
                from .cuda_interop import GLBufferSink, InteropUnavailable

                try:
                    self._sink = GLBufferSink(self._vbo)
                except InteropUnavailable:
                    self._sink = None  # host copy below: slower, same result
        if len(data):
            if self._sink is not None and data.is_cuda:
                self._sink.write(data)
            else:
                self._vbo.write(data.cpu().numpy().tobytes())
        return len(data)

    def _release_buffer(self) -> None:
        if self._sink is not None:
            self._sink.release()
            self._sink = None
        if self._vbo is not None:
            self._vao.release()
            self._vbo.release()
            self._vbo = None

    # -- rendering ------------------------------------------------------------------------------------

    def render_textures(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                        camera: Camera, settings: RasterSettings):
        """Render into GL textures: (accum RGBA32F with rgb premultiplied and a = transmittance,
        depth R32F with the last layer's camera z, 0 where empty). Rows are bottom-up, as GL stores them."""
        mgl, ctx = self._mgl, self.ctx
        width, height = camera.width, camera.height
        self._ensure_targets(width, height)
        count = self._upload(xyz, rgb, radius, alpha)
        K = camera.K
        self.peel["R"].write(np.asarray(camera.R, np.float32).T.tobytes())  # GLSL matrices are column-major
        self.peel["T"].value = tuple(float(t) for t in camera.T)
        self.peel["intrinsics"].value = (float(K[0, 0]), float(K[0, 1]), float(K[0, 2]), float(K[1, 2]))
        self.peel["fy"].value = float(K[1, 1])
        self.peel["size"].value = (float(width), float(height))
        self.peel["near_far"].value = (float(camera.near), float(camera.far))
        self.peel["radius_scale"].value = float(settings.radius_scale)
        self.peel["alpha_threshold"].value = float(settings.alpha_threshold)
        self.peel["solid"].value = settings.solid
        self.peel["previous_z"].value = 0
        self.composite["solid"].value = settings.solid
        for name, unit in (("accum_in", 1), ("depth_in", 2), ("layer_rgba", 3), ("layer_z", 4)):
            self.composite[name].value = unit

        ctx.viewport = (0, 0, width, height)
        ctx.disable(mgl.BLEND)
        ctx.enable(mgl.PROGRAM_POINT_SIZE)
        self.accum_fbo[0].use()
        self.accum_fbo[0].clear(0.0, 0.0, 0.0, 1.0)  # nothing yet: colour 0, transmittance 1, depth 0
        self.last_layers = 0
        layers = 1 if settings.solid else settings.layers
        current = 0
        for k in range(layers if count else 0):
            layer_fbo = self.layer_fbo[k % 2]
            layer_fbo.use()
            layer_fbo.clear(NO_LAYER, NO_LAYER, NO_LAYER, NO_LAYER, depth=1.0)  # z = NO_LAYER: nothing here
            ctx.enable(mgl.DEPTH_TEST)
            ctx.depth_func = "<"
            self.peel["first_pass"].value = k == 0
            self.layer_z[(k + 1) % 2].use(location=0)
            query = ctx.query(samples=True)
            with query:
                self._vao.render(mgl.POINTS, vertices=count)
            ctx.disable(mgl.DEPTH_TEST)
            if query.samples == 0:
                break
            self.last_layers += 1
            self.accum[current].use(location=1)
            self.depth[current].use(location=2)
            self.layer_rgba.use(location=3)
            self.layer_z[k % 2].use(location=4)
            self.accum_fbo[1 - current].use()
            self._empty_vao.render(mgl.TRIANGLES, vertices=3)
            current = 1 - current
        return self.accum[current], self.depth[current]

    def render(self, frame, colour_model, camera: Camera, colour, settings: RasterSettings) -> DeviceImage:
        """Colour by the torch code on the frame's device, then depth peeling into textures (rows bottom
        first). The textures are reused by the next render: read back or display before rendering again."""
        from ..colour import evaluate_colour

        centre = torch.as_tensor(camera.centre, dtype=torch.float32, device=frame.xyz.device)
        rgb = evaluate_colour(frame, colour_model, centre, colour)
        accum, depth = self.render_textures(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
        return DeviceImage(camera.width, camera.height, settings.background, camera.far, self.last_layers,
                           frame.n_points, accum=accum, depth=depth, rows_top_first=False)

    def rasterize(self, xyz: torch.Tensor, rgb: torch.Tensor, radius: torch.Tensor, alpha: torch.Tensor,
                  camera: Camera, settings: RasterSettings) -> RasterOutput:
        accum_tex, depth_tex = self.render_textures(xyz, rgb, radius, alpha, camera, settings)
        height, width = camera.height, camera.width
        accum = np.frombuffer(accum_tex.read(), np.float32).reshape(height, width, 4)[::-1]
        depth = np.frombuffer(depth_tex.read(), np.float32).reshape(height, width)[::-1]
        accum, depth = torch.from_numpy(accum.copy()).to(xyz.device), torch.from_numpy(depth.copy()).to(xyz.device)
        return output_from_accum(accum, depth, settings.background, camera.far)

    def gpu_bytes(self) -> int:
        """Memory held by the render targets and the vertex buffer."""
        pixels = self._size[0] * self._size[1] if self._size else 0
        return pixels * (16 + 2 * 4 + 4 + 2 * 16 + 2 * 4) + self._capacity * 32

    def release(self) -> None:
        self._release_targets()
        self._release_buffer()
