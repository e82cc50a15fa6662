"""A window with no display: an EGL OpenGL context and an offscreen framebuffer with the Window interface.

The viewer runs unchanged on it (the same panels, display and session); input is injected through ImGui's
event queue, as the real window's input arrives, so viewer tests run in-process on any machine with EGL
(Mesa's software renderer included), and frames can be read back from ``framebuffer``.
"""

from __future__ import annotations


class HeadlessWindow:
    handle = None
    headless = True
    content_scale = 1.0

    def __init__(self, title: str, size: tuple[int, int] | None = None, visible: bool = False) -> None:
        from ..render.gl_backend import create_headless_context

        self.ctx = create_headless_context()
        self.title = title
        self._size = tuple(size or (1280, 720))
        self.framebuffer = self.ctx.framebuffer(color_attachments=[self.ctx.texture(self._size, 4)])
        self._closed = False
        self.fullscreen = False
        self.dropped: list[str] = []  # as the real window's drops (tests put paths here)
        self._in_flight = None  # the fence after the previous frame's commands
        try:
            from ..render.gl_procs import Fences, GLFunctionUnavailable

            self._fences = Fences()
        except GLFunctionUnavailable:
            self._fences = None  # every swap waits for the GPU (glFinish)

    @property
    def should_close(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    @property
    def framebuffer_size(self) -> tuple[int, int]:
        return self._size

    def resize(self, width: int, height: int) -> None:
        """Change the window size, as a user dragging the window's corner would."""
        self.framebuffer.release()
        self._size = (int(width), int(height))
        self.framebuffer = self.ctx.framebuffer(color_attachments=[self.ctx.texture(self._size, 4)])

    def set_title(self, title: str) -> None:
        self.title = title

    def set_vsync(self, on: bool) -> None:
        pass

    def toggle_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen

    def poll(self) -> None:
        pass

    def swap(self) -> None:
        """Like a window's swap chain with one frame in flight: the GPU may still draw this frame while the CPU
        builds the next; the frame before this one is waited for. Reading ``framebuffer`` waits for it all."""
        if self._fences is None:
            self.ctx.finish()
            return
        fence = self._fences.place()
        if self._in_flight is not None and not self._fences.wait(self._in_flight):
            self.ctx.finish()
        self._in_flight = fence

    def destroy(self) -> None:
        if self._in_flight is not None:
            self._fences.delete(self._in_flight)
            self._in_flight = None
        self.framebuffer.release()
