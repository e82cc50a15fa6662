"""Running jobs' segments in parallel and resumably.

Executors: Ray (a local instance on this machine's GPUs and cores, or a running cluster with ``--ray auto`` /
an address), one GPU per task where GPUs exist; without Ray, local worker processes. Each job has a manifest
beside its output (``<output>.k4d-batch.json``) recording finished segments with checksums; ``--resume``
skips those whose files still match. A failed segment is retried a bounded number of times, then reported
while the rest finishes. Video segments are joined without re-encoding once all are done; outputs appear
atomically.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..errors import InputError
from ..fileutil import atomic_output
from ..video import is_video
from .jobs import Job, segments
from .join import join_segments
from .segment import checksum, parts_folder, plan_length, render_segment, segment_file

RETRIES = 2


@dataclass
class JobState:
    job: Job
    total: int = 0
    fps: float = 30.0
    segments: list[tuple[int, int]] = field(default_factory=list)
    done: dict[int, dict] = field(default_factory=dict)  # start -> {"stop", "checksum", "files"}
    failures: dict[int, str] = field(default_factory=dict)
    rendered: int = 0  # segments rendered in this run (the rest came from the manifest)

    @property
    def manifest(self) -> Path:
        return self.job.output.with_name(self.job.output.name + ".k4d-batch.json")

    def load_manifest(self) -> None:
        try:
            data = json.loads(self.manifest.read_text())
        except (OSError, ValueError):
            return
        if not isinstance(data, dict) or data.get("signature") != self.job.signature:
            return  # another job wrote it, or this job changed: start over
        for entry in data.get("segments", []):
            try:
                files = [Path(f) for f in entry["files"]]
                if all(f.is_file() for f in files) and checksum(files) == entry["checksum"]:
                    self.done[int(entry["start"])] = entry
            except (KeyError, TypeError, ValueError, OSError):
                continue

    def save_manifest(self, complete: bool = False) -> None:
        data = {"signature": self.job.signature, "command": list(self.job.argv), "complete": complete,
                "segments": sorted(self.done.values(), key=lambda e: e["start"])}
        with atomic_output(self.manifest) as tmp:
            tmp.write_text(json.dumps(data, indent=1) + "\n")


def prepare(jobs: list[Job], segment_frames: int | None, workers: int, resume: bool, where: Path | str
            ) -> list[JobState]:
    """Check every job (model, path, flags, output) before any work, and split it into segments of
    ``segment_frames`` (None: about two per worker over all jobs)."""
    states = []
    for job in jobs:
        try:
            total, fps = plan_length(job.argv, job.output)
        except InputError as exc:
            raise InputError(where, f"{job.name}: {exc}") from None
        states.append(JobState(job, total, fps))
    if segment_frames is None:
        segment_frames = default_segment_frames(sum(state.total for state in states), workers)
    for state in states:
        state.segments = segments(state.total, state.job.frames, segment_frames)
        if not state.segments:
            raise InputError(where, f"{state.job.name}: 'frames' selects no frame of its {state.total}")
        if resume:
            state.load_manifest()
    return states


def _assign_gpu(counter, gpus: int) -> None:
    """Worker initializer: worker i renders on GPU i mod gpus (set before torch is imported)."""
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    if gpus > 1:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(index % gpus)


class LocalPool:
    """Worker processes on this machine (spawned: no state shared with the parent), spread over its GPUs."""

    def __init__(self, workers: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        counter = context.Value("i", 0)
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_assign_gpu,
                                        initargs=(counter, _gpu_count()))

    def submit(self, *args):
        return self.pool.submit(render_segment, *args)

    def wait(self, futures: list, timeout: float = 0.5):
        done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    @staticmethod
    def result(future):
        return future.result()

    def shutdown(self, cancel: bool) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


class RayPool:
    """Ray tasks: one GPU each where the cluster has GPUs, else one CPU; models are read by the workers from
    shared storage, never sent through the object store."""

    def __init__(self, address: str | None, workers: int | None) -> None:
        import ray

        self.ray = ray
        if address and address != "auto":
            _check_reachable(address)
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level="ERROR")
            else:
                ray.init(num_cpus=max(workers or 1, 1), log_to_driver=False, logging_level="ERROR",
                         include_dashboard=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise InputError("--ray", f"cannot reach the Ray cluster at {address}: {str(exc).splitlines()[0]}") \
                from None
        gpus = ray.cluster_resources().get("GPU", 0)
        # one GPU per segment, or a share of one when more segments than GPUs should run at once (encoding
        # is CPU-bound: several encoders keep one GPU busy)
        share = min(1.0, gpus / workers) if workers else 1.0
        resources = {"num_gpus": share} if gpus >= 1 else {"num_cpus": 1}
        self.task = ray.remote(max_retries=0, **resources)(render_segment)

    def submit(self, *args):
        return self.task.remote(*args)

    def wait(self, futures: list, timeout: float = 0.5):
        done, _ = self.ray.wait(futures, num_returns=1, timeout=timeout)
        return list(done)

    def result(self, future):
        return self.ray.get(future)

    def shutdown(self, cancel: bool) -> None:
        self.ray.shutdown()


def _check_reachable(address: str) -> None:
    """A cluster address must answer before Ray is asked to join it (Ray itself retries for minutes)."""
    import socket

    text = address.split("://", 1)[-1]
    host, _, port = text.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
            return
    except ValueError:
        raise InputError("--ray", f"'{address}' is not 'auto' or HOST:PORT") from None
    except OSError as exc:
        raise InputError("--ray", f"cannot reach the Ray cluster at {address} ({exc.strerror or exc})") from None


def run_jobs(states: list[JobState], pool, report: Callable[[str], None] = print, workers: int = 1) -> bool:
    """Render every pending segment of every job, join the videos; True when all jobs completed."""
    pending = [(state, start, stop) for state in states for start, stop in state.segments
               if start not in state.done]
    total = sum(stop - start for state in states for start, stop in state.segments)
    already = total - sum(stop - start for _, start, stop in pending)
    attempts: dict[tuple[int, int], int] = {}
    running: dict = {}
    bar = tqdm(total=total, initial=already, unit="frame", desc="batch", disable=None)
    threads = max(1, (os.cpu_count() or 2) // max(workers, 1))  # encoders share the cores, never oversubscribe
    started = time.monotonic()
    try:
        queue = list(pending)
        while queue or running:
            while queue and len(running) < 64:
                state, start, stop = queue.pop(0)
                future = pool.submit(state.job.argv, str(state.job.output), start, stop, threads)
                running[future] = (state, start, stop)
            for future in pool.wait(list(running)):
                state, start, stop = running.pop(future)
                key = (state.job.index, start)
                try:
                    result = pool.result(future)
                except Exception as exc:  # noqa: BLE001 - a worker's error: retried, then reported
                    attempts[key] = attempts.get(key, 0) + 1
                    message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                    if attempts[key] <= RETRIES:
                        queue.append((state, start, stop))
                    else:
                        state.failures[start] = message[:300]
                    continue
                state.done[start] = {"start": start, "stop": stop, "checksum": result.checksum,
                                     "files": list(result.files)}
                state.rendered += 1
                state.save_manifest()
                bar.update(stop - start)
    finally:
        bar.close()
    ok = True
    for state in states:
        ok &= _finish(state, report)
    elapsed = time.monotonic() - started
    rendered = sum(stop - start for state in states for start, stop in state.segments
                   if start in state.done) - already
    report(f"batch: {rendered} frames rendered in {elapsed:.1f} s ({rendered / max(elapsed, 1e-9):.1f} frames/s)")
    return ok


def _finish(state: JobState, report: Callable[[str], None]) -> bool:
    job = state.job
    frames = sum(stop - start for start, stop in state.segments)
    if state.failures:
        start, message = next(iter(state.failures.items()))
        report(f"{job.name}: FAILED: {len(state.failures)} segment(s), e.g. frames {start}..: {message}; "
               "re-run with --resume to retry only those")
        return False
    if is_video(job.output):
        parts = [segment_file(job.output, start) for start, _ in state.segments]
        count = join_segments(parts, job.output)
        shutil.rmtree(parts_folder(job.output), ignore_errors=True)
        state.done = {start: {"start": start, "stop": stop, "checksum": "", "files": []}
                      for start, stop in state.segments}
        state.save_manifest(complete=True)
        report(f"{job.name}: wrote {job.output} ({count} frames, {len(state.segments)} segments joined, "
               f"{state.rendered} rendered now)")
    else:
        state.save_manifest(complete=True)
        report(f"{job.name}: wrote {frames} frames next to {job.output} ({state.rendered} segments rendered now)")
    return True


def default_segment_frames(states_total: int, workers: int) -> int:
    """About two segments per worker (a spare one evens out the finish), at least 30 frames each (an encoder's
    start and flush cost about as much as a few frames)."""
    return max(30, math.ceil(states_total / max(1, workers * 2)))


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        return 0


def default_workers() -> int:
    """The GPUs, each fed by as many encoders as a quarter of the cores allows; else half the cores."""
    cores, gpus = os.cpu_count() or 2, _gpu_count()
    if gpus:
        return gpus * max(1, cores // (4 * gpus))
    return max(1, cores // 2)
