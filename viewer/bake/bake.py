"""The bake: per frame, K-Planes features → radii, opacities and SH; per source view, the FeatureNet map and the
image sampled at every point → colour and blend logit (spec §0). Frame by frame and view by view, so memory is
one frame (spec §7.2); each finished frame is written at once, so an interrupted bake resumes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..fileutil import PendingFile
from .dataset import Dataset
from .networks import FeatureNet, geometry, sample_views
from .presets import Preset
from .weights import SamplerWeights, WeightsFile

CHUNK = 1 << 18  # points per K-Planes / MLP chunk (a DNA-Rendering frame in one; bounded memory beyond)
VIEW_BATCH = 4   # source views through FeatureNet at once: ~520 B per canvas pixel each (spec §7.2)


@dataclass
class BakedPart:
    """One sampler's arrays for one frame, as 4K4D's runtime stores them (fp16)."""

    pcds: np.ndarray    # (N, 3)
    rads: np.ndarray    # (N, 1)
    occs: np.ndarray    # (N, 1)
    shs: np.ndarray     # (N, 3, 16)
    rgbws: np.ndarray   # (S, N, 4)
    cents: np.ndarray   # (S, 3)


class Baker:
    """Bakes frames of one weights file with one dataset and preset on one device."""

    def __init__(self, weights: WeightsFile, dataset: Dataset, preset: Preset, device: torch.device,
                 profile: bool = False) -> None:
        self.weights, self.dataset, self.preset, self.device = weights, dataset, preset, device
        # With a GPU, images decode in forked worker processes, the next frame's while this one computes (as
        # PyTorch's DataLoader workers do: they never touch the GPU): decoding on threads holds the interpreter
        # lock and starves the thread that feeds the GPU (H200 bench: 0.55 s a frame with 8 threads, 0.69 s
        # with 16). On the CPU, threads (processes would compete with the bake's own arithmetic). A video is
        # read in order by one thread of this process.
        workers = max(1, min(8, (os.cpu_count() or 2) - 1))
        self._pool: Executor = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
                                if dataset.images is not None and device.type == "cuda" and _can_fork()
                                else ThreadPoolExecutor(max_workers=1 if dataset.images is None else workers))
        self._pending: dict[tuple[int, bool], list[Future]] = {}
        self.profile, self.timings = profile, defaultdict(float)  # seconds per stage, with profile on
        self._nets = {}
        for label, sampler in weights.samplers.items():
            self._nets[label] = (sampler.kplanes().to(device), sampler.mlp("geo_regressor.mlp.", 3).to(device),
                                 sampler.mlp("ibr_regressor.sh_mlp.mlp.", 2, preset.sh_hidden).to(device),
                                 sampler.mlp("ibr_regressor.rgb_mlp.mlp.", 2).to(device),
                                 FeatureNet(sampler.tensors, sampler.prefix + "ibr_embedder.feat_reg.", device))

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    def frame(self, frame: int, progress: Callable[[], None] = lambda: None,
              next_frame: int | None = None) -> dict[str, BakedPart]:
        """Every sampler's arrays for ``frame`` ('' or 'fg', and 'bg' for foreground + background models).
        ``next_frame``: start loading its images now, while this frame computes."""
        out = {}
        for label, sampler in self.weights.samplers.items():
            background = label == "bg"
            views = self._load(frame, crop=not background)
            if next_frame is not None:
                self._load(next_frame, crop=not background, prefetch=True)
            out[label] = self._part(label, sampler, frame, 0.0 if background else self.preset.time(frame),
                                    background, views, progress)
        return out

    def _load(self, frame: int, crop: bool, prefetch: bool = False) -> list[Future]:
        key = (frame, crop)
        if key not in self._pending:
            self._pending[key] = [self._pool.submit(self.dataset.view, s, frame, crop)
                                  for s in range(self.dataset.n_views)]
        return self._pending[key] if prefetch else self._pending.pop(key)

    def _tick(self, stage: str, start: float) -> float:
        """With profiling on: wait for the GPU and add the time since ``start`` to ``stage``."""
        if not self.profile:
            return start
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.timings[stage] += now - start
        return now

    @torch.no_grad()
    def _part(self, label: str, sampler: SamplerWeights, frame: int, t: float, background: bool,
              loading: list[Future], progress: Callable[[], None]) -> BakedPart:
        kplanes, geo_mlp, sh_mlp, rgb_mlp, feature_net = self._nets[label]
        preset = self.preset
        start = time.perf_counter()
        xyz = self.weights.points(sampler, frame).to(self.device)
        n = len(xyz)
        feat = torch.cat([kplanes(xyz[i:i + CHUNK], t) for i in range(0, n, CHUNK)]) if n else \
            torch.zeros(0, 32, device=self.device)
        radius_max = preset.bg_radius_max if background else preset.radius_max
        radius_shift = preset.bg_radius_shift if background else preset.radius_shift
        rads, occs = geometry(geo_mlp(feat), preset.radius_min, radius_max, radius_shift, preset.alpha_shift)
        shs = sh_mlp(feat).reshape(n, 3, 16)
        start = self._tick("points and networks", start)
        views = [future.result() for future in loading]
        start = self._tick("waiting for images", start)
        height = max(image.shape[0] for image, _, _ in views)
        width = max(image.shape[1] for image, _, _ in views)
        padded = (4 * -(-height // 4), 4 * -(-width // 4))
        rgbws = torch.empty(len(views), n, 4, device=self.device)
        cents = torch.empty(len(views), 3, dtype=torch.float32)
        for first in range(0, len(views), VIEW_BATCH):
            group = views[first:first + VIEW_BATCH]
            canvas = torch.zeros(len(group), 3, *padded, device=self.device)
            for j, (image, _, _) in enumerate(group):
                pixels = torch.from_numpy(image).to(self.device, non_blocking=True)
                canvas[j, :, :image.shape[0], :image.shape[1]] = pixels.permute(2, 0, 1) / 255
            maps = torch.cat([feature_net(canvas), canvas], 1)
            for j, (_, _, camera) in enumerate(group):
                s = first + j
                K, R, T = (torch.as_tensor(np.asarray(a, np.float32), device=self.device)
                           for a in (camera.K, camera.R, camera.T))
                for i in range(0, n, CHUNK):
                    samples = sample_views(maps[j], xyz[i:i + CHUNK], K, R, T)
                    logit = rgb_mlp(torch.cat([feat[i:i + CHUNK], samples], 1))
                    rgbws[s, i:i + CHUNK] = torch.cat([samples[:, 8:11], logit], 1)
                R32, T32 = (torch.from_numpy(np.asarray(a, np.float32)) for a in (camera.R, camera.T))
                cents[s] = -R32.T @ T32
                progress()
        start = self._tick("views (FeatureNet, sampling, rgb MLP)", start)
        half = lambda x: x.detach().to(torch.float16).cpu().numpy()  # noqa: E731 - convert on the device, copy half
        part = BakedPart(pcds=half(xyz), rads=half(rads), occs=half(occs), shs=half(shs), rgbws=half(rgbws),
                         cents=half(cents))
        self._tick("to host", start)
        return part


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


# -- output: finished frames in a work folder, assembled into the output at the end -----------------------

def work_folder(output: Path) -> Path:
    return output.with_name(output.name + ".k4d-bake")


def bake_identity(weights: Path, data: Path, preset: Preset, frames: list[int]) -> dict:
    """What a bake's finished frames depend on: a resumed bake must match it."""
    return {"weights": str(weights.resolve()), "size": weights.stat().st_size, "data": str(Path(data).resolve()),
            "preset": repr(preset), "frames": frames}


