"""Frames on their way from disk to the GPU: a bounded host cache, a bounded device cache, prefetch.

disk ──(reader threads)──> host cache ──(upload thread: pinned buffers, copy stream)──> device cache

Both caches are LRU and bounded in bytes; the frame on screen and the frames just ahead in the playback
direction are kept. Reads happen on worker threads and host-to-device copies on their own CUDA stream, so the
render loop never waits on I/O it did not ask for: ``get`` returns a frame when it is ready and None
(starting the work) otherwise. With many source views, only the views a camera blends travel: from disk, the
n_srcs + VIEW_MARGIN views nearest the camera (models that can read a subset: the canonical format, whose
view-major colour block keeps each view contiguous), re-read when the camera moves past them; to the GPU, the
n_srcs views it blends. A frame then costs its geometry and SH plus a few views instead of all of them.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError
from .frame_upload import FrameUploader, upload_bytes
from .model import Frame, Model

GiB = 1 << 30
VIEW_MARGIN = 2  # views read beyond n_srcs, so a camera moving a little needs no new read


def parse_bytes(text: str) -> int:
    """'8G', '512M', '1.5GiB', '2000000' → bytes; ValueError otherwise."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned and cleaned[-1] in units else (cleaned, "")
    value = float(number) * units[unit]
    if not 0 <= value < 1 << 60:
        raise ValueError(f"'{text}' is negative or not a finite size")
    return int(value)


