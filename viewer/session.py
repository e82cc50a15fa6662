"""A headless viewer session: model, frame cache, timeline, camera, render settings, backend, stats, messages
and the camera-path editor, with typed methods and an explicit ``step(dt, size)`` that returns the image.

No window, GL or UI imports: the desktop window and the browser viewer are thin shells over sessions (one per
browser tab, sharing the model and the frame cache), and most viewer behaviour is tested without a display.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .app.camera_control import CameraState
from .app.path_editor import PathEditor
from .app.state import FrameStats
from .app.timeline import Timeline
from .camera import Camera
from .errors import InputError
from .frame_cache import FrameCache
from .image import save_png, to_image
from .model import Frame, Model
from .pick import PickedPoint, pick_point
from .render import BackendUnavailable, DeviceImage, get_backend
from .render.cuda_backend import cuda_available
from .settings import RenderSettings


@dataclass(frozen=True)
class Notification:
    text: str
    level: str = "info"  # info, warning or error
    time: float = 0.0


def available_backends(gl: bool) -> list[str]:
    """Backends that can run here, fastest first: cuda (NVIDIA GPU and triton), gl (if a context is offered),
    torch (always)."""
    return (["cuda"] if torch.cuda.is_available() and cuda_available() else []) + (["gl"] if gl else []) + ["torch"]


class ViewerSession:
    def __init__(self, model: Model, *, backend: str = "auto", gl_context: Any = None, gl: bool = True,
                 loader: FrameCache | None = None, device: torch.device | None = None,
                 host_cache: int | None = None, gpu_cache: int | None = None, frame: int = 0,
                 camera: Camera | None = None, settings: RenderSettings | None = None, aspect: float = 16 / 9,
                 backends_from: ViewerSession | None = None) -> None:
        """``backends_from``: a session whose backend instances (compiled programs, GPU buffers) this one uses
        too, as when the viewer opens another model."""
        self.model, self.info = model, model.info
        self.device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self._gl_context = gl_context
        self.backends = available_backends(gl)
        self._instances: dict[str, Any] = backends_from._instances if backends_from is not None else {}
        self.notifications: deque[Notification] = deque(maxlen=50)
        for note in self.info.notes:  # first: a backend fallback said below stays the latest message
            self.notify(note, "warning" if "compressed" in note else "info")
        self.backend = self.backends[0] if backend == "auto" else backend
        if self.backend not in self.backends:
            self.notify(f"the {self.backend} backend is not available here; using {self.backends[0]}", "warning")
            self.backend = self.backends[0]
        self._owns_loader = loader is None
        self.loader = loader or FrameCache(model, self.device, host_cache, gpu_cache)
        self.timeline = Timeline(self.info.n_frames, rate=self.info.fps)
        self.timeline.seek(frame)
        self.settings = (settings or RenderSettings()).for_model(self.info)
        self.stats = FrameStats()
        self.path_editor = PathEditor(fps=self.info.fps)
        try:
            self.frame_data: Frame = self.loader.wait(self.timeline.frame)
        except BaseException:  # a first frame that does not load: the loader's threads must not outlive us
            if self._owns_loader:
                self.loader.close()
            raise
        self.frame_index = self.timeline.frame
        *self.bounds, self._toward = self.info.framing(self.frame_data)
        self.camera = self.home_view(aspect)
        if camera is not None:
            self.set_camera(camera)
        self.snapped: int | None = None
        self.image: DeviceImage | None = None
        self.picked: PickedPoint | None = None
        self.last_camera: Camera | None = None
        self._render_key = None
        self._render_events: tuple | None = None  # (start, end) CUDA events of the last render
        self._direction = 1

    # -- messages ------------------------------------------------------------------------------------

    def notify(self, text: str, level: str = "info") -> None:
        self.notifications.append(Notification(text, level, time.time()))

    @property
    def status(self) -> str:
        return self.notifications[-1].text if self.notifications else ""

    # -- timeline ------------------------------------------------------------------------------------

    def seek(self, index: int) -> None:
        self.timeline.seek(self.info.n_frames - 1 if index == -1 else index)

    def step_frames(self, delta: int) -> None:
        self.timeline.step(delta)

    def toggle_play(self) -> None:
        self.timeline.toggle()

    def frame_status(self, index: int) -> str:
        """The timeline's view of a frame: the cache's status, or 'pending' for a frame of a model still being
        baked that is neither baked nor loading."""
        return self._pending_if_unbaked(index, self.loader.status(index))

    def frame_statuses(self) -> list[str]:
        """``frame_status`` of every frame, in one pass (what a timeline draws each frame)."""
        return [self._pending_if_unbaked(index, status) for index, status in enumerate(self.loader.statuses())]

    def _pending_if_unbaked(self, index: int, status: str) -> str:
        baked = getattr(self.model, "is_baked", None)
        if status == "none" and baked is not None and not baked(index):
            return "pending"
        return status

    # -- camera --------------------------------------------------------------------------------------

    def home_view(self, aspect: float) -> CameraState:
        return CameraState.framing(*self.bounds, self.info.up, aspect, toward=self._toward)

    def reset_view(self, aspect: float) -> None:
        self.camera, self.snapped = self.home_view(aspect), None

    def pivot_distance(self, camera: Camera) -> float:
        centre = (self.bounds[0] + self.bounds[1]) / 2
        return max(float(np.dot(centre - camera.centre, camera.R[2])), 0.1)

    def set_camera(self, camera: Camera, keep_intrinsics: bool = True) -> None:
        self.camera = CameraState.from_camera(camera, self.info.up, self.pivot_distance(camera), keep_intrinsics)
        self.snapped = None

    def snap_to(self, index: int) -> None:
        if not 0 <= index < len(self.info.cameras):
            self.notify(f"no capture camera {index} (this model has {len(self.info.cameras)})", "warning")
            return
        camera = self.info.cameras[index]
        self.set_camera(camera)
        self.snapped = index
        self.notify(f"snapped to capture camera {index} ({camera.name})")

    def snap_step(self, delta: int) -> None:
        if self.info.cameras:
            current = -1 if self.snapped is None else self.snapped
            self.snap_to((current + delta) % len(self.info.cameras))

    def camera_json(self, size: tuple[int, int]) -> dict:
        return self.camera.to_camera(*size).to_json_dict()

    def set_camera_json(self, data: Any, where: str) -> bool:
        """Use a camera given as JSON data; a bad one is a notification, not an exception."""
        try:
            camera = Camera.from_json_dict(data, where)
        except InputError as exc:
            self.notify(f"camera not loaded: {exc}", "error")
            return False
        self.set_camera(camera)
        self.notify(f"camera from {where}")
        return True

    # -- settings and backend ------------------------------------------------------------------------

    def set_setting(self, name: str, value: Any) -> bool:
        """Change one render setting, checked against the schema; a bad value is a notification."""
        try:
            self.settings = self.settings.with_value(name, value)
        except InputError as exc:
            self.notify(str(exc), "error")
            return False
        return True

    def scale_points(self, factor: float) -> None:
        """Make the points bigger (factor > 1) or smaller, live: the --radius-scale setting, kept in its range."""
        spec = RenderSettings.spec("radius_scale")
        current = self.settings.raster().radius_scale
        value = float(min(max(current * factor, spec.low), spec.high))
        if self.set_setting("radius_scale", value):
            self.notify(f"point size x{value:.3g} (--radius-scale {value:.3g})")

    def set_backend(self, name: str) -> None:
        if name not in self.backends:
            self.notify(f"backend {name} is not available here (available: {', '.join(self.backends)})", "error")
            return
        self.backend = name
        self._render_key = None

    def _backend(self, name: str | None = None):
        """The backend instance called ``name`` (default: the session's); one that fails to start is dropped
        from the list with a message, and the next one is used."""
        wanted = name or self.backend
        if wanted not in self._instances:
            try:
                self._instances[wanted] = (get_backend(wanted, self._gl_context) if wanted == "gl"
                                           else get_backend(wanted))
            except BackendUnavailable as exc:
                self.backends.remove(wanted)
                if self.backend == wanted:
                    self.backend = self.backends[0]
                self.notify(f"{wanted} backend unavailable ({exc}); using {self.backends[0]}", "warning")
                return self._backend(None if name is None else self.backends[0])
        return self._instances[wanted]

    # -- the loop ------------------------------------------------------------------------------------

    def update(self, dt: float, size: tuple[int, int]) -> None:
        """Advance path playback and the timeline; load frames (the last one stays until the next is ready)."""
        sample = self.path_editor.advance(dt, size)
        if sample is not None:
            self.camera = CameraState.from_camera(sample.camera, self.info.up, self.camera.distance)
            self.timeline.seek(min(max(sample.frame, 0), self.info.n_frames - 1))
        if not (self.timeline.every_frame and self.frame_index != self.timeline.frame):
            self.timeline.advance(min(dt, 1.0 / self.timeline.rate) if self.timeline.every_frame else dt)
        wanted = self.timeline.frame
        if wanted != self.frame_index:
            n = self.info.n_frames
            self._direction = 1 if self.timeline.playing or (wanted - self.frame_index) % n < n / 2 else -1
        centre, n_srcs = self.camera.eye, self.colour_settings().n_srcs
        frame = self.loader.get(wanted, centre, n_srcs)
        if frame is not None and frame is not self.frame_data:
            if wanted != self.frame_index:
                self.stats.load_ms = self.loader.last_load_ms
            self.frame_data, self.frame_index = frame, wanted
        elif frame is None and (error := self.loader.error(wanted)) is not None:
            self.notify(f"frame {wanted} could not be read: {error}", "error")
        self.loader.prefetch(wanted, self._direction, centre, n_srcs)

    def colour_settings(self):
        return self.settings.colour(self.info.n_srcs, self.info.sh_limit)

    def render(self, size: tuple[int, int], force: bool = False) -> tuple[DeviceImage | None, bool]:
        """(image, changed): renders only when the frame, camera, settings, backend or size changed.
        GPU out-of-memory keeps the last image and says what to change."""
        camera = self.camera.to_camera(*size)
        key = (self.frame_index, id(self.frame_data), camera.K.tobytes(), camera.R.tobytes(), camera.T.tobytes(),
               self.settings, self.backend)
        if key == self._render_key and self.image is not None and not force:
            return self.image, False
        backend = self._backend()
        start = time.perf_counter()
        events = None
        try:
            if self.device.type == "cuda":  # timed on the GPU: the render is not waited for here
                events = (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                events[0].record()
            image = backend.render(self.frame_data, self.info.colour, camera, self.colour_settings(),
                                   self.settings.raster())
            if events is not None:
                events[1].record()
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            self.notify(f"GPU out of memory rendering {self.frame_data.n_points:,} points at {size[0]}x{size[1]}: "
                        "lower the resolution or the cache budgets", "error")
            self._render_key = None
            return self.image, False
        self.stats.raster_ms = (time.perf_counter() - start) * 1000
        self._render_events = events
        self.stats.points, self.stats.layers_drawn = image.points, image.layers
        self.stats.add_image(time.monotonic())
        self.image, self.last_camera, self._render_key = image, camera, key
        return image, True

    def finish_render(self) -> None:
        """Wait for the last render's GPU work (its output is about to be used) and record its GPU time.
        ``render`` only launches the work, so the caller can do other things (draw the UI) meanwhile."""
        if self._render_events is not None:
            self._render_events[1].synchronize()
            self.stats.raster_ms = self._render_events[0].elapsed_time(self._render_events[1])
            self._render_events = None
        if self.image is not None:
            self.image.ready()

    def render_variant(self, size: tuple[int, int], settings: RenderSettings, backend: str,
                       frame_index: int) -> DeviceImage:
        """The current camera rendered with other settings, another backend or another frame (A/B compare);
        the session's own image, settings and backend stay as they are. Backends may reuse their output
        buffers, so read this image back before rendering the session's image again."""
        camera = self.camera.to_camera(*size)
        frame = self.frame_data if frame_index == self.frame_index else self.loader.wait(frame_index)
        instance = self._backend(backend if backend in self.backends else None)
        return instance.render(frame, self.info.colour, camera, settings.colour(self.info.n_srcs, self.info.sh_limit),
                               settings.raster())

    def pick(self, size: tuple[int, int], x: int, y: int) -> PickedPoint | None:
        """Inspect the point seen at pixel (x, y) of a render of ``size``; the result is kept in ``picked``."""
        camera = self.camera.to_camera(*size)
        self.picked = pick_point(self.frame_data, self.frame_index, self.info.colour, camera, x, y,
                                 self.colour_settings(), self.settings.raster())
        if self.picked is None:
            self.notify(f"no point at pixel {x}, {y}")
        else:
            self.notify(f"picked point {self.picked.index:,} of frame {self.frame_index}")
        return self.picked

    def step(self, dt: float, size: tuple[int, int]) -> tuple[DeviceImage | None, bool]:
        """One iteration of the loop: update, then render if anything changed."""
        self.update(dt, size)
        return self.render(size)

    def screenshot(self, folder: Path, size: tuple[int, int]) -> Path | None:
        """Save the current view at render resolution; the path is a notification."""
        image, _ = self.render(size)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"{self.info.path.stem}_f{self.frame_index:04d}_{stamp}.png"
        counter = 1
        while path.exists():
            path = path.with_name(f"{self.info.path.stem}_f{self.frame_index:04d}_{stamp}_{counter}.png")
            counter += 1
        try:
            save_png(to_image(image.readback(), self.settings.mode), path)
        except InputError as exc:
            self.notify(f"screenshot failed: {exc}", "error")
            return None
        self.notify(f"screenshot saved: {path.resolve()}")
        return path

    def close(self) -> None:
        job = self.path_editor.export
        if job is not None and job.running:
            job.cancel.set()
            job.thread.join(timeout=30)
        if self._owns_loader:
            self.loader.close()
