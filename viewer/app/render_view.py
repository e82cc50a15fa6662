"""The 3D view inside the window: the session's image (and B's, when comparing) put into the render region,
with the overlays drawn over it."""

from __future__ import annotations

import time

import numpy as np
from imgui_bundle import imgui

from ..camera import Camera
from .compare import CompareState
from .display import Display, DisplayImage, letterbox, outside
from .layout import Region
from .overlay import Projector, draw_aids
from .path_panel import draw_overlay
from .state import RenderOptions

PICK_COLOUR, DIVIDER_COLOUR, LABEL_BACKGROUND = 0xFF40C0FF, 0xE0FFFFFF, 0xA0000000
WINDOW_BACKGROUND = (0.08, 0.08, 0.09)


class RenderView:
    """Renders through the session when something changed, shows the result letterboxed in the region."""

    def __init__(self, ctx, session) -> None:
        self.ctx, self.session = ctx, session
        self.display = Display(ctx)
        self.display_b = Display(ctx)
        self.image: DisplayImage | None = None
        self.image_b: DisplayImage | None = None
        self._b_key = None
        self._pending = None  # the session's image rendered but not yet handed to the display
        self._handover_ms = 0.0

    def attach(self, session) -> None:
        """Show another session (another model) from now on; nothing of the last one's images is kept."""
        self.session = session
        self.image = self.image_b = self._pending = self._b_key = None

    def render(self, size: tuple[int, int], compare: CompareState) -> None:
        """The session renders (when something changed); with compare on, B too; results go into textures."""
        session = self.session
        image, changed = session.render(size)
        if compare.active:
            b_settings = compare.settings or session.settings
            b_backend = compare.backend or session.backend
            b_frame = compare.b_frame(session.frame_index)
            key = (session._render_key, b_settings, b_backend, b_frame)
            if key != self._b_key or changed or self.image_b is None:
                start = time.perf_counter()
                output = session.render_variant(size, b_settings, b_backend, b_frame).readback()
                self.image_b = self.display_b.upload(output, b_settings.raster())
                self._b_key = key
                session.stats.display_ms = (time.perf_counter() - start) * 1000
                # B may have drawn into buffers A's image lives in: render A again
                image, changed = session.render(size, force=True)
        else:
            self._b_key, self.image_b = None, None
        if image is None or (not changed and self.image is not None):
            return
        self._pending = image  # handed to the display by ``hand_over``, once the UI has been drawn

    def hand_over(self) -> None:
        """Wait for the render launched by ``render`` and put it where the window draws from. Called after the
        UI is built, so the CPU draws panels while the GPU renders."""
        image, self._pending = self._pending, None
        self._handover_ms = 0.0
        if image is None:
            return
        session = self.session
        session.finish_render()
        start = time.perf_counter()
        self.image = self._to_display(image)
        self._handover_ms = (time.perf_counter() - start) * 1000
        session.stats.gpu_bytes = session.loader.stats.device_bytes

    def _to_display(self, image) -> DisplayImage:
        session = self.session
        image.ready()
        raster = session.settings.raster()
        if image.kind == "gl":
            return DisplayImage(image.accum, image.depth, flip_y=False, background=image.background)
        if image.kind == "tensor":
            shown = self.display.from_cuda(image.accum, image.depth if session.settings.mode == "depth" else None,
                                           raster)
            if self.display.cuda_fallback and "interop" not in session.status:
                session.notify(f"CUDA-GL interop unavailable ({self.display.cuda_fallback}): copying through "
                               "host memory", "warning")
            return shown
        return self.display.upload(image.output, raster)

    def present(self, target, framebuffer_size: tuple[int, int], region: Region, scale: tuple[float, float],
                compare: CompareState) -> None:
        """Clear the window and draw the image into ``region`` (ImGui coordinates; ``scale`` = framebuffer
        pixels per ImGui unit); with compare on, B instead of A (toggle) or right of the divider (split)."""
        if self.image is None:
            return
        start = time.perf_counter()
        target.use()
        width, height = framebuffer_size
        self.ctx.viewport = (0, 0, width, height)
        x, w = int(region.x * scale[0]), int(region.width * scale[0])
        h = int(region.height * scale[1])
        y = height - int(region.y * scale[1]) - h  # GL rows count from the bottom
        mode, depth_range = self.session.settings.mode, self._depth_range()
        shown = self.image_b if compare.mode == "toggle" and compare.show_b and self.image_b else self.image
        # clear only around the image: a full-window clear is a whole extra pass over a 4K window (0.6 ms on
        # GPUs with little graphics hardware, benchmarks/bench_viewer_loop.py)
        for part in outside(letterbox((x, y, w, h), shown.size), width, height):
            self.ctx.clear(*WINDOW_BACKGROUND, viewport=part)
        self.display.draw(shown, (x, y, w, h), mode, depth_range, target)
        if compare.mode == "split" and self.image_b is not None:
            iw, ih = self.image_b.size
            fit = min(w / iw, h / ih)
            left = x + (w - iw * fit) / 2 + compare.split * iw * fit
            self.ctx.scissor = (int(left), 0, width - int(left), height)
            self.display_b.draw(self.image_b, (x, y, w, h), mode, depth_range, target)
            self.ctx.scissor = None
        self.session.stats.display_ms = self._handover_ms + (time.perf_counter() - start) * 1000

    def _depth_range(self) -> tuple[float, float]:
        lo, hi = self.session.bounds
        camera = self.session.last_camera
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        depths = corners @ camera.R.T[:, 2] + camera.T[2]
        return max(float(depths.min()), camera.near), max(float(depths.max()), camera.near * 2)

    def projector(self, region: Region) -> Projector | None:
        camera = self.session.last_camera
        return None if camera is None else Projector(camera, region)

    def draw_overlays(self, region: Region, options: RenderOptions, compare: CompareState,
                      captures: list[Camera]) -> None:
        """Path, capture frusta, axes/grid/box, the picked point and the A/B labels, over the render."""
        projector = self.projector(region)
        if projector is None:
            return
        session = self.session
        lo, hi = (np.asarray(b) for b in session.bounds)
        draw_overlay(session.path_editor, projector, captures, 0.05 * float(np.linalg.norm(hi - lo)))
        draw_aids(projector, session.bounds, session.info.up, options.show_axes, options.show_grid,
                  options.show_box)
        picked = session.picked
        if picked is not None and picked.frame == session.frame_index:
            projector.marker(picked.position, PICK_COLOUR)
        if compare.active:
            self._compare_labels(projector, region, compare)

    def _compare_labels(self, projector: Projector, region: Region, compare: CompareState) -> None:
        draw = imgui.get_background_draw_list()
        camera = projector.camera
        left, top = projector.offset
        right = left + camera.width * projector.scale
        session = self.session
        b_label = compare.label(session.settings, session.backend, session.frame_index)
        if compare.mode == "split":
            divider = left + compare.split * (right - left)
            bottom = top + camera.height * projector.scale
            draw.add_line(imgui.ImVec2(divider, top), imgui.ImVec2(divider, bottom), DIVIDER_COLOUR, 2.0)
            labels = ((left + 8, "A"), (max(divider + 8, right - imgui.calc_text_size(b_label).x - 8), b_label))
        else:
            labels = ((left + 8, b_label if compare.show_b else "A"),)
        for x, text in labels:
            y = max(top, region.y) + 8
            size = imgui.calc_text_size(text)
            draw.add_rect_filled(imgui.ImVec2(x - 4, y - 2), imgui.ImVec2(x + size.x + 4, y + size.y + 2),
                                 LABEL_BACKGROUND)
            draw.add_text(imgui.ImVec2(x, y), 0xFFFFFFFF, text)
