"""The desktop window: glfw with an OpenGL 3.3 core context, fullscreen, title, and its remembered geometry."""

from __future__ import annotations

import json
import os
from pathlib import Path

from platformdirs import user_config_dir

CONFIG_DIR_ENV = "K4D_VIEWER_CONFIG_DIR"  # tests point this at a temporary folder


class NoDisplayError(RuntimeError):
    """No window can be opened here (no display server, or no OpenGL 3.3)."""


def config_dir() -> Path:
    """Where window geometry and the UI layout are remembered (never the working directory)."""
    path = Path(os.environ.get(CONFIG_DIR_ENV) or user_config_dir("k4d-viewer"))
    path.mkdir(parents=True, exist_ok=True)
    return path


class Window:
    """One glfw window; remembers its size and position in the config directory."""

    def __init__(self, title: str, size: tuple[int, int] | None = None, visible: bool = True) -> None:
        import glfw

        self._glfw = glfw
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            raise NoDisplayError("no display (DISPLAY / WAYLAND_DISPLAY not set)")
        if not glfw.init():
            raise NoDisplayError("the windowing system could not be initialised")
        self._geometry_path = config_dir() / "window.json"
        saved = self._load_geometry()
        width, height = size or tuple(saved.get("size", (1600, 900)))
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        glfw.window_hint(glfw.VISIBLE, visible)
        self.title = title
        self.handle = None
        for major, minor in ((4, 5), (3, 3)):  # 4.5 where offered (the display reads CUDA output in place)
            glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, major)
            glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, minor)
            try:
                self.handle = glfw.create_window(int(width), int(height), title, None, None)
            except Exception:  # glfw set to raise its errors: this version is not offered
                self.handle = None
            if self.handle:
                break
        if not self.handle:
            glfw.terminate()
            raise NoDisplayError("no OpenGL 3.3 window could be created")
        if "pos" in saved and size is None:
            glfw.set_window_pos(self.handle, *saved["pos"])
        glfw.make_context_current(self.handle)
        self.dropped: list[str] = []  # paths dropped on the window since the viewer last took them
        glfw.set_drop_callback(self.handle, lambda _window, paths: self.dropped.extend(paths))
        self._windowed_geometry: tuple[int, int, int, int] | None = None
        self.set_vsync(True)

    def _load_geometry(self) -> dict:
        try:
            data = json.loads(self._geometry_path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def save_geometry(self) -> None:
        if self.fullscreen:
            return
        pos = self._glfw.get_window_pos(self.handle)
        size = self._glfw.get_window_size(self.handle)
        self._geometry_path.write_text(json.dumps({"size": list(size), "pos": list(pos)}))

    @property
    def should_close(self) -> bool:
        return bool(self._glfw.window_should_close(self.handle))

    def close(self) -> None:
        self._glfw.set_window_should_close(self.handle, True)

    @property
    def framebuffer_size(self) -> tuple[int, int]:
        return tuple(self._glfw.get_framebuffer_size(self.handle))

    @property
    def content_scale(self) -> float:
        """The screen's scale for text and widgets (2 on most HiDPI screens)."""
        x, y = self._glfw.get_window_content_scale(self.handle)
        return float(max(x, y, 1.0))

    def set_title(self, title: str) -> None:
        self.title = title
        self._glfw.set_window_title(self.handle, title)

    def set_vsync(self, on: bool) -> None:
        self._glfw.swap_interval(1 if on else 0)

    @property
    def fullscreen(self) -> bool:
        return self._windowed_geometry is not None

    def toggle_fullscreen(self) -> None:
        glfw = self._glfw
        if self._windowed_geometry is None:
            self._windowed_geometry = (*glfw.get_window_pos(self.handle), *glfw.get_window_size(self.handle))
            monitor = glfw.get_primary_monitor()
            mode = glfw.get_video_mode(monitor)
            glfw.set_window_monitor(self.handle, monitor, 0, 0, mode.size.width, mode.size.height,
                                    mode.refresh_rate)
        else:
            x, y, w, h = self._windowed_geometry
            self._windowed_geometry = None
            glfw.set_window_monitor(self.handle, None, x, y, w, h, 0)

    def poll(self) -> None:
        self._glfw.poll_events()

    def swap(self) -> None:
        self._glfw.swap_buffers(self.handle)

    def destroy(self) -> None:
        self.save_geometry()
        self._glfw.destroy_window(self.handle)
        self._glfw.terminate()
