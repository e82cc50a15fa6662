"""Where ``render`` puts its frames (one PNG, a numbered PNG sequence or a video) and the render loop that
overlaps rendering with writing: a worker thread reads model frames and renders (on the GPU where there is
one, including the conversion to YUV planes), the calling thread encodes or writes."""

from __future__ import annotations

import collections
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..fileutil import check_output_folder
from ..image import mode_image, save_png, to_image
from ..model import Frame, Model
from ..paths.path import PathSample
from ..render.base import RasterOutput
from ..video import VideoWriter, choose_codec, frame_names, is_video, yuv420_planes
from .common import progress

QUEUE_DEPTH = 8  # frames rendered ahead of the writer
OUTPUT_KINDS = "output must be a .png (frames) or a video (.mp4 .mov .mkv .webm)"


class SinglePng:
    def __init__(self, path: Path) -> None:
        self.path, self.written, self.names = path, 0, [path]

    def prepare(self, output: RasterOutput, mode: str, rgba: bool) -> np.ndarray:
        return to_image(output, mode, with_alpha=rgba)

    def write(self, index: int, payload: np.ndarray) -> None:
        save_png(payload, self.path)
        self.written += 1

    def pending(self, count: int) -> list[int]:
        return list(range(count))

    def finish(self) -> str:
        return f"wrote {self.path}"

    def fail(self, interrupted: bool) -> None:
        pass


class PngSequence(SinglePng):
    """Numbered PNGs, compressed on several threads (zlib releases the GIL); on an input error the frames of
    this run are removed, on Ctrl+C the finished ones are kept for --resume."""

    def __init__(self, template: Path, numbers: list[int], resume: bool) -> None:
        self.names, self.resume, self.written, self._new = frame_names(template, numbers), resume, 0, []
        workers = max(1, min(8, (os.cpu_count() or 2) - 1))
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="k4d-png")
        self._pending: collections.deque = collections.deque()
        self._limit = 2 * workers

    def pending(self, count: int) -> list[int]:
        return [i for i in range(count) if not (self.resume and self.names[i].is_file())]

    def write(self, index: int, payload: np.ndarray) -> None:
        while len(self._pending) >= self._limit:
            self._settle(self._pending.popleft())
        self._pending.append((self.names[index], self._pool.submit(save_png, payload, self.names[index])))

    def _settle(self, item) -> None:
        name, future = item
        future.result()
        self._new.append(name)
        self.written += 1

    def finish(self) -> str:
        while self._pending:
            self._settle(self._pending.popleft())
        self._pool.shutdown()
        skipped = len(self.names) - self.written
        done = f" ({skipped} already there)" if skipped else ""
        return f"wrote {self.written} frames{done}: {self.names[0]} .. {self.names[-1]}"

    def fail(self, interrupted: bool) -> None:
        for name, future in self._pending:  # frames in flight: finished ones count as written
            try:
                future.result()
                self._new.append(name)
            except BaseException:  # noqa: BLE001 - a failed save left nothing (atomic write)
                pass
        self._pending.clear()
        self._pool.shutdown()
        if interrupted:
            print(f"k4d-viewer: kept the {len(self._new)} frames written; add --resume to continue", flush=True)
            return
        for path in self._new:
            path.unlink(missing_ok=True)


class _HostCopy:
    """A frame's YUV planes on their way from the GPU: copied into pinned memory without blocking the render
    thread, which goes on with the next frame; the writer waits for the copy's event."""

    def __init__(self, planes: torch.Tensor, buffer: torch.Tensor) -> None:
        buffer.copy_(planes, non_blocking=True)
        self.buffer, self.event = buffer, torch.cuda.Event()
        self.event.record()

    def array(self) -> np.ndarray:
        self.event.synchronize()
        return self.buffer.numpy()


