"""The cuda backend's frame replayed as CUDA graphs: its whole launch sequence for a few microseconds of CPU.

A frame of the cuda backend is ~15 launches from Python (colour, projection, two sorts, scans, emit,
compositing). At 1080p the CPU spends longer launching them than the GPU spends running them, so small frames
are launch-bound. When the same frame is drawn again and again (the camera moves over a paused or held frame,
the common case in a viewer; a benchmark), the sequence is recorded once as two graphs and replayed:

- A: the camera and settings block (kernels/params.py) copied from pinned memory, colour, projection, depth
  sort, pair ends, and the pair count copied back to pinned memory;
- B: pair buffers of a fixed capacity (padded: triton_raster.bin_pairs), emit, tile sort, compositing.

A and B are replayed back to back with no host sync: B's pair buffers are sized for an earlier frame of the
plan, and the image's ``ready()`` (DeviceImage) checks the count when the image is used. When this frame's
pairs did not fit (the camera moved much closer), B is recorded for the count and replayed then: that frame
costs one recording, and its image is right. B is also recorded again when the count falls far below its
capacity. The kernels and their order are those of the eager path, so the images are the same bit for bit.
Outputs live in the graphs' memory: the next replay of the same plan overwrites them, as the Rasterizer
contract allows ("backends may reuse their output buffers").
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import torch

from ..kernels import params as kernel_params
from .base import FinishedEvent

log = logging.getLogger(__name__)

RENDERS_BEFORE_RECORDING = 3  # a frame drawn this often (among the recent ones) is recorded; playback, a new
KEYS_COUNTED = 8               # frame per draw, stays eager
PLANS_KEPT = 2  # recorded frames kept (each holds its frame's tensors and its own buffers)


def pair_capacity(total: int) -> int:
    """Pair buffer length for ``total`` pairs: rounded up to one eighth of its power of two, plus an eighth
    of headroom, so a moving camera rarely needs B recorded again while padding stays under ~25%."""
    wanted = max(total + total // 8, 1024)
    step = 1 << max(wanted.bit_length() - 4, 0)
    return -(-wanted // step) * step


def keeps_capacity(total: int, capacity: int) -> bool:
    """Whether pair buffers of ``capacity`` stay for ``total`` pairs: they hold them and are not more than
    about twice what the count needs (recording B again costs about one eager frame)."""
    return total <= capacity and capacity <= 2 * pair_capacity(total)


class _Recorded:
    """One graph and the tensors its capture left as outputs."""

    def __init__(self, fn: Callable[[], tuple], stream: torch.cuda.Stream, pool) -> None:
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.stream(stream):
            self.graph.capture_begin(pool=pool, capture_error_mode="thread_local")
            try:
                self.outputs = fn()
            finally:
                self.graph.capture_end()


class FramePlan:
    """Stages A and B of one frame, recorded (see the module docstring).

    ``stage_a(params)`` launches everything up to the pair ends and returns its tensors, pair ends last;
    ``stage_b(a_outputs, capacity)`` launches the rest into pair buffers of ``capacity`` (pairs past it are
    dropped, never written out of bounds) and returns (accum, depth)."""

    recorder = _Recorded  # what records a stage (tests swap in a stand-in that replays by running it again)

    def __init__(self, holds: object, device: torch.device, stage_a: Callable[[torch.Tensor], tuple],
                 stage_b: Callable[[tuple, int], tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.holds = holds  # the frame: its memory must not be reused while the graphs read it
        self._stage_b = stage_b
        pinned = device.type == "cuda"
        self.params_host = torch.zeros(kernel_params.SIZE, dtype=torch.float32, pin_memory=pinned)
        self.total_host = torch.zeros(1, dtype=torch.int64, pin_memory=pinned)
        self._stream = torch.cuda.Stream() if pinned else None
        self._done = torch.cuda.Event() if pinned else FinishedEvent()  # on the CPU: done when launched
        self.capacity = 0
        self._b: _Recorded | None = None

        def record_a() -> tuple:
            outputs = stage_a(self.params_host.to(device, non_blocking=True))
            self.total_host.copy_(outputs[-1][-1:], non_blocking=True)
            return outputs

        self._a = self.recorder(record_a, self._stream, None)
        self._pool = self._a.graph.pool()

    def _record_b(self, total: int) -> None:
        self._b = None
        self.capacity = pair_capacity(total)
        self._b = self.recorder(lambda: self._stage_b(self._a.outputs, self.capacity), self._stream, self._pool)

    def run(self, params: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Replay A and B for the parameter block ``params`` without waiting for either: B uses the pair
        buffers sized for an earlier frame. ``settle`` says whether they held this frame's pairs."""
        self._done.synchronize()  # the last replay has read the pinned block (long done when it was settled)
        if self._b is not None and not keeps_capacity(int(self.total_host[0]), self.capacity):
            self._record_b(int(self.total_host[0]))  # sized for the last frame's count (grown or shrunk)
        self.params_host.numpy()[:] = params
        self._a.graph.replay()
        if self._b is None:  # the first run: the count is needed to size the buffers
            self._done.record()
            self._done.synchronize()
            self._record_b(int(self.total_host[0]))
        self._b.graph.replay()
        self._done.record()
        return self._b.outputs

    def settle(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Wait for the last run; if its pairs outgrew the buffers, record B for the count and replay it: the
        new (accum, depth). None when the run's outputs are right as they are."""
        self._done.synchronize()
        total = int(self.total_host[0])
        if total <= self.capacity:
            return None
        self._record_b(total)
        self._b.graph.replay()
        self._done.record()
        return self._b.outputs


class FrameGraphs:
    """Recorded plans by key: a key rendered ``RENDERS_BEFORE_RECORDING`` times while among the last
    ``KEYS_COUNTED`` keys gets one (so A/B compare, two keys in turn, is recorded too); the last ``PLANS_KEPT``
    plans are kept. Recording failures are logged once and the key stays eager."""

    def __init__(self) -> None:
        self._plans: OrderedDict[Hashable, FramePlan] = OrderedDict()
        self._seen: OrderedDict[Hashable, int] = OrderedDict()
        self._failed: set[Hashable] = set()

    def render(self, key: Hashable, make: Callable[[], FramePlan], params: np.ndarray,
               eager: Callable[[], tuple[torch.Tensor, torch.Tensor]]) -> tuple | None:
        """(accum, depth, settle) from the plan for ``key`` (made by ``make`` once the key has been seen often
        enough), or None: render eagerly. The outputs are launched, not waited for; ``settle()`` (call it
        before using them) returns None, or the (accum, depth) to use instead when the pair buffers were too
        small (then recorded again; ``eager`` draws the frame if even that fails)."""
        plan = self._plans.get(key)
        if plan is None:
            self._seen[key] = count = self._seen.pop(key, 0) + 1
            while len(self._seen) > KEYS_COUNTED:
                self._seen.popitem(last=False)
            if count < RENDERS_BEFORE_RECORDING or key in self._failed:
                return None
            self._seen.pop(key)
        try:
            if plan is None:
                plan = self._plans[key] = make()
                while len(self._plans) > PLANS_KEPT:
                    self._plans.popitem(last=False)
            self._plans.move_to_end(key)
            accum, depth = plan.run(params)
        except RuntimeError as exc:  # torch.OutOfMemoryError included
            self._give_up(key, exc)
            return None

        def settle() -> tuple[torch.Tensor, torch.Tensor] | None:
            try:
                return plan.settle()
            except RuntimeError as exc:
                self._give_up(key, exc)
                return eager()

        return accum, depth, settle

    def _give_up(self, key: Hashable, exc: Exception) -> None:
        self._plans.pop(key, None)
        self._failed.add(key)
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("cuda backend: drawing this frame without CUDA graphs (recording failed: %s)", message)

    def release(self) -> bool:
        """Drop every plan (their buffers and the frames they hold); whether there were any."""
        held = bool(self._plans)
        self._plans.clear()
        self._seen.clear()
        return held
