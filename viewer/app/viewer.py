"""The desktop viewer: a window shell over a ViewerSession (input → session step → display → UI)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..camera import Camera, load_camera_json
from ..errors import InputError
from ..model import Model, open_model
from ..session import ViewerSession
from ..settings import RenderSettings
from .camera_control import CameraState
from .compare import CompareState
from .controls import Command, InputController
from .headless_window import HeadlessWindow
from .layout import DockLayout, Region, apply_ui_scale
from .menus import draw_menu_bar, draw_status_bar
from .model_switch import open_dropped, open_in
from .path_actions import PATH_COMMANDS
from .path_actions import handle as handle_path_command
from .render_view import RenderView
from .state import RenderOptions
from .ui import UIView, draw_panels
from .ui_prefs import load_ui_font, load_ui_scale, recent_models, save_ui_scale
from .window import Window, config_dir


@dataclass
class ViewerOptions:
    """How the viewer starts (from the command line)."""

    backend: str = "auto"            # auto: cuda where CUDA works, else gl
    frame: int = 0
    camera: Camera | None = None
    window_size: tuple[int, int] | None = None
    resolution: str | tuple[int, int] = "window"  # a RESOLUTION_PRESETS key or a custom (width, height)
    screenshot_dir: Path = Path(".")
    visible: bool = True
    headless: bool = False           # an EGL offscreen window (tests, and machines with no display)
    host_cache: int | None = None      # bytes; None: automatic from free memory
    gpu_cache: int | None = None
    settings: RenderSettings | None = None
    ui_scale: float | None = None    # None: the saved one, else the screen's content scale
    open_model: Callable[[Path], Model] = open_model  # how File > Open and drops read a path (the CLI's rules)


class ViewerApp:
    """The desktop shell over a ViewerSession: the glfw window, its GL context, ImGui, input and display.

    ``frame`` runs one iteration: input → session step (update, render) → display → UI; the session holds every
    piece of viewer state and behaviour that needs no window. The render fills the central region of a docked
    layout (panels around it), so no panel ever covers it.
    """

    def __init__(self, model: Model, options: ViewerOptions = ViewerOptions()) -> None:
        import moderngl
        from imgui_bundle import imgui

        self.model, self.info = model, model.info
        self._given_model = model  # the caller closes this one; models opened from the UI are ours to close
        self.headless = options.headless
        if self.headless:
            self.window = HeadlessWindow(self._title(options.frame), options.window_size)
            self.ctx = self.window.ctx
        else:
            self.window = Window(self._title(options.frame), options.window_size, visible=options.visible)
            self.ctx = moderngl.create_context(require=330)
        self._imgui = imgui
        imgui.create_context()
        io = imgui.get_io()
        io.set_ini_filename(str(config_dir() / "imgui.ini"))
        io.config_flags |= imgui.ConfigFlags_.docking_enable
        load_ui_font()
        if not self.headless:
            import ctypes

            address = ctypes.cast(self.window.handle, ctypes.c_void_p).value
            imgui.backends.glfw_init_for_opengl(address, True)
        imgui.backends.opengl3_init("#version 330")
        self.ui_scale = options.ui_scale or load_ui_scale(self.window.content_scale)
        self._applied_scale = 1.0
        self._apply_scale(self.ui_scale)

        width, height = self.window.framebuffer_size
        self.options = options
        self.session = ViewerSession(model, backend=options.backend, gl_context=self.ctx,
                                     host_cache=options.host_cache, gpu_cache=options.gpu_cache, frame=options.frame,
                                     camera=options.camera, settings=options.settings,
                                     aspect=width / max(height, 1))
        self.view = RenderView(self.ctx, self.session)
        self.layout = DockLayout()
        self.region = Region(0, 0, width, height)
        self.render_options = RenderOptions.at(options.resolution)
        self.controls = InputController()
        self.screenshot_dir = options.screenshot_dir
        self.ui = UIView(info=self.info, session=self.session, options=self.render_options, ui_scale=self.ui_scale)
        self.ui.open_dialog.recent = recent_models()
        self.last_screenshot: Path | None = None
        self._last_time = time.perf_counter()
        self._title_frame = -1
        self._framed = options.camera is not None  # frame the model to the render region once it is known
        self._closed = False

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

    @property
    def image(self):
        return self.view.image

    @property
    def compare(self):
        return self.ui.compare

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

    def _pixel_scale(self) -> tuple[float, float]:
        """Framebuffer pixels per ImGui unit (2 on a HiDPI screen)."""
        scale = self._imgui.get_io().display_framebuffer_scale
        return (scale.x or 1.0, scale.y or 1.0)

    def render_size(self) -> tuple[int, int]:
        """The size the view renders at: the render region in framebuffer pixels × scale, or a fixed size."""
        sx, sy = self._pixel_scale()
        region = (max(1, int(self.region.width * sx)), max(1, int(self.region.height * sy)))
        return self.render_options.render_size(region)

    def _apply_scale(self, scale: float) -> None:
        apply_ui_scale(scale)
        self._imgui.get_style().scale_all_sizes(scale / self._applied_scale)
        self._applied_scale = scale

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
        open_dropped(self)
        commands = draw_menu_bar(self.ui)
        draw_status_bar(self.ui)
        self.region = self.layout.begin(self.ui.show_panel, self.ui_scale)
        if self.layout.focus and self.layout.settled:
            self.ui.focus, self.layout.focus = self.layout.focus, []
        session = self.session
        if self.layout.settled and not self._framed:
            width, height = self.render_size()
            session.reset_view(width / max(height, 1))
            self._framed = True
        session.camera, input_commands = self.controls.update(session.camera, dt)
        commands += input_commands
        session.update(dt, self.render_size())
        if self.layout.settled:  # a layout built this frame has its regions from the next one
            self.view.render(self.render_size(), self.ui.compare)  # launched: the GPU renders while ...
        self.view.draw_overlays(self.region, self.render_options, self.ui.compare, self.info.cameras)
        if session.frame_index != self._title_frame:
            self._title_frame = session.frame_index
            self.window.set_title(self._title(session.frame_index))
        self.ui.camera_label = self._camera_label()
        self.ui.fly_mode = self.controls.fly_mode
        commands += draw_panels(self.ui)  # ... the CPU builds the UI
        self.view.hand_over()
        self.view.present(self.target, self.window.framebuffer_size, self.region, self._pixel_scale(),
                          self.ui.compare)
        for command in commands:
            self.execute(command)
        self.ui.status = self.session.status  # a command may have opened another model
        imgui.render()
        self.target.use()
        imgui.backends.opengl3_render_draw_data(imgui.get_draw_data())
        self.window.swap()
        self.stats.add_frame((time.perf_counter() - now) * 1000)

    def open(self, path: str | Path) -> bool:
        """Show the model at ``path`` instead (see model_switch.open_in); False if it did not open."""
        return open_in(self, path)

    def adopt(self, model: Model, session: ViewerSession) -> None:
        """Show ``session`` (on ``model``) from now on; the last session closes (and its model, if ours)."""
        self.session.close()
        if self.model is not self._given_model:
            self.model.close()
        self.model, self.info, self.session = model, model.info, session
        self.view.attach(session)
        self.ui.info, self.ui.session, self.ui.compare = model.info, session, CompareState()
        self._framed, self._title_frame = False, -1  # framed to the render region on the next frame

    def render_scene(self) -> None:
        """Render now (when something changed) at the current render size."""
        self.view.render(self.render_size(), self.ui.compare)
        self.view.hand_over()

    def _camera_label(self) -> str:
        if self.session.camera.source:
            return f"capture camera {self.session.snapped}: {self.session.camera.source}"
        return "fly" if self.controls.fly_mode else "orbit"

    # -- commands -------------------------------------------------------------------------------------

    def execute(self, command: Command) -> None:
        name, arg, session = command.name, command.arg, self.session
        timeline, compare = session.timeline, self.ui.compare
        width, height = self.render_size()
        if name in PATH_COMMANDS:
            handle_path_command(self, command)
        elif name == "seek":
            session.seek(arg)
        elif name == "step":
            session.step_frames(arg)
        elif name == "play":
            session.toggle_play()
        elif name == "mark_in":
            timeline.set_in(None if timeline.in_frame == timeline.frame and timeline.frame > 0 else timeline.frame)
            session.notify(f"playback from frame {timeline.in_frame} to {timeline.last}")
        elif name == "mark_out":
            timeline.set_out(None if timeline.out_frame == timeline.frame else timeline.frame)
            session.notify(f"playback from frame {timeline.in_frame} to {timeline.last}")
        elif name == "clear_marks":
            timeline.set_in(None)
            timeline.set_out(None)
        elif name == "snap":
            session.snap_to(arg)
        elif name == "snap_step":
            session.snap_step(arg)
        elif name == "reset_view":
            session.reset_view(width / max(height, 1))
        elif name == "fly_mode":
            self.controls.fly_mode = not self.controls.fly_mode
        elif name == "point_size":
            session.scale_points(arg)
        elif name == "pick":
            self._pick(*arg)
        elif name == "compare_flip":
            compare.toggle(session.settings, session.backend)
        elif name == "compare_swap":
            self._swap_compare()
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
            self._load_camera(arg)
        elif name == "screenshot":
            self.screenshot()
        elif name == "fullscreen":
            self.window.toggle_fullscreen()
        elif name == "help":
            self.ui.show_help = not self.ui.show_help
        elif name == "toggle_panel":
            self.ui.show_panel = not self.ui.show_panel
        elif name == "reset_layout":
            self.layout.reset()
            self.ui.panels = dict.fromkeys(self.ui.panels, True)
        elif name == "ui_scale":
            self.ui_scale = self.ui.ui_scale = float(arg)
            self._apply_scale(self.ui_scale)
            save_ui_scale(self.ui_scale, self.window.content_scale)
        elif name == "quit":
            self.window.close()
        elif name == "vsync":
            self.window.set_vsync(self.render_options.vsync)
        elif name == "backend":
            session.set_backend(arg)
        elif name == "open_dialog":
            self.ui.open_dialog.show()
        elif name == "open_model":
            self.open(arg)

    def _load_camera(self, path: str) -> None:
        try:
            camera = load_camera_json(Path(path).expanduser())
        except InputError as exc:
            self.session.notify(f"camera not loaded: {exc}", "error")
            return
        self.session.set_camera(camera)
        self.session.notify(f"camera from {path}")

    def _pick(self, x: float, y: float) -> None:
        """A double click at window position (x, y): inspect the point under it."""
        projector = self.view.projector(self.region)
        pixel = projector.to_image(x, y) if projector is not None else None
        if pixel is not None:
            self.session.pick((projector.camera.width, projector.camera.height), *pixel)

    def _swap_compare(self) -> None:
        session, compare = self.session, self.ui.compare
        b_settings, b_backend = compare.settings or session.settings, compare.backend or session.backend
        compare.settings, compare.backend = session.settings, session.backend
        session.settings = b_settings
        session.set_backend(b_backend)
        if compare.frame is not None:
            compare.frame, frame = session.frame_index, compare.frame
            session.seek(frame)

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
        if self._closed:
            return
        self._closed = True
        imgui = self._imgui
        self.session.close()
        if self.model is not self._given_model:
            self.model.close()
        imgui.backends.opengl3_shutdown()
        if not self.headless:
            imgui.backends.glfw_shutdown()
        imgui.destroy_context()
        self.window.destroy()
