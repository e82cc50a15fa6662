"""One browser tab: its own ViewerSession (camera, timeline, settings) and the viser GUI that edits it.

The browser owns the camera (viser's orbit/pan/zoom); its moves arrive as camera messages and become the
session's camera. Widgets are built from the settings schema; every value a client sends goes through the
session's checked setters, and a callback that fails is logged, never raised into the server.
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
import time
from dataclasses import fields

import numpy as np
from PIL import Image
from scipy.spatial.transform import Rotation

from ..camera import Camera
from ..image import to_image
from ..session import ViewerSession
from ..settings import RenderSettings, is_switch

log = logging.getLogger("k4d_viewer.serve")
STATUS_RGB = {"device": (80, 192, 80), "host": (64, 160, 160), "loading": (224, 160, 48), "failed": (224, 48, 48),
              "none": (80, 80, 80), "pending": (64, 48, 96)}


def camera_from_viser(position, wxyz, fov: float, width: int, height: int, near: float, far: float) -> Camera:
    """viser's camera (camera-to-world quaternion, OpenCV axes, vertical fov in radians) as a Camera."""
    rotation = Rotation.from_quat([wxyz[1], wxyz[2], wxyz[3], wxyz[0]]).as_matrix()  # camera to world
    R = rotation.T
    focal = height / 2 / math.tan(fov / 2)
    K = np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])
    return Camera(K=K, R=R, T=-R @ np.asarray(position, np.float64), width=width, height=height, near=near, far=far)


def safely(callback):
    """A GUI callback for client input only (viser also calls callbacks when the server itself sets a widget,
    e.g. the frame slider following playback: acting on those would race with the user's clicks), which
    logs bad input instead of breaking the server."""

    def wrapped(event) -> None:
        if getattr(event, "client", None) is None:
            return
        try:
            callback(event)
        except Exception:  # noqa: BLE001 - a client message must never take the server down
            log.exception("ignored a client message that failed")

    return wrapped