def default_host_budget() -> int:
    """40% of the memory available now (Linux), else 25% of the total, at least 1 GiB."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return max(GiB, int(available * 0.4))
    except (ValueError, OSError, AttributeError):
        try:
            return max(GiB, int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * 0.25))
        except (ValueError, OSError, AttributeError):
            return 4 * GiB


def default_gpu_budget(device: torch.device) -> int:
    """Half of the device memory free now (the renderer needs the rest)."""
    if device.type != "cuda":
        return 0
    free, _ = torch.cuda.mem_get_info(device)
    return int(free * 0.5)


@dataclass
class CacheStats:
    host_bytes: int = 0
    device_bytes: int = 0
    host_peak: int = 0
    device_peak: int = 0
    disk_reads: int = 0
    disk_bytes: int = 0
    disk_seconds: float = 0.0


class FrameCache:
    """Asynchronous frame access with bounded host and device caches."""

    def __init__(self, model: Model, device: torch.device, host_budget: int | None = None,
                 device_budget: int | None = None, workers: int = 4, lookahead: int = 8,
                 device_tier: bool | None = None) -> None:
        """``device_tier``: keep a device cache and upload into it (default: on CUDA devices; tests turn it on
        for the CPU, where the same code runs with copies that finish at once)."""
        self.model = model
        self.device = device
        self.on_gpu = device.type == "cuda"
        self.device_tier = self.on_gpu if device_tier is None else device_tier
        self.host_budget = default_host_budget() if host_budget is None else host_budget
        self.device_budget = default_gpu_budget(device) if device_budget is None else device_budget
        self.lookahead = lookahead
        self.stats = CacheStats()
        self._host: OrderedDict[int, Frame] = OrderedDict()
        self._device: OrderedDict[tuple, tuple[Frame, torch.cuda.Event | None]] = OrderedDict()
        self._uploads: dict[tuple, tuple[Future, int]] = {}  # copies to the device in flight, with their bytes
        # bytes of each frame held: accounting (after every read and upload) is then a sum of ints, not a walk
        # over hundreds of frames' tensors
        self._host_sizes: dict[int, int] = {}
        self._device_sizes: dict[tuple, int] = {}
        self._reads: dict[int, Future] = {}
        self._window: tuple[list[int], object, int | None] = ([], None, None)  # the read-ahead of the last prefetch
        self._held: dict[int, tuple[int, ...] | None] = {}  # source views each host frame holds (None: all)
        self._failed: dict[int, str] = {}
        self._protected: set[int] = set()
        self._lock = threading.Lock()
        self._cents: dict[int, np.ndarray] = {}  # source-camera centres of every frame read (tiny)
        self._workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="k4d-frame-reader")
        self._uploader = FrameUploader(device) if self.device_tier else None
        self.last_load_ms = 0.0

    # -- reading from disk (worker threads) -------------------------------------------------------------

    def _read(self, index: int, centre, n_srcs: int | None) -> tuple[Frame, tuple[int, ...] | None, np.ndarray | None,
                                                                   int, float]:
        """(frame, the views it holds, all source centres, bytes read, seconds): runs on a reader thread."""
        start = time.perf_counter()
        views, cents = None, None
        if getattr(self.model, "reads_views", False):
            cents = self.model.read_cents(index).astype(np.float32)
            views = self._views_to_read(cents, centre, n_srcs)
            frame = self.model.read_frame(index, None if views is None else list(views))
            nbytes = self.model.stored_bytes(index, None if views is None else list(views))
        else:
            frame = self.model.read_frame(index)
            nbytes = frame.nbytes()
        return frame, views, cents, nbytes, time.perf_counter() - start

    @staticmethod
    def _views_to_read(cents: np.ndarray, centre, n_srcs: int | None) -> tuple[int, ...] | None:
        """The nearest n_srcs + VIEW_MARGIN source views to ``centre``; None (all) without a camera or when that
        would be most of them anyway."""
        if centre is None or n_srcs is None or cents.shape[0] <= 2 * (n_srcs + VIEW_MARGIN):
            return None
        from .colour import nearest_source_indices

        chosen = nearest_source_indices(cents, centre, n_srcs + VIEW_MARGIN)
        return tuple(sorted(int(v) for v in chosen))

    def _collect(self) -> None:
        for index, future in list(self._reads.items()):
            if not future.done():
                continue
            del self._reads[index]
            try:
                frame, views, cents, nbytes, seconds = future.result()
            except InputError as exc:
                self._failed[index] = str(exc)
                continue
            self.stats.disk_reads += 1
            self.stats.disk_bytes += nbytes
            self.stats.disk_seconds += seconds
            self.last_load_ms = seconds * 1000
            self._host.pop(index, None)  # a re-read with other views replaces the frame
            self._host_sizes.pop(index, None)
            self._account()
            self._evict_host(room_for=frame.nbytes())  # make room first: the budget holds at every moment
            self._host[index] = frame
            self._host_sizes[index] = frame.nbytes()
            self._held[index] = views
            if cents is not None:
                self._cents[index] = cents
            elif frame.cents is not None:
                self._cents[index] = frame.cents.float().numpy()
            self._account()

    def _host_has(self, index: int, centre, n_srcs: int | None) -> bool:
        """Frame ``index`` is in host memory with every view a camera at ``centre`` blends."""
        if index not in self._host:
            return False
        held = self._held.get(index)
        if held is None:
            return True
        needed = self._views(index, centre, n_srcs, force=True)
        return needed is not None and set(needed) <= set(held)

    def _start_read(self, index: int, centre=None, n_srcs: int | None = None) -> None:
        if index in self._reads or index in self._failed or self._host_has(index, centre, n_srcs):
            return
        if not 0 <= index < self.model.info.n_frames:
            return
        self._reads[index] = self._executor.submit(self._read, index, centre, n_srcs)

    # -- the device tier ------------------------------------------------------------------------------

    def _views(self, index: int, centre, n_srcs: int | None, force: bool = False) -> tuple[int, ...] | None:
        """The source views a camera at ``centre`` blends, to copy to the device: only when that is much less than
        all views (or always, with ``force``, when they are known)."""
        cents = self._cents.get(index)
        if centre is None or n_srcs is None or cents is None or (cents.shape[0] <= 2 * n_srcs and not force):
            return None
        from .colour import nearest_source_indices

        chosen = nearest_source_indices(cents, centre, n_srcs)
        return tuple(sorted(int(v) for v in chosen))

    def _upload(self, index: int, views: tuple[int, ...] | None) -> None:
        """Start copying host frame ``index`` (only ``views`` of it, when given) to the device."""
        host, held = self._host[index], self._held.get(index)
        rows = None
        if views is not None and host.rgbw is not None:
            rows = list(views) if held is None else [held.index(v) for v in views]  # the host frame's own rows
        nbytes = upload_bytes(host, rows)
        self._evict_device(room_for=nbytes)  # make room first: the budget holds at every moment
        self._uploads[(index, views)] = (self._uploader.submit(host, rows), nbytes)
        self._account()

    def _collect_uploads(self) -> None:
        """Uploads whose copies have been launched join the device cache (with the event that says when they
        have finished); an upload that failed raises here, on the caller's thread."""
        for key, (future, _) in list(self._uploads.items()):
            if future.done():
                del self._uploads[key]
                self._device[key] = future.result()
                self._device_sizes[key] = self._device[key][0].nbytes()
                self._account()

    # -- public API -----------------------------------------------------------------------------------

    def get(self, index: int, centre=None, n_srcs: int | None = None) -> Frame | None:
        """Frame ``index`` on the device if it is ready there; otherwise start its journey and return None.

        With the camera ``centre`` and ``n_srcs``, only the source views that camera blends are copied to the
        GPU (the returned frame then holds just those views and their centres, which colour evaluation picks
        in full); without them, all views.
        """
        self._collect()
        views = self._views(index, centre, n_srcs) if self.device_tier else None
        self._protected = {index}
        if not self.device_tier:
            if self._host_has(index, centre, n_srcs):
                self._host.move_to_end(index)
                return self._host[index]
            self._start_read(index, centre, n_srcs)
            return None
        self._collect_uploads()
        key = (index, views)
        if (index, None) in self._device and self._device[(index, None)][1] is None:
            key = (index, None)  # the whole frame is already there: it has every view
        if key in self._uploads:
            return None
        if key in self._device:
            frame, done = self._device[key]
            if done is None or done.query():
                if done is not None and self.on_gpu:  # first hand-over: the render stream uses the copy's memory
                    for tensor in frame.__dict__.values():
                        if tensor is not None:
                            tensor.record_stream(torch.cuda.current_stream(self.device))
                self._device[key] = (frame, None)
                self._device.move_to_end(key)
                return frame
            return None
        if self._host_has(index, centre, n_srcs):
            self._host.move_to_end(index)
            self._upload(index, views)
            return None
        self._start_read(index, centre, n_srcs)
        return None

    def wait(self, index: int, centre=None, n_srcs: int | None = None, timeout: float = 60.0) -> Frame:
        """Block until frame ``index`` is on the device (start-up, headless use, tests)."""
        deadline = time.monotonic() + timeout
        while (frame := self.get(index, centre, n_srcs)) is None:
            if index in self._failed:
                raise InputError(None, self._failed[index])
            if time.monotonic() > deadline:
                raise TimeoutError(f"frame {index} did not load within {timeout} s")
            self._refill()
            reading = self._reads.get(index)
            uploads = [future for key, (future, _) in self._uploads.items() if key[0] == index]
            if reading is not None:  # sleep until the read ends (or another one frees a reader to refill)
                wait_futures([reading, *self._reads.values()], timeout=0.05, return_when=FIRST_COMPLETED)
            elif uploads:
                wait_futures(uploads, timeout=0.05)
            else:
                time.sleep(0.0005)
        return frame

    def prefetch(self, index: int, direction: int, centre=None, n_srcs: int | None = None) -> None:
        """Read ahead of ``index`` in ``direction`` (+1 playing forward, −1 backward) as far as the host
        budget allows, and start the device copy of the next frame."""
        self._collect()
        n = self.model.info.n_frames
        sizes = self.model.info.bytes_per_frame
        ahead = [(index + direction * k) % n for k in range(1, self.lookahead + 1)]
        room = self.host_budget - sizes[index]
        window = []
        for candidate in ahead:
            room -= sizes[candidate]
            if room < 0:
                break
            window.append(candidate)
        self._protected = {index, *window}
        self._window = (window, centre, n_srcs)
        self._refill()
        if self.device_tier and window:
            following = window[0]
            views = self._views(following, centre, n_srcs)
            key = (following, views)
            if self._host_has(following, centre, n_srcs) and key not in self._device and key not in self._uploads:
                self._upload(following, views)

    def _refill(self) -> None:
        """Keep every reader busy with the read-ahead window of the last ``prefetch``."""
        window, centre, n_srcs = self._window
        for candidate in window:
            if len(self._reads) >= self._workers:
                break
            self._start_read(candidate, centre, n_srcs)

    def status(self, index: int) -> str:
        """'device', 'host', 'loading', 'failed' or 'none' (drawn on the timeline)."""
        return next((name for name, held in self._tiers() if index in held), "none")

    def statuses(self) -> list[str]:
        """Every frame's ``status`` at once, in one pass over the caches (the timeline shows them all each
        frame; asking frame by frame costs frames × cached frames)."""
        out = ["none"] * self.model.info.n_frames
        for name, held in reversed(self._tiers()):  # the first tier that holds a frame names it, as in status
            for index in held:
                if 0 <= index < len(out):
                    out[index] = name
        return out

    def _tiers(self) -> tuple[tuple[str, object], ...]:
        """(status, the frame indices it applies to), in the order status looks at them."""
        return (("device", {key[0] for key in self._device}), ("host", self._host), ("loading", self._reads),
                ("failed", self._failed))

    def error(self, index: int) -> str | None:
        return self._failed.get(index)

    # -- memory bounds --------------------------------------------------------------------------------

    def _account(self) -> None:
        self.stats.host_bytes = sum(self._host_sizes.values())
        self.stats.device_bytes = (sum(self._device_sizes.values())
                                   + sum(nbytes for _, nbytes in self._uploads.values()))
        self.stats.host_peak = max(self.stats.host_peak, self.stats.host_bytes)
        self.stats.device_peak = max(self.stats.device_peak, self.stats.device_bytes)

    def _evict_host(self, room_for: int = 0) -> None:
        """Drop least-recently used frames (not the one on screen or those just ahead) until ``room_for``
        more bytes fit in the budget."""
        for index in list(self._host):
            if self.stats.host_bytes + room_for <= self.host_budget:
                break
            if index in self._protected:
                continue
            self._host.pop(index)
            self.stats.host_bytes -= self._host_sizes.pop(index)
            self._held.pop(index, None)

    def _evict_device(self, room_for: int = 0) -> None:
        """Drop least-recently used device frames until ``room_for`` more bytes fit; copies still in flight
        and the frame on screen stay."""
        for key in list(self._device):
            if self.stats.device_bytes + room_for <= self.device_budget:
                break
            _, done = self._device[key]
            if done is not None or key[0] in self._protected:
                continue
            del self._device[key]
            self.stats.device_bytes -= self._device_sizes.pop(key)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._uploader is not None:
            self._uploader.close()
