"""Host frames to the GPU through a few reused pinned buffers, on a thread and CUDA stream of their own.

Host frames stay in ordinary (pageable) memory. Pinning each frame as it is read meant a fresh page-locked
allocation per frame for as long as the host cache was filling, which in a viewer is most of a playback: the
host budget is tens of GiB, and page-locking costs the reader threads time under a driver-wide lock. Here a copy
goes through one of ``SLOTS`` pinned buffers instead, allocated once (grown when a larger frame comes): the
frame's arrays, or just the source views the camera blends, are gathered into the buffer on the upload thread,
and each array's copy to the GPU starts as soon as it is gathered, so gathering the next overlaps the transfer
of the last. A buffer is reused only after the copies out of it have finished (its event).

On a CPU device (tests) the same code runs with plain buffers and copies that finish at once.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace

import torch

from .model import Frame
from .render.base import FinishedEvent

log = logging.getLogger(__name__)

SLOTS = 2       # pinned buffers used in turn: one is filled while the copies out of the other finish
ALIGN = 256     # byte alignment of each array inside a buffer
VIEW_KEYS = ("rgbw", "cents")  # per-source-view arrays, of which a copy may take some rows only


class _Slot:
    def __init__(self) -> None:
        self.buffer: torch.Tensor | None = None
        self.done: torch.cuda.Event | FinishedEvent = FinishedEvent()


def _uploaded_shape(name: str, tensor: torch.Tensor, rows: list[int] | None) -> tuple[int, ...]:
    """The shape array ``name`` has on the device: only ``rows`` of a per-view array when given."""
    return (len(rows), *tensor.shape[1:]) if rows is not None and name in VIEW_KEYS else tuple(tensor.shape)


def upload_bytes(host: Frame, rows: list[int] | None) -> int:
    """Device bytes of ``host`` uploaded with only ``rows`` of its per-view arrays (all with None)."""
    return sum(tensor.element_size() * int(torch.Size(_uploaded_shape(name, tensor, rows)).numel())
               for name, tensor in host.__dict__.items() if tensor is not None)


class FrameUploader:
    """Copies host frames to ``device`` one after another on its own thread (see the module docstring)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._cuda = device.type == "cuda"
        self._pinned = self._cuda
        self._stream = torch.cuda.Stream(device) if self._cuda else None
        self._slots = [_Slot() for _ in range(SLOTS)]
        self._turn = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="k4d-frame-upload")

    def submit(self, host: Frame, rows: list[int] | None = None) -> Future:
        """Start copying ``host`` (only ``rows`` of rgbw and cents, in that order, when given); the future's
        result is (device frame, event that completes when the copy has)."""
        return self._executor.submit(self._copy, host, None if rows is None else list(rows))

    def _copy(self, host: Frame, rows: list[int] | None) -> tuple[Frame, object]:
        slot = self._slots[self._turn]
        self._turn = (self._turn + 1) % len(self._slots)
        slot.done.synchronize()  # the copies out of this buffer, started two frames ago, have finished
        layout, offset = [], 0
        for name, tensor in host.__dict__.items():
            if tensor is None:
                continue
            picked = rows is not None and name in VIEW_KEYS
            shape = _uploaded_shape(name, tensor, rows)
            nbytes = tensor.element_size() * int(torch.Size(shape).numel())
            layout.append((name, tensor, picked, shape, offset, nbytes))
            offset += -(-nbytes // ALIGN) * ALIGN
        if slot.buffer is None or slot.buffer.numel() < offset:
            slot.buffer = None  # release the old buffer before pinning a larger one
            slot.buffer = self._allocate(max(offset, 1))
        moved = {}
        with torch.cuda.stream(self._stream) if self._cuda else nullcontext():
            for name, tensor, picked, shape, start, nbytes in layout:
                staged = slot.buffer[start:start + nbytes].view(tensor.dtype).view(shape)
                if picked:
                    torch.index_select(tensor, 0, torch.tensor(rows, dtype=torch.long), out=staged)
                else:
                    staged.copy_(tensor)
                moved[name] = torch.empty(shape, dtype=tensor.dtype, device=self.device)
                moved[name].copy_(staged, non_blocking=True)
            if self._cuda:
                slot.done = torch.cuda.Event()
                slot.done.record(self._stream)
            else:
                slot.done = FinishedEvent()  # a copy on the CPU finished when it was made
        return replace(host, **moved), slot.done

    def _allocate(self, nbytes: int) -> torch.Tensor:
        """A staging buffer: pinned where possible; if page-locking fails (little RAM left), an ordinary one,
        with which each copy waits for the transfer on the upload thread (said once in the log)."""
        if self._pinned:
            try:
                return torch.empty(nbytes, dtype=torch.uint8, pin_memory=True)
            except RuntimeError as exc:
                self._pinned = False
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("frame uploads go through ordinary memory: pinning %d MiB failed (%s)", nbytes >> 20,
                            message)
        return torch.empty(nbytes, dtype=torch.uint8)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._cuda:
            for slot in self._slots:
                slot.done.synchronize()

