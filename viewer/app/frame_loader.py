"""Frames load on a background thread so the UI never waits; a small cache keeps recent frames on the device."""

from __future__ import annotations

import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import torch

from ..errors import InputError
from ..model import Frame, Model


class FrameLoader:
    """Asynchronous frame reads with an LRU cache of frames already on ``device``."""

    def __init__(self, model: Model, device: torch.device, cache_frames: int = 8) -> None:
        self.model = model
        self.device = device
        self.cache_frames = max(1, cache_frames)
        self._cache: OrderedDict[int, Frame] = OrderedDict()
        self._pending: dict[int, Future] = {}
        self._failed: dict[int, str] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="k4d-frame-loader")
        self.last_load_ms = 0.0

    def _load(self, index: int) -> tuple[Frame, float]:
        start = time.perf_counter()
        frame = self.model.read_frame(index).to(self.device)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return frame, (time.perf_counter() - start) * 1000

    def _collect(self) -> None:
        for index, future in list(self._pending.items()):
            if not future.done():
                continue
            del self._pending[index]
            try:
                frame, self.last_load_ms = future.result()
            except InputError as exc:
                self._failed[index] = str(exc)
                continue
            self._cache[index] = frame
            self._cache.move_to_end(index)
            while len(self._cache) > self.cache_frames:
                self._cache.popitem(last=False)

    def get(self, index: int) -> Frame | None:
        """Frame ``index`` if it is ready; otherwise start loading it and return None."""
        self._collect()
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        if index not in self._pending and index not in self._failed:
            self._pending[index] = self._executor.submit(self._load, index)
        return None

    def prefetch(self, index: int) -> None:
        """Start loading ``index`` in the background if it is not cached, loading or failed."""
        if 0 <= index < self.model.info.n_frames and index not in self._cache and index not in self._pending \
                and index not in self._failed and len(self._pending) < 2:
            self._pending[index] = self._executor.submit(self._load, index)

    def error(self, index: int) -> str | None:
        return self._failed.get(index)

    def status(self, index: int) -> str:
        """'cached', 'loading', 'failed' or 'none' (shown on the timeline)."""
        if index in self._cache:
            return "cached"
        if index in self._pending:
            return "loading"
        return "failed" if index in self._failed else "none"

    def wait(self, index: int, timeout: float = 30.0) -> Frame:
        """Block until frame ``index`` is loaded (headless use and tests)."""
        deadline = time.monotonic() + timeout
        while (frame := self.get(index)) is None:
            if index in self._failed:
                raise InputError(None, self._failed[index])
            if time.monotonic() > deadline:
                raise TimeoutError(f"frame {index} did not load within {timeout} s")
            time.sleep(0.002)
        return frame

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
