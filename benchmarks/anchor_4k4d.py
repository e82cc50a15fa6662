"""The anchor every render number is compared with: 4K4D's own real-time algorithm (reference §4 as published).

Per frame: colour evaluated by plain eager torch ops (k4d_viewer.colour.evaluate_colour, which is reference §2
written the way upstream writes it), the vertex stream [x, y, z, r, g, b, radius, alpha] packed as fp16 on the
GPU and copied into a GL vertex buffer through CUDA-GL interop (a host copy without CUDA), then K depth-peel
passes of point sprites. Each pass draws every point into one of two ping-pong framebuffers (RGBA16F
accumulation + R32F depth + a depth buffer): the fragment shader drops fragments outside the round sprite
(``gl_PointCoord`` disc test), drops those not strictly behind the previous pass's depth, and writes the
previous accumulation plus its own front-to-back contribution; the depth test keeps the nearest one. A pixel
that no fragment reaches in a pass would keep a stale value two passes old (upstream's quirk); here a
full-screen pass at the far plane first carries the previous result forward, so every pixel composites exactly
min(K, its layers) and the output can be checked against the torch reference. That pass costs one
full-screen fill per layer: on the H200, whose graphics pipeline fills ~0.6 ms per 3840x2160 target, up to
~7% of the anchor's 4K frame time, so the anchor is that much slower than upstream's version with the quirk.

This is benchmark code, not a product backend: the ``gl`` backend is the portable, exact version of the same
algorithm.
"""

from __future__ import annotations

import numpy as np
import torch
from k4d_viewer.camera import Camera
from k4d_viewer.colour import ColourSettings, evaluate_colour
from k4d_viewer.model import ColourModel, Frame

VERTEX = """
#version 330
uniform mat3 R;
uniform vec3 T;
uniform vec4 intrinsics;      // fx, skew, cx, cy
uniform float fy;
uniform vec2 size;
uniform vec2 near_far;
uniform float alpha_threshold;
in vec3 in_xyz;
in vec3 in_rgb;
in float in_radius;
in float in_alpha;
out vec3 v_rgb;
out float v_alpha;
out float v_z;
void main() {
    vec3 cam = R * in_xyz + T;
    v_rgb = in_rgb;
    v_alpha = in_alpha;
    v_z = cam.z;
    float u = (intrinsics.x * cam.x + intrinsics.y * cam.y) / cam.z + intrinsics.z;
    float v = fy * cam.y / cam.z + intrinsics.w;
    bool culled = in_alpha <= alpha_threshold || cam.z <= 0.0 || u < 0.0 || u > size.x || v < 0.0 || v > size.y;
    vec3 ndc = vec3(2.0 * u / size.x - 1.0, 1.0 - 2.0 * v / size.y,
                    2.0 * (cam.z - near_far.x) / (near_far.y - near_far.x) - 1.0);
    gl_Position = culled ? vec4(2.0, 2.0, 2.0, 1.0) : vec4(ndc * cam.z, cam.z);
    gl_PointSize = 2.0 * fy * in_radius / cam.z;  // diameter in pixels; the driver clamps to >= 1
}
"""

FRAGMENT = """
#version 330
uniform sampler2D previous_accum;   // rgb premultiplied, a = transmittance
uniform sampler2D previous_z;       // camera z of the previous layer
in vec3 v_rgb;
in float v_alpha;
in float v_z;
layout(location = 0) out vec4 accum;
layout(location = 1) out float depth;
void main() {
    vec2 d = gl_PointCoord - 0.5;
    float rho2 = dot(d, d);
    if (rho2 >= 0.25) discard;
    ivec2 p = ivec2(gl_FragCoord.xy);
    if (v_z <= texelFetch(previous_z, p, 0).r) discard;
    vec4 prev = texelFetch(previous_accum, p, 0);
    float a = v_alpha * (1.0 - 4.0 * rho2);
    accum = vec4(prev.rgb + v_rgb * a * prev.a, prev.a * (1.0 - a));
    depth = v_z;
}
"""

CARRY_FRAGMENT = """
#version 330
uniform sampler2D previous_accum;
uniform sampler2D previous_z;
layout(location = 0) out vec4 accum;
layout(location = 1) out float depth;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    accum = texelFetch(previous_accum, p, 0);
    depth = texelFetch(previous_z, p, 0).r;
    gl_FragDepth = 1.0;  // behind every point: any fragment that passes the peel test replaces it
}
"""