class VideoSink:
    def __init__(self, path: Path, codec_name: str | None, crf: int | None, size: tuple[int, int], fps: float,
                 rgba: bool, threads: int = 0) -> None:
        self.codec = choose_codec(path, codec_name, rgba)
        self.writer = VideoWriter(path, self.codec, size, fps, crf, rgba, threads)
        self.path, self.written, self.names = path, 0, [path]
        self._ring: list[torch.Tensor] = []  # pinned buffers, reused round-robin (more than can be in flight)
        self._next = 0

    def prepare(self, output: RasterOutput, mode: str, rgba: bool):
        if not self.codec.yuv420:
            return to_image(output, mode, with_alpha=rgba)
        planes = yuv420_planes(mode_image(output, mode))
        if planes.device.type != "cuda":
            return planes.numpy()
        if not self._ring:
            self._ring = [torch.empty(planes.shape, dtype=torch.uint8, pin_memory=True)
                          for _ in range(QUEUE_DEPTH + 4)]
        buffer = self._ring[self._next % len(self._ring)]
        self._next += 1
        return _HostCopy(planes, buffer)

    def write(self, index: int, payload) -> None:
        self.writer.write(payload.array() if isinstance(payload, _HostCopy) else payload)
        self.written += 1

    def pending(self, count: int) -> list[int]:
        return list(range(count))

    def finish(self) -> str:
        self.writer.close()
        return f"wrote {self.path}: {self.written} frames, {self.codec.name}"

    def fail(self, interrupted: bool) -> None:
        self.writer.abort()


def make_sink(output: Path, numbers: list[int], size: tuple[int, int], fps: float, codec: str | None,
              crf: int | None, rgba: bool, resume: bool):
    """The sink for ``output``; ``numbers`` name the frames of a PNG sequence (model frames for a range, output
    frames for a path)."""
    check_output_folder(output)
    if is_video(output):
        if resume:
            raise InputError("--resume", "applies to PNG sequences; a video is written whole or not at all")
        return VideoSink(output, codec, crf, size, fps, rgba)
    if output.suffix.lower() != ".png":
        raise InputError(output, OUTPUT_KINDS)
    if codec is not None or crf is not None:
        raise InputError("--codec" if codec is not None else "--crf", "applies to video outputs (.mp4 .mov .mkv "
                         ".webm)")
    if len(numbers) == 1 and "{" not in str(output) and "%" not in str(output):
        return SinglePng(output)
    return PngSequence(output, numbers, resume)


def render_samples(samples: list[PathSample], model: Model, device: torch.device,
                   render: Callable[[Frame, PathSample], RasterOutput], sink, mode: str, rgba: bool) -> str:
    """Render every pending sample in order into ``sink``; returns the sink's summary line.

    Rendering stays on the calling thread (GL contexts belong to the thread that made them); a writer thread
    encodes or saves, and a reader thread loads the next model frame while this one renders.
    """
    todo = sink.pending(len(samples))
    reader = ThreadPoolExecutor(1, thread_name_prefix="k4d-read")
    results: queue.Queue = queue.Queue(QUEUE_DEPTH)
    failure: list[BaseException] = []

    def consume() -> None:
        while True:
            item = results.get()
            if item is None:
                return
            if failure:
                continue  # drain after an error so the renderer never blocks
            try:
                sink.write(*item)
            except BaseException as exc:  # handed to the rendering thread, which re-raises it
                failure.append(exc)

    writer = threading.Thread(target=consume, name="k4d-write", daemon=True)
    writer.start()
    interrupted, finished = False, False
    loaded: dict[int, Frame] = {}
    ahead: dict = {}
    try:
        for position, i in progress(enumerate(todo), "rendering", len(todo)):
            if failure:
                raise failure[0]
            wanted = samples[i].frame
            if wanted not in loaded:
                future = ahead.pop(wanted, None) or reader.submit(model.read_frame, wanted)
                loaded = {wanted: future.result().to(device)}
            for j in todo[position + 1:position + 3]:  # read the next model frame while this one renders
                upcoming = samples[j].frame
                if upcoming not in loaded and upcoming not in ahead:
                    ahead[upcoming] = reader.submit(model.read_frame, upcoming)
            results.put((i, sink.prepare(render(loaded[wanted], samples[i]), mode, rgba)))
        results.put(None)
        writer.join()
        if failure:
            raise failure[0]
        summary = sink.finish()
        finished = True
        return summary
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if not finished:
            results.put(None)
            writer.join(timeout=30)
            sink.fail(interrupted)
        reader.shutdown(wait=False, cancel_futures=True)