class ClientView:
    """The state of one browser tab, driven from viser's threads and the server's render loop."""

    def __init__(self, client, session: ViewerSession, lock: threading.Lock, max_size: int) -> None:
        self.client, self.session, self.lock, self.max_size = client, session, lock, max_size
        self.size = (1280, 720)
        self.moved_at = 0.0
        self.sent_full = False
        self.frames_sent = 0
        self.last_input: float | None = None
        self.latencies: list[float] = []
        self._build_gui()
        self._place_camera(session.camera.to_camera(*self.size))
        client.camera.on_update(self._on_camera)

    # -- camera -----------------------------------------------------------------------------------------

    def _on_camera(self, camera) -> None:
        try:
            width = int(camera.image_width or 0) or self.size[0]
            height = int(camera.image_height or 0) or self.size[1]
            scale = min(1.0, self.max_size / max(width, height))
            size = (max(2, int(width * scale)) // 2 * 2, max(2, int(height * scale)) // 2 * 2)
            current = self.session.camera.to_camera(*size)
            view = camera_from_viser(camera.position, camera.wxyz, float(camera.fov), *size, current.near,
                                     current.far)
        except (TypeError, ValueError, AttributeError):
            log.warning("ignored a malformed camera message")
            return
        if not (np.isfinite(view.K).all() and np.isfinite(view.R).all() and np.isfinite(view.T).all()):
            log.warning("ignored a camera message with non-finite values")
            return
        with self.lock:
            self.size = size
            self.session.set_camera(view, keep_intrinsics=False)
            self.moved_at, self.sent_full = time.monotonic(), False
            self.last_input = time.perf_counter()

    def _place_camera(self, camera: Camera) -> None:
        """Move the browser's camera to ``camera`` (snaps, resets, path playback)."""
        rotation = camera.R.T
        x, y, z, w = Rotation.from_matrix(rotation).as_quat()
        centre = (np.asarray(self.session.bounds[0]) + np.asarray(self.session.bounds[1])) / 2
        distance = max(float(np.dot(centre - camera.centre, camera.R[2])), 0.1)
        try:
            with self.client.atomic():
                self.client.camera.position = tuple(camera.centre)
                self.client.camera.look_at = tuple(camera.centre + camera.R[2] * distance)
                self.client.camera.wxyz = (w, x, y, z)
                self.client.camera.fov = 2 * math.atan(camera.height / 2 / camera.K[1, 1])
        except ValueError:  # the browser's last camera message held non-finite values: start it afresh
            log.warning("a browser sent a camera with non-finite values; ignored")

    # -- GUI --------------------------------------------------------------------------------------------

    def _build_gui(self) -> None:
        gui, session = self.client.gui, self.session
        info = session.info
        with gui.add_folder("Timeline"):
            self.frame = gui.add_slider("Frame", 0, max(info.n_frames - 1, 1), 1, session.timeline.frame)
            self.frame.on_update(safely(lambda _: self._locked(session.seek, int(self.frame.value))))
            self.strip = gui.add_image(self._strip(), label="cache", format="png")
            buttons = gui.add_button_group("Playback", ["Previous", "Play", "Next"])
            buttons.on_click(safely(lambda event: self._playback(event.target.value)))
            self.rate = gui.add_number("Rate (fps)", float(session.timeline.rate), min=0.5, max=240.0, step=0.5)
            self.rate.on_update(safely(lambda _: setattr(session.timeline, "rate", min(max(float(self.rate.value),
                                                                                          0.5), 240.0))))
        with gui.add_folder("Camera"):
            reset = gui.add_button("Reset view")
            reset.on_click(safely(lambda _: self._reset()))
            if info.cameras:
                names = [f"{i}: {c.name or 'camera'}" for i, c in enumerate(info.cameras)]
                self.capture = gui.add_dropdown("Capture camera", names, initial_value=names[0])
                snap = gui.add_button("Snap to capture camera")
                snap.on_click(safely(lambda _: self._snap(names.index(self.capture.value))))
            self.camera_text = gui.add_text("Camera JSON", "", multiline=True)
            copy = gui.add_button("Copy camera to the box")
            copy.on_click(safely(lambda _: self._copy_camera()))
            paste = gui.add_button("Use camera from the box")
            paste.on_click(safely(lambda _: self._paste_camera()))
        with gui.add_folder("Quality"):
            if len(session.backends) > 1:
                backend = gui.add_dropdown("Backend", session.backends, initial_value=session.backend)
                backend.on_update(safely(lambda _: self._locked(session.set_backend, backend.value)))
            self.settings_widgets = {}
            for item in fields(RenderSettings):
                self.settings_widgets[item.name] = self._setting_widget(item)
        with gui.add_folder("Stats"):
            self.stats = gui.add_markdown("")
            shot = gui.add_button("Screenshot (PNG at render resolution)")
            shot.on_click(safely(lambda _: self._screenshot()))

    def _setting_widget(self, item):
        gui, session = self.client.gui, self.session
        name, spec = item.name, item.metadata["spec"]
        value = getattr(session.settings, name)
        label = name.replace("_", " ")
        colour = session.colour_settings()
        if spec.choices is not None:
            widget = gui.add_dropdown(label, spec.choices, initial_value=value, hint=spec.help)
        elif is_switch(name):
            widget = gui.add_checkbox(label, bool(value), hint=spec.help)
        elif name == "background":
            widget = gui.add_rgb(label, tuple(int(round(c * 255)) for c in value), hint=spec.help)
        elif name in ("layers", "sh_degree", "n_srcs"):
            high = int(spec.high) if name != "n_srcs" else max(1, session.info.n_views or 1)
            current = value if value is not None else colour.n_srcs
            widget = gui.add_slider(label, int(spec.low), high, 1, int(min(current, high)), hint=spec.help)
        else:
            current = value if value is not None else (session.settings.raster().radius_scale
                                                       if name == "radius_scale" else colour.sh_limit)
            widget = gui.add_number(label, float(current), min=spec.low, max=spec.high, hint=spec.help)

        def changed(_) -> None:
            new = widget.value
            if name == "background":
                new = tuple(float(c) / 255 for c in new)
            with self.lock:
                session.set_setting(name, new)

        widget.on_update(safely(changed))
        return widget

    def _locked(self, function, *args) -> None:
        with self.lock:
            function(*args)

    def _playback(self, which: str) -> None:
        with self.lock:
            if which == "Play":
                self.session.toggle_play()
            elif which in ("Previous", "Next"):
                self.session.step_frames(-1 if which == "Previous" else 1)

    def _reset(self) -> None:
        with self.lock:
            self.session.reset_view(self.size[0] / self.size[1])
            camera = self.session.camera.to_camera(*self.size)
        self._place_camera(camera)

    def _snap(self, index: int) -> None:
        with self.lock:
            self.session.snap_to(index)
            camera = self.session.camera.to_camera(*self.size)
        self._place_camera(camera)

    def _copy_camera(self) -> None:
        with self.lock:
            self.camera_text.value = json.dumps(self.session.camera_json(self.size))

    def _paste_camera(self) -> None:
        try:
            data = json.loads(self.camera_text.value)
        except ValueError:
            self.client.add_notification("Camera not used", "the box does not hold camera JSON")
            return
        with self.lock:
            ok = self.session.set_camera_json(data, "the camera box")
            camera = self.session.camera.to_camera(*self.size)
        if ok:
            self._place_camera(camera)
        else:
            self.client.add_notification("Camera not used", self.session.status)

    def _screenshot(self) -> None:
        with self.lock:
            image, _ = self.session.render(self.size, force=True)
            pixels = to_image(image.readback(), self.session.settings.mode)
            name = f"{self.session.info.path.stem}_f{self.session.frame_index:04d}.png"
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        self.client.send_file_download(name, buffer.getvalue())

    def _strip(self) -> np.ndarray:
        n = self.session.info.n_frames
        statuses = [STATUS_RGB[status] for status in self.session.frame_statuses()]
        strip = np.array(statuses, np.uint8)[None].repeat(6, axis=0)
        return np.asarray(Image.fromarray(strip).resize((max(n, 200), 6), Image.NEAREST))

    # -- the render loop's side ------------------------------------------------------------------------

    def tick(self, dt: float, now: float) -> bool:
        """Advance and, if anything changed, render and send one image; True if an image was sent.
        While the camera moves the image is rendered at half size; at rest the full size follows."""
        with self.lock:
            session = self.session
            moving = now - self.moved_at < 0.25
            size = (max(2, self.size[0] // 4 * 2), max(2, self.size[1] // 4 * 2)) if moving else self.size
            before = session.frame_index
            session.update(dt, self.size)
            image, changed = session.render(size)
            if not changed and not moving and not self.sent_full and image is not None:
                image, changed = session.render(self.size, force=True)
            if not changed or image is None:
                return False
            session.finish_render()  # its GPU time into the stats line
            self.sent_full = not moving
            pixels = to_image(image.readback(), session.settings.mode)
            started = self.last_input
            self.last_input = None
            frame = session.frame_index
        self.client.scene.set_background_image(pixels, format="jpeg", jpeg_quality=90)
        if started is not None:
            self.latencies.append(time.perf_counter() - started)
        self.frames_sent += 1
        if frame != before and int(self.frame.value) != frame:
            self.frame.value = frame
        return True

    def refresh_panels(self) -> None:
        """Stats and the cache strip, a few times a second."""
        stats, session = self.session.stats, self.session
        self.stats.content = (f"**{session.info.path.name}** · frame {session.frame_index} / "
                              f"{session.info.n_frames - 1} · {self.size[0]}×{self.size[1]}  \n"
                              f"render {stats.raster_ms:.1f} ms · {stats.points:,} points · {stats.layers_drawn} "
                              f"layers · backend {session.backend}  \n{session.status}")
        self.strip.image = self._strip()