FULLSCREEN = """
#version 330
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""


class FourK4DAnchor:
    """4K4D's point-sprite depth peeling (see the module docstring) on a moderngl context."""

    def __init__(self, ctx) -> None:
        import moderngl

        self.mgl, self.ctx = moderngl, ctx
        self.peel = ctx.program(vertex_shader=VERTEX, fragment_shader=FRAGMENT)
        self.carry = ctx.program(vertex_shader=FULLSCREEN, fragment_shader=CARRY_FRAGMENT)
        self.empty = ctx.vertex_array(self.carry, [])
        self.size: tuple[int, int] | None = None
        self.capacity = 0
        self.vbo = self.vao = self.sink = None
        self.upload_path = ""

    def _targets(self, width: int, height: int) -> None:
        if self.size == (width, height):
            return
        ctx = self.ctx
        self.accum = [ctx.texture((width, height), 4, dtype="f2") for _ in range(2)]
        self.depth = [ctx.texture((width, height), 1, dtype="f4") for _ in range(2)]
        self.zbuffer = [ctx.depth_renderbuffer((width, height)) for _ in range(2)]
        self.fbo = [ctx.framebuffer([self.accum[i], self.depth[i]], self.zbuffer[i]) for i in range(2)]
        self.start = ctx.framebuffer([ctx.texture((width, height), 4, dtype="f2"),
                                      ctx.texture((width, height), 1, dtype="f4")])
        self.size = (width, height)

    def _upload(self, stream: torch.Tensor) -> None:
        """Copy the (N, 8) fp16 vertex stream into the vertex buffer (interop on CUDA, host copy otherwise)."""
        from k4d_viewer.render.cuda_interop import GLBufferSink, InteropUnavailable

        n = stream.shape[0]
        if n > self.capacity:
            if self.vbo is not None:
                if self.sink is not None:
                    self.sink.release()
                self.vao.release()
                self.vbo.release()
            self.capacity = n
            self.vbo = self.ctx.buffer(reserve=n * 16)
            self.vao = self.ctx.vertex_array(
                self.peel, [(self.vbo, "3f2 3f2 1f2 1f2", "in_xyz", "in_rgb", "in_radius", "in_alpha")])
            self.sink, self.upload_path = None, "host copy"
            if stream.is_cuda:
                try:
                    self.sink, self.upload_path = GLBufferSink(self.vbo), "CUDA-GL interop"
                except InteropUnavailable as exc:
                    self.upload_path = f"host copy ({exc})"
        if self.sink is not None:
            self.sink.write(stream)
        else:
            self.vbo.write(stream.cpu().numpy().tobytes())

    def colour(self, frame: Frame, camera: Camera, settings: ColourSettings) -> torch.Tensor:
        centre = torch.as_tensor(camera.centre, dtype=torch.float32, device=frame.xyz.device)
        return evaluate_colour(frame, ColourModel.IBR, centre, settings)

    def upload(self, frame: Frame, rgb: torch.Tensor) -> None:
        stream = torch.cat([frame.xyz.half(), rgb.half(), frame.radius.reshape(-1, 1).half(),
                            frame.alpha.reshape(-1, 1).half()], 1).contiguous()
        self._upload(stream)

    def peel_passes(self, n_points: int, camera: Camera, layers: int, alpha_threshold: float = 1e-4) -> int:
        """Run the K passes; returns the index of the framebuffer that holds the result."""
        mgl, ctx = self.mgl, self.ctx
        width, height = camera.width, camera.height
        self._targets(width, height)
        K = camera.K
        self.peel["R"].write(np.asarray(camera.R, np.float32).T.tobytes())
        self.peel["T"].value = tuple(float(t) for t in camera.T)
        self.peel["intrinsics"].value = (float(K[0, 0]), float(K[0, 1]), float(K[0, 2]), float(K[1, 2]))
        self.peel["fy"].value = float(K[1, 1])
        self.peel["size"].value = (float(width), float(height))
        self.peel["near_far"].value = (float(camera.near), float(camera.far))
        self.peel["alpha_threshold"].value = float(alpha_threshold)
        for program in (self.peel, self.carry):
            program["previous_accum"].value = 0
            program["previous_z"].value = 1
        ctx.viewport = (0, 0, width, height)
        ctx.disable(mgl.BLEND)
        ctx.enable(mgl.PROGRAM_POINT_SIZE)
        self.start.clear(0.0, 0.0, 0.0, 1.0)  # nothing yet: colour 0, transmittance 1, depth 0
        previous = self.start
        for k in range(layers):
            target = self.fbo[k % 2]
            target.use()
            target.clear(depth=1.0)
            previous.color_attachments[0].use(location=0)
            previous.color_attachments[1].use(location=1)
            ctx.enable(mgl.DEPTH_TEST)
            ctx.depth_func = "<="
            self.empty.render(mgl.TRIANGLES, vertices=3)       # carry the previous result forward (far plane)
            ctx.depth_func = "<"
            self.vao.render(mgl.POINTS, vertices=n_points)     # the nearest fragment behind the previous layer
            ctx.disable(mgl.DEPTH_TEST)
            previous = target
        return (layers - 1) % 2

    def render(self, frame: Frame, camera: Camera, layers: int = 11,
               settings: ColourSettings = ColourSettings()) -> tuple[np.ndarray, np.ndarray]:
        """(accum (H,W,4) premultiplied rgb + transmittance, depth (H,W)), rows top first, read back."""
        rgb = self.colour(frame, camera, settings)
        self.upload(frame, rgb)
        index = self.peel_passes(frame.n_points, camera, layers)
        width, height = camera.width, camera.height
        accum = np.frombuffer(self.accum[index].read(), np.float16).reshape(height, width, 4)[::-1]
        depth = np.frombuffer(self.depth[index].read(), np.float32).reshape(height, width)[::-1]
        return accum.astype(np.float32), depth.copy()

    def release(self) -> None:
        if self.sink is not None:
            self.sink.release()
        for obj in (self.vao, self.vbo):
            if obj is not None:
                obj.release()
