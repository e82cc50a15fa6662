"""Viewing a released 4K4D model straight away: ``k4d-viewer 1599.npz --data DATA_ROOT``.

``BakingModel`` is a model whose frames are baked when first read (on the frame cache's background threads, so
the timeline shows baked frames as loaded and the others as pending while the viewer stays responsive). Baked
frames are kept beside the weights; once every frame is baked, the finished model is written next to the
weights, and the next open uses it directly.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..model.frame import ColourModel, Frame, ModelInfo
from .bake import Baker, FrameStore, bake_identity
from .dataset import Dataset
from .output import write_output
from .presets import preset_for
from .weights import WeightsFile


def baked_path(weights: Path) -> Path:
    """Where the viewer keeps the finished bake of ``weights``: ``1599.baked.npz`` beside it."""
    return weights.with_name(weights.stem + ".baked.npz")


class BakingModel:
    """A 4K4D weights file + its dataset, baked frame by frame as the viewer reads them."""

    def __init__(self, weights: Path, data: Path, preset: str | None = None,
                 device: torch.device | None = None) -> None:
        self.weights_path = Path(weights)
        self.preset = preset_for(self.weights_path, preset)
        self.device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.weights = WeightsFile(self.weights_path)
        notes: list[str] = []
        try:
            self.dataset = Dataset(data, self.preset, notes)
        except BaseException:
            self.weights.close()
            raise
        self.frames = self.weights.frames
        self.output = baked_path(self.weights_path)
        self.store = FrameStore(self.output, bake_identity(self.weights_path, Path(data), self.preset, self.frames),
                                resume=True)
        self._baker = Baker(self.weights, self.dataset, self.preset, self.device)
        self._lock = threading.Lock()  # one frame bakes at a time (the networks and the GPU are shared)
        counts = [sum(self.weights.point_count(sampler, f) for sampler in self.weights.samplers.values())
                  for f in self.frames]
        n_views = self.dataset.n_views
        done = sum(self.store.done(f) for f in self.frames)
        notes.insert(0, f"baking {self.weights_path.name} with {data} as frames are shown ({done} of "
                     f"{len(self.frames)} baked so far; {self.preset.name}); the finished model is kept as "
                     f"{self.output.name}")
        self.info = ModelInfo(
            path=self.weights_path, kind="4K4D model, baking", colour=ColourModel.IBR, points_per_frame=counts,
            bytes_per_frame=[c * (6 + 2 + 2 + 96 + 8 * n_views) for c in counts], frame_labels=list(self.frames),
            n_views=n_views, sh_degree=3, sh_limit=self.preset.sh_limit, n_srcs=self.preset.n_srcs, up="+z",
            notes=notes)

    def read_frame(self, index: int) -> Frame:
        if not 0 <= index < len(self.frames):
            raise InputError(self.weights_path, f"has no frame {index} (frames 0..{len(self.frames) - 1})")
        frame = self.frames[index]
        with self._lock:
            if not self.store.done(frame):
                self.store.save(frame, self._baker.frame(frame))
            parts = list(self.store.load(frame).values())
        cat = lambda name, axis=0: torch.from_numpy(np.concatenate([getattr(p, name) for p in parts], axis))  # noqa: E731
        return Frame(xyz=cat("pcds"), radius=cat("rads")[:, 0], alpha=cat("occs")[:, 0], sh=cat("shs"),
                     rgbw=cat("rgbws", 1), cents=torch.from_numpy(parts[0].cents))

    def is_baked(self, index: int) -> bool:
        return 0 <= index < len(self.frames) and self.store.done(self.frames[index])

    @property
    def complete(self) -> bool:
        return all(self.store.done(f) for f in self.frames)

    def close(self) -> None:
        """Write the finished model if every frame is baked (the next open is instant), then release."""
        try:
            with self._lock:
                if self.complete and not self.output.exists():
                    write_output(self.output, "canonical", self.store, self.frames, self.preset,
                                 f"4K4D {self.preset.name}")
                    self.store.remove()
        finally:
            self._baker.close()
            self.dataset.close()
            self.weights.close()
