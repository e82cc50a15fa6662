"""The cuda backend's frame replayed as CUDA graphs: its whole launch sequence for a few microseconds of CPU.

A frame of the cuda backend is ~15 launches from Python (colour, projection, two sorts, scans, emit,
compositing). At 1080p the CPU spends longer launching them than the GPU spends running them, so small frames
are launch-bound. When the same frame is drawn again and again (the camera moves over a paused or held frame,
the common case in a viewer; a benchmark), the sequence is recorded once as two graphs and replayed:

- A: the camera and settings block (kernels/params.py) copied from pinned memory, colour, projection, depth
  sort, pair ends, and the pair count copied back to pinned memory;
- B: pair buffers of a fixed capacity (padded: triton_raster.bin_pairs), emit, tile sort, compositing.

Between the two the host waits for A and reads the pair count (the one host sync per frame, as in the eager
path); B is recorded again only when the count outgrows its capacity or falls far below it. The kernels and
their order are those of the eager path, so the images are the same bit for bit. Outputs live in the graphs'
memory: the next replay of the same plan overwrites them, as the Rasterizer contract allows ("backends may
reuse their output buffers").
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import torch

from ..kernels import params as kernel_params

log = logging.getLogger(__name__)

RENDERS_BEFORE_RECORDING = 3  # a frame held this many renders in a row is recorded (playback stays eager)
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
    ``stage_b(a_outputs, capacity)`` launches the rest into pair buffers of ``capacity`` and returns
    (accum, depth)."""

    def __init__(self, holds: object, device: torch.device, stage_a: Callable[[torch.Tensor], tuple],
                 stage_b: Callable[[tuple, int], tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.holds = holds  # the frame: its memory must not be reused while the graphs read it
        self._stage_b = stage_b
        self.params_host = torch.zeros(kernel_params.SIZE, dtype=torch.float32, pin_memory=True)
        self.total_host = torch.zeros(1, dtype=torch.int64, pin_memory=True)
        self._stream = torch.cuda.Stream()
        self._done_a = torch.cuda.Event()
        self.capacity = 0
        self._b: _Recorded | None = None

        def record_a() -> tuple:
            outputs = stage_a(self.params_host.to(device, non_blocking=True))
            self.total_host.copy_(outputs[-1][-1:], non_blocking=True)
            return outputs

        self._a = _Recorded(record_a, self._stream, None)
        self._pool = self._a.graph.pool()

    def run(self, params: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Replay A for the parameter block ``params``, read the pair count, replay B (recorded again if the
        count no longer fits well). The previous run's A has finished (its count was read), so the pinned
        block is free to overwrite."""
        self.params_host.numpy()[:] = params
        self._a.graph.replay()
        self._done_a.record()
        self._done_a.synchronize()
        total = int(self.total_host[0])
        if self._b is None or not keeps_capacity(total, self.capacity):
            self._b = None
            self.capacity = pair_capacity(total)
            self._b = _Recorded(lambda: self._stage_b(self._a.outputs, self.capacity), self._stream, self._pool)
        self._b.graph.replay()
        return self._b.outputs


class FrameGraphs:
    """Recorded plans by key: a key rendered ``RENDERS_BEFORE_RECORDING`` times in a row gets one; the last
    ``PLANS_KEPT`` plans are kept. Recording failures are logged once and the key stays eager."""

    def __init__(self) -> None:
        self._plans: OrderedDict[Hashable, FramePlan] = OrderedDict()
        self._streak: tuple[Hashable, int] = (None, 0)
        self._failed: set[Hashable] = set()

    def render(self, key: Hashable, make: Callable[[], FramePlan],
               params: np.ndarray) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(accum, depth) from the plan for ``key`` (made by ``make`` once the key has been seen often enough),
        or None: render eagerly."""
        plan = self._plans.get(key)
        if plan is None:
            last, count = self._streak
            count = count + 1 if last == key else 1
            self._streak = (key, count)
            if count < RENDERS_BEFORE_RECORDING or key in self._failed:
                return None
        try:
            if plan is None:
                plan = self._plans[key] = make()
                while len(self._plans) > PLANS_KEPT:
                    self._plans.popitem(last=False)
            self._plans.move_to_end(key)
            return plan.run(params)
        except RuntimeError as exc:  # torch.OutOfMemoryError included
            self._plans.pop(key, None)
            self._failed.add(key)
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("cuda backend: drawing this frame without CUDA graphs (recording failed: %s)", message)
            return None

    def clear(self) -> None:
        """Drop every plan (and the frames they hold)."""
        self._plans.clear()
        self._streak = (None, 0)
