"""The desktop viewer: a window shell over a ViewerSession (input → session step → display → UI)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..camera import Camera, load_camera_json
from ..errors import InputError
from ..model import Model
from ..session import ViewerSession
from ..settings import RenderSettings
from .camera_control import CameraState
from .controls import Command, InputController
from .display import Display, DisplayImage
from .headless_window import HeadlessWindow
from .overlay import draw_aids
from .path_actions import PATH_COMMANDS
from .path_actions import handle as handle_path_command
from .path_panel import draw_overlay
from .state import RenderOptions
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
    headless: bool = False           # an EGL offscreen window (tests, and machines with no display)
    host_cache: int | None = None      # bytes; None: automatic from free memory
    gpu_cache: int | None = None
    settings: RenderSettings | None = None


class ViewerApp:
    """The desktop shell over a ViewerSession: the glfw window, its GL context, ImGui, input and display.

    ``frame`` runs one iteration: input → session step (update, render) → display → UI; the session holds every
    piece of viewer state and behaviour that needs no window.
    """

    def __init__(self, model: Model, options: ViewerOptions = ViewerOptions()) -> None:
        import moderngl
        from imgui_bundle import imgui

        self.model, self.info = model, model.info
        self.headless = options.headless
        if self.headless:
            self.window = HeadlessWindow(self._title(options.frame), options.window_size)
            self.ctx = self.window.ctx
        else:
            self.window = Window(self._title(options.frame), options.window_size, visible=options.visible)
            self.ctx = moderngl.create_context(require=330)
        self._imgui = imgui
        imgui.create_context()
        imgui.get_io().set_ini_filename(str(config_dir() / "imgui.ini"))
        if not self.headless:
            import ctypes

            address = ctypes.cast(self.window.handle, ctypes.c_void_p).value
            imgui.backends.glfw_init_for_opengl(address, True)
        imgui.backends.opengl3_init("#version 330")

        width, height = self.window.framebuffer_size
        self.session = ViewerSession(model, backend=options.backend, gl_context=self.ctx,
                                     host_cache=options.host_cache, gpu_cache=options.gpu_cache, frame=options.frame,
                                     camera=options.camera, settings=options.settings,
                                     aspect=width / max(height, 1))
        self.display = Display(self.ctx)
        self.render_options = RenderOptions(resolution=options.resolution)
        self.controls = InputController()
        self.screenshot_dir = options.screenshot_dir
        self.image: DisplayImage | None = None
        self.ui = UIView(info=self.info, timeline=self.session.timeline, options=self.render_options,
                         stats=self.session.stats, cameras=self.info.cameras, backends=self.session.backends,
                         camera_label="default view", fly_mode=False, frame_status=self.session.loader.status,
                         session=self.session, cache=self.session.loader, path_editor=self.session.path_editor)
        self.last_screenshot: Path | None = None
        self._last_time = time.perf_counter()
        self._title_frame = -1

    # -- the session's state, as the UI, the path actions and tests see it ---------------------------

    @property
    def camera_state(self) -> CameraState:
        return self.session.camera

    @camera_state.setter
    def camera_state(self, value: CameraState) -> None:
        self.session.camera = value

    @property
    def timeline(self):
        return self.session.timeline

    @property
    def frame_index(self) -> int:
        return self.session.frame_index

    @property
    def stats(self):
        return self.session.stats

    @property
    def path_editor(self):
        return self.session.path_editor

    @property
    def snapped(self) -> int | None:
        return self.session.snapped

    def _pivot_distance(self, camera: Camera) -> float:
        return self.session.pivot_distance(camera)

    @property
    def target(self):
        """The framebuffer the window shows: the screen, or the headless window's offscreen one."""
        return self.window.framebuffer if self.headless else self.ctx.screen

    def read_window(self):
        """What the window shows now, as an (H, W, 3) uint8 array, rows top first."""
        import numpy as np

        width, height = self.window.framebuffer_size
        pixels = np.frombuffer(self.target.read(components=3), np.uint8).reshape(height, width, 3)
        return pixels[::-1].copy()

    def _title(self, frame: int) -> str:
        return f"k4d-viewer - {self.info.path.name} - frame {frame} / {self.info.n_frames - 1}"

    def render_size(self) -> tuple[int, int]:
        return self.render_options.render_size(self.window.framebuffer_size)

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
        if self.headless:
            io = imgui.get_io()
            io.display_size = imgui.ImVec2(*self.window.framebuffer_size)
            io.delta_time = max(dt, 1e-4)
        else:
            imgui.backends.glfw_new_frame()
        if inject is not None:
            inject(imgui.get_io())
        imgui.new_frame()
        self.session.camera, commands = self.controls.update(self.session.camera, dt)
        self.session.update(dt, self.render_size())
        self.render_scene()
        self.present()
        session = self.session
        draw_overlay(session.path_editor, session.last_camera, self.info.cameras,
                     0.05 * float(np.linalg.norm(np.asarray(session.bounds[1]) - np.asarray(session.bounds[0]))))
        options = self.render_options
        draw_aids(session.last_camera, session.bounds, self.info.up, options.show_axes, options.show_grid,
                  options.show_box)
        if session.frame_index != self._title_frame:
            self._title_frame = session.frame_index
            self.window.set_title(self._title(session.frame_index))
        self.ui.camera_label = self._camera_label()
        self.ui.fly_mode = self.controls.fly_mode
        self.ui.status = session.status
        commands += draw_panels(self.ui)
        for command in commands:
            self.execute(command)
        imgui.render()
        self.target.use()
        imgui.backends.opengl3_render_draw_data(imgui.get_draw_data())
        self.window.swap()
        self.stats.add_frame((time.perf_counter() - now) * 1000)

    def render_scene(self) -> None:
        """The session renders (when something changed); the result goes into the window's textures."""
        image, changed = self.session.render(self.render_size())
        if not changed and self.image is not None:
            return
        start = time.perf_counter()
        self.image = self._to_display(image)
        self.ctx.finish()
        self.stats.display_ms = (time.perf_counter() - start) * 1000
        self.stats.gpu_bytes = self.session.loader.stats.device_bytes

    def _to_display(self, image) -> DisplayImage:
        raster = self.session.settings.raster()
        if image.kind == "gl":
            return DisplayImage(image.accum, image.depth, flip_y=False, background=image.background)
        if image.kind == "tensor":
            shown = self.display.from_cuda(image.accum, image.depth if self.session.settings.mode == "depth" else None,
                                           raster)
            if self.display.cuda_fallback and "interop" not in self.session.status:
                self.session.notify(f"CUDA-GL interop unavailable ({self.display.cuda_fallback}): copying through "
                                    "host memory", "warning")
            return shown
        return self.display.upload(image.output, raster)

    def present(self) -> None:
        start = time.perf_counter()
        self.target.use()
        width, height = self.window.framebuffer_size
        self.ctx.viewport = (0, 0, width, height)
        self.ctx.clear(0.08, 0.08, 0.09)
        self.display.draw(self.image, (0, 0, width, height), self.session.settings.mode, self._depth_range(),
                          self.target)
        self.stats.display_ms += (time.perf_counter() - start) * 1000

    def _depth_range(self) -> tuple[float, float]:
        lo, hi = self.session.bounds
        camera = self.session.last_camera
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        depths = corners @ camera.R.T[:, 2] + camera.T[2]
        return max(float(depths.min()), camera.near), max(float(depths.max()), camera.near * 2)

    def _camera_label(self) -> str:
        if self.session.camera.source:
            return f"capture camera {self.session.snapped}: {self.session.camera.source}"
        return "fly" if self.controls.fly_mode else "orbit"

    # -- commands -------------------------------------------------------------------------------------

    def execute(self, command: Command) -> None:
        name, arg, session = command.name, command.arg, self.session
        width, height = self.window.framebuffer_size
        if name in PATH_COMMANDS:
            handle_path_command(self, command)
        elif name == "seek":
            session.seek(arg)
        elif name == "step":
            session.step_frames(arg)
        elif name == "play":
            session.toggle_play()
        elif name == "snap":
            session.snap_to(arg)
        elif name == "snap_step":
            session.snap_step(arg)
        elif name == "reset_view":
            session.reset_view(width / max(height, 1))
        elif name == "fly_mode":
            self.controls.fly_mode = not self.controls.fly_mode
        elif name == "copy_camera":
            self._imgui.set_clipboard_text(json.dumps(session.camera_json(self.render_size())))
            session.notify("camera copied to the clipboard as JSON")
        elif name == "paste_camera":
            try:
                data = json.loads(self._imgui.get_clipboard_text() or "")
            except ValueError:
                session.notify("camera not pasted: the clipboard does not hold camera JSON", "error")
                return
            session.set_camera_json(data, "clipboard")
        elif name == "load_camera":
            try:
                camera = load_camera_json(Path(arg).expanduser())
            except InputError as exc:
                session.notify(f"camera not loaded: {exc}", "error")
                return
            session.set_camera(camera)
            session.notify(f"camera from {arg}")
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
            session.set_backend(arg)

    def snap_to(self, index: int) -> None:
        self.session.snap_to(index)

    def screenshot(self) -> Path | None:
        """Save the current render at render resolution; the path is shown in the UI."""
        path = self.session.screenshot(self.screenshot_dir, self.render_size())
        self.render_scene()
        if path is not None:
            self.last_screenshot = path
        self.ui.status = self.session.status
        return path

    def shutdown(self) -> None:
        imgui = self._imgui
        self.session.close()
        imgui.backends.opengl3_shutdown()
        if not self.headless:
            imgui.backends.glfw_shutdown()
        imgui.destroy_context()
        self.window.destroy()
