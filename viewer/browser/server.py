"""The browser viewer's server: a viser server, one ClientView per tab over a shared model and frame cache,
and an explicit render loop on one thread (GL contexts and CUDA work stay on the thread that made them)."""

from __future__ import annotations

import logging
import threading
import time

from ..frame_cache import FrameCache
from ..model import Model
from ..session import ViewerSession, available_backends
from ..settings import RenderSettings
from .client import ClientView

log = logging.getLogger("k4d_viewer.serve")


class BrowserServer:
    def __init__(self, model: Model, host: str = "127.0.0.1", port: int = 8080, backend: str = "auto",
                 settings: RenderSettings | None = None, max_size: int = 3840, host_cache: int | None = None,
                 gpu_cache: int | None = None) -> None:
        import viser

        self.model, self.settings, self.max_size = model, settings, max_size
        self.backend = backend
        self._gl_context = None
        if backend in ("auto", "gl") and not (backend == "auto" and "cuda" in available_backends(False)):
            self._gl_context = self._headless_gl(backend == "gl")
        import torch

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.loader = FrameCache(model, device, host_cache, gpu_cache)
        self.lock = threading.Lock()
        self.views: dict[int, ClientView] = {}
        self._pending: list = []
        self._stop = threading.Event()
        self.server = viser.ViserServer(host=host, port=port, verbose=False)
        self.port = self.server.get_port()
        self.server.scene.set_up_direction(model.info.up)
        self.server.on_client_connect(self._connect)
        self.server.on_client_disconnect(self._disconnect)

    @staticmethod
    def _headless_gl(required: bool):
        try:
            from ..render.gl_backend import create_headless_context

            return create_headless_context()
        except Exception as exc:  # noqa: BLE001 - no GL here: the session falls back and says so
            if required:
                log.warning("no headless OpenGL context (%s); using another backend", exc)
            return None

    def _connect(self, client) -> None:
        with self.lock:
            self._pending.append(client)  # sessions are made on the render thread, which owns the GL context

    def _disconnect(self, client) -> None:
        with self.lock:
            view = self.views.pop(client.client_id, None)
        if view is not None:
            view.session.close()

    def _open_pending(self) -> None:
        with self.lock:
            pending, self._pending = self._pending, []
        for client in pending:
            session = ViewerSession(self.model, backend=self.backend, gl_context=self._gl_context,
                                    gl=self._gl_context is not None, loader=self.loader, settings=self.settings)
            try:
                view = ClientView(client, session, threading.Lock(), self.max_size)
            except Exception:  # noqa: BLE001 - a client whose messages broke its own setup is dropped, alone
                log.exception("dropped a browser tab that could not be set up")
                session.close()
                continue
            with self.lock:
                self.views[client.client_id] = view

    def run(self, until: float | None = None) -> None:
        """The render loop: new tabs, then each tab's step; images only when something changed."""
        last, panels = time.monotonic(), 0.0
        while not self._stop.is_set() and (until is None or time.monotonic() < until):
            now = time.monotonic()
            dt, last = now - last, now
            self._open_pending()
            with self.lock:
                views = list(self.views.values())
            sent = False
            for view in views:
                try:
                    sent |= view.tick(dt, now)
                except Exception:  # noqa: BLE001 - one tab's failure must not stop the others
                    log.exception("rendering for a browser tab failed")
            if now - panels > 0.5:
                panels = now
                for view in views:
                    try:
                        view.refresh_panels()
                    except Exception:  # noqa: BLE001
                        log.exception("updating a browser tab's panels failed")
            if not sent:
                time.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()
        self.server.stop()
        self.loader.close()
