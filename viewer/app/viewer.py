"""The viewer application: an explicit render loop of input → update → render → display → UI."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..camera import Camera, load_camera_json
from ..colour import evaluate_colour
from ..errors import InputError
from ..frame_cache import FrameCache
from ..image import save_png
from ..model import Frame, Model
from ..render import TorchRasterizer
from ..render.gl_backend import GLRasterizer
from .camera_control import CameraState
from .controls import Command, InputController
from .display import Display, DisplayImage
from .path_actions import PATH_COMMANDS, follow_playback
from .path_actions import handle as handle_path_command
from .path_editor import PathEditor
from .path_panel import draw_overlay
from .state import FrameStats, RenderOptions
from .timeline import Timeline
from .ui import UIView, draw_panels
from .window import Window, config_dir


@dataclass
class ViewerOptions:
    """How the viewer starts (from the command line)."""

    backend: str = "auto"            # auto: cuda where CUDA works, else gl
    frame: int = 0
    camera: Camera | None = None
    window_size: tuple[int, int] | None = None
    resolution: str = "window"
    screenshot_dir: Path = Path(".")
    visible: bool = True
    host_cache: int | None = None      # bytes; None: automatic from free memory
    gpu_cache: int | None = None


class ViewerApp:
    """Owns the window, the GL context, ImGui and the per-frame state; ``run`` loops until closed."""

    def __init__(self, model: Model, options: ViewerOptions = ViewerOptions()) -> None:
        import moderngl
        from imgui_bundle import imgui

        self.model, self.info = model, model.info
        self.window = Window(self._title(options.frame), options.window_size, visible=options.visible)
        self.ctx = moderngl.create_context(require=330)
        self._imgui = imgui
        imgui.create_context()
        imgui.get_io().set_ini_filename(str(config_dir() / "imgui.ini"))
        import ctypes

        address = ctypes.cast(self.window.handle, ctypes.c_void_p).value
        imgui.backends.glfw_init_for_opengl(address, True)
        imgui.backends.opengl3_init("#version 330")

        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.gl = GLRasterizer(self.ctx)
        self.torch_rasterizer = TorchRasterizer()
        self.cuda = self._cuda_rasterizer()
        backends = (["cuda"] if self.cuda is not None else []) + ["gl", "torch"]
        backend = backends[0] if options.backend == "auto" else options.backend
        status = ""
        if backend not in backends:
            status, backend = f"the {backend} backend is not available here (no CUDA GPU or triton); using gl", "gl"
        if self.info.compressed:
            status = ("compressed model: playback is limited by decompression; 'k4d-viewer convert MODEL -o "
                      "stream.npz' writes a streaming copy")
        self.display = Display(self.ctx)
        self.loader = FrameCache(model, self.device, options.host_cache, options.gpu_cache)
        self._direction = 1
        self.timeline = Timeline(self.info.n_frames, rate=self.info.fps)
        self.timeline.seek(options.frame)
        self.render_options = RenderOptions(backend=backend, resolution=options.resolution,
                                            n_srcs=self.info.n_srcs, sh_limit=self.info.sh_limit)
        self.stats = FrameStats()
        self.controls = InputController()
        self.screenshot_dir = options.screenshot_dir
        self.frame_data: Frame | None = self.loader.wait(self.timeline.frame)  # first frame before first draw
        self.frame_index = self.timeline.frame
        *self._bounds, self._toward = self.info.framing(self.frame_data)
        self.camera_state = self._home_view()
        if options.camera is not None:
            self.camera_state = CameraState.from_camera(options.camera, self.info.up, self._pivot_distance(
                options.camera))
        self.image: DisplayImage | None = None
        self._render_key = None
        self.ui = UIView(info=self.info, timeline=self.timeline, options=self.render_options, stats=self.stats,
                         cameras=self.info.cameras, backends=backends, camera_label="default view",
                         fly_mode=False, frame_status=self.loader.status, status=status, cache=self.loader)
        self.path_editor = PathEditor(fps=self.info.fps)
        self.ui.path_editor = self.path_editor
        self.snapped: int | None = None
        self.last_screenshot: Path | None = None
        self._last_time = time.perf_counter()

    # -- setup helpers --------------------------------------------------------------------------------

    def _cuda_rasterizer(self):
        if self.device.type != "cuda":
            return None
        try:
            from ..render.cuda_backend import CudaRasterizer

            return CudaRasterizer()
        except Exception:  # noqa: BLE001 - any failure here just means: no cuda backend in the list
            return None

    def _title(self, frame: int) -> str:
        return f"k4d-viewer - {self.info.path.name} - frame {frame} / {self.info.n_frames - 1}"

    def _home_view(self) -> CameraState:
        width, height = self.window.framebuffer_size
        return CameraState.framing(*self._bounds, self.info.up, width / max(height, 1), toward=self._toward)

    def _pivot_distance(self, camera: Camera) -> float:
        centre = (self._bounds[0] + self._bounds[1]) / 2
        return max(float(np.dot(centre - camera.centre, camera.R[2])), 0.1)

    # -- the loop -------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.window.should_close:
                self.frame()
        finally:
            self.shutdown()

    def frame(self, inject=None) -> None:
        """One iteration. ``inject`` (tests) may queue input events before ImGui reads them."""
        imgui = self._imgui
        now = time.perf_counter()
        dt, self._last_time = now - self._last_time, now
        self.window.poll()
        imgui.backends.opengl3_new_frame()
        imgui.backends.glfw_new_frame()
        if inject is not None:
            inject(imgui.get_io())
        imgui.new_frame()
        self.camera_state, commands = self.controls.update(self.camera_state, dt)
        follow_playback(self, dt)
        self.update(dt)
        self.render_scene()
        self.present()
        extent = float(np.linalg.norm(np.asarray(self._bounds[1]) - np.asarray(self._bounds[0])))
        draw_overlay(self.path_editor, self._camera, self.info.cameras, 0.05 * extent)
        self.ui.camera_label = self._camera_label()
        self.ui.fly_mode = self.controls.fly_mode
        commands += draw_panels(self.ui)
        for command in commands:
            self.execute(command)
        imgui.render()
        self.ctx.screen.use()
        imgui.backends.opengl3_render_draw_data(imgui.get_draw_data())
        self.window.swap()
        self.stats.add_frame((time.perf_counter() - now) * 1000)

    def update(self, dt: float) -> None:
        """Timeline and frame loading: keep showing the last frame until the requested one is ready."""
        self.timeline.advance(dt)
        wanted = self.timeline.frame
        if wanted != self.frame_index:
            self._direction = 1 if self.timeline.playing or (wanted - self.frame_index) % self.info.n_frames < \
                self.info.n_frames / 2 else -1
        centre, n_srcs = self.camera_state.eye, self.render_options.n_srcs
        frame = self.loader.get(wanted, centre, n_srcs)  # every frame: the camera may need other source views
        if frame is not None and frame is not self.frame_data:
            if wanted != self.frame_index:
                self.stats.load_ms = self.loader.last_load_ms
                self.window.set_title(self._title(wanted))
            self.frame_data, self.frame_index = frame, wanted
        elif frame is None and (error := self.loader.error(wanted)) is not None:
            self.ui.status = f"frame {wanted} could not be read: {error}"
        self.loader.prefetch(wanted, self._direction, centre, n_srcs)

    def render_size(self) -> tuple[int, int]:
        return self.render_options.render_size(self.window.framebuffer_size)

    def render_scene(self) -> None:
        """The compute step; GPU out-of-memory keeps the last image and says what to change."""
        try:
            self._render_scene()
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            width, height = self.render_size()
            self.ui.status = (f"GPU out of memory rendering {self.stats.points:,} points at {width}x{height}: "
                              "lower the resolution or the cache budgets")
            self._render_key = None

    def _render_scene(self) -> None:
        """Colour evaluation and rasterization into textures (skipped when nothing changed)."""
        width, height = self.render_size()
        options = self.render_options
        camera = self.camera_state.to_camera(width, height)
        key = (self.frame_index, id(self.frame_data), camera.K.tobytes(), camera.R.tobytes(), camera.T.tobytes(),
               repr(options))
        if key == self._render_key and self.image is not None:
            return
        frame = self.frame_data
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        start = time.perf_counter()
        fused = options.backend == "cuda"
        centre = torch.as_tensor(camera.centre, dtype=torch.float32, device="cpu" if fused else self.device)
        colour = self.cuda.evaluate_colour if fused else evaluate_colour
        rgb = colour(frame, self.info.colour, centre, options.colour_settings())
        sync()
        self.stats.colour_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        settings = options.raster_settings()
        if options.backend == "cuda":
            accum, depth = self.cuda.render_buffers(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
            self.image = self.display.from_cuda(accum, depth if options.mode == "depth" else None, settings)
            self.stats.layers_drawn = settings.layers
            if self.display.cuda_fallback and "interop" not in self.ui.status:
                self.ui.status = (f"CUDA-GL interop unavailable ({self.display.cuda_fallback}): copying "
                                  "through host memory")
            sync()
        elif options.backend == "torch":
            output = self.torch_rasterizer.rasterize(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
            self.image = self.display.upload(output, settings)
            self.stats.layers_drawn = settings.layers
        else:
            accum, depth = self.gl.render_textures(frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
            self.image = DisplayImage(accum, depth, flip_y=False, background=settings.background)
            self.stats.layers_drawn = self.gl.last_layers
        self.ctx.finish()
        self.stats.raster_ms = (time.perf_counter() - start) * 1000
        self.stats.points = frame.n_points
        self.stats.gpu_bytes = self.gl.gpu_bytes() + self.loader.stats.device_bytes
        self._render_key = key
        self._camera = camera

    def present(self) -> None:
        start = time.perf_counter()
        self.ctx.screen.use()
        width, height = self.window.framebuffer_size
        self.ctx.viewport = (0, 0, width, height)
        self.ctx.clear(0.08, 0.08, 0.09)
        self.display.draw(self.image, (0, 0, width, height), self.render_options.mode, self._depth_range())
        self.stats.display_ms = (time.perf_counter() - start) * 1000

    def _depth_range(self) -> tuple[float, float]:
        lo, hi = self._bounds
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        depths = corners @ self._camera.R.T[:, 2] + self._camera.T[2]
        return max(float(depths.min()), self._camera.near), max(float(depths.max()), self._camera.near * 2)

    def _camera_label(self) -> str:
        if self.camera_state.source:
            return f"capture camera {self.snapped}: {self.camera_state.source}"
        return "fly" if self.controls.fly_mode else "orbit"

    # -- commands -------------------------------------------------------------------------------------

    def execute(self, command: Command) -> None:
        name, arg = command.name, command.arg
        if name in PATH_COMMANDS:
            handle_path_command(self, command)
        elif name == "seek":
            self.timeline.seek(self.info.n_frames - 1 if arg == -1 else arg)
        elif name == "step":
            self.timeline.step(arg)
        elif name == "play":
            self.timeline.toggle()
        elif name == "snap":
            self.snap_to(arg)
        elif name == "snap_step":
            if self.info.cameras:
                current = -1 if self.snapped is None else self.snapped
                self.snap_to((current + arg) % len(self.info.cameras))
        elif name == "reset_view":
            self.camera_state, self.snapped = self._home_view(), None
        elif name == "fly_mode":
            self.controls.fly_mode = not self.controls.fly_mode
        elif name == "copy_camera":
            camera = self.camera_state.to_camera(*self.render_size())
            self._imgui.set_clipboard_text(json.dumps(camera.to_json_dict()))
            self.ui.status = "camera copied to the clipboard as JSON"
        elif name == "paste_camera":
            self._use_camera(lambda: Camera.from_json_dict(json.loads(self._imgui.get_clipboard_text() or ""),
                                                           "clipboard"), "clipboard")
        elif name == "load_camera":
            self._use_camera(lambda: load_camera_json(Path(arg).expanduser()), str(arg))
        elif name == "screenshot":
            self.screenshot()
        elif name == "fullscreen":
            self.window.toggle_fullscreen()
        elif name == "help":
            self.ui.show_help = not self.ui.show_help
        elif name == "toggle_panel":
            self.ui.show_panel = not self.ui.show_panel
        elif name == "quit":
            self.window.close()
        elif name == "vsync":
            self.window.set_vsync(self.render_options.vsync)
        elif name == "backend":
            self.render_options.backend = arg

    def snap_to(self, index: int) -> None:
        if not 0 <= index < len(self.info.cameras):
            self.ui.status = f"no capture camera {index} (this model has {len(self.info.cameras)})"
            return
        camera = self.info.cameras[index]
        self.camera_state = CameraState.from_camera(camera, self.info.up, self._pivot_distance(camera))
        self.snapped = index
        self.ui.status = f"snapped to capture camera {index} ({camera.name})"

    def _use_camera(self, read, where: str) -> None:
        try:
            camera = read()
        except (InputError, ValueError) as exc:
            self.ui.status = f"camera not loaded: {exc}"
            return
        self.camera_state = CameraState.from_camera(camera, self.info.up, self._pivot_distance(camera))
        self.snapped = None
        self.ui.status = f"camera from {where}"

    def screenshot(self) -> Path:
        """Save the current render at render resolution; the path is shown in the UI."""
        self.render_scene()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.screenshot_dir / f"{self.info.path.stem}_f{self.frame_index:04d}_{stamp}.png"
        counter = 1
        while path.exists():
            path = path.with_name(f"{self.info.path.stem}_f{self.frame_index:04d}_{stamp}_{counter}.png")
            counter += 1
        try:
            save_png(self.image.screenshot(self.render_options.mode, self._camera.far), path)
        except OSError as exc:
            self.ui.status = f"screenshot failed: {exc.strerror or exc}"
            return path
        self.last_screenshot = path
        self.ui.status = f"screenshot saved: {path.resolve()}"
        return path

    def shutdown(self) -> None:
        imgui = self._imgui
        job = self.path_editor.export
        if job is not None and job.running:
            job.cancel.set()
            job.thread.join(timeout=30)
        self.loader.close()
        imgui.backends.opengl3_shutdown()
        imgui.backends.glfw_shutdown()
        imgui.destroy_context()
        self.window.destroy()