class FrameStore:
    """Finished frames of a bake, one file each, beside the output: an interrupted bake keeps them, and the
    output itself appears only when every frame is done."""

    def __init__(self, output: Path, identity: dict, resume: bool) -> None:
        self.folder = work_folder(output)
        stamp = self.folder / "bake.json"
        if self.folder.exists():
            if not resume:
                raise InputError(self.folder, "holds an unfinished bake of this output: add --resume to continue "
                                 "it, or delete the folder to start over")
            try:
                saved = json.loads(stamp.read_text())
            except (OSError, ValueError):
                saved = None
            if saved != identity:
                raise InputError(self.folder, "holds a bake with other weights, data, preset or frames; delete it "
                                 "or bake with the same arguments")
        else:
            try:
                self.folder.mkdir()
                stamp.write_text(json.dumps(identity))
            except OSError as exc:
                raise InputError(self.folder, f"cannot write: {exc.strerror or exc}") from None

    def done(self, frame: int) -> bool:
        return self._path(frame).is_file()

    def holds_frames(self) -> bool:
        """Whether any finished frame is kept (else there is nothing to resume)."""
        return any(self.folder.glob("frame_*.npz"))

    def _path(self, frame: int) -> Path:
        return self.folder / f"frame_{frame:06d}.npz"

    def save(self, frame: int, parts: dict[str, BakedPart]) -> None:
        pending = PendingFile(self._path(frame))
        try:
            with open(pending.tmp, "wb") as handle:
                np.savez(handle, **{f"{label}|{name}": value for label, part in parts.items()
                                    for name, value in part.__dict__.items()})
        except OSError as exc:
            pending.abort()
            raise InputError(self._path(frame), f"cannot write: {exc.strerror or exc}") from None
        pending.commit()

    def load(self, frame: int) -> dict[str, BakedPart]:
        with np.load(self._path(frame), allow_pickle=False) as data:
            parts: dict[str, dict[str, np.ndarray]] = {}
            for key in data.files:
                label, name = key.split("|")
                parts.setdefault(label, {})[name] = data[key]
        return {label: BakedPart(**values) for label, values in parts.items()}

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
