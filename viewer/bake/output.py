"""Writing a finished bake: the canonical streaming model, or 4K4D's runtime layout (spec §6.3)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..fileutil import atomic_output
from ..model.canonical import save_canonical, write_npz_member
from .bake import FrameStore
from .presets import Preset

LAYOUTS = ("canonical", "4k4d")
PREFIXES = {"": "sampler.", "fg": "sampler.fg_sampler.", "bg": "sampler.bg_sampler."}


def write_output(output: Path, layout: str, store: FrameStore, frames: list[int], preset: Preset,
                 title: str) -> int:
    """Assemble the finished frames into ``output`` (atomically); returns the frame count."""
    if layout == "4k4d":
        return _write_4k4d(output, store, frames)
    return save_canonical(output, _canonical_frames(store, frames), colour="ibr", up="+z", n_srcs=preset.n_srcs,
                          sh_limit=preset.sh_limit, fps=30.0, title=title)


def _canonical_frames(store: FrameStore, frames: list[int]) -> Iterator[dict[str, np.ndarray]]:
    """One canonical frame per baked frame: the foreground, then the background's points, in one cloud."""
    for frame in frames:
        parts = list(store.load(frame).values())
        yield {"xyz": np.concatenate([p.pcds for p in parts]),
               "radius": np.concatenate([p.rads[:, 0] for p in parts]),
               "alpha": np.concatenate([p.occs[:, 0] for p in parts]),
               "rgbw": np.concatenate([p.rgbws for p in parts], axis=1),
               "cents": parts[0].cents,
               "sh": np.concatenate([p.shs for p in parts])}


def _write_4k4d(output: Path, store: FrameStore, frames: list[int]) -> int:
    """sampler[.fg_sampler|.bg_sampler].{pcds,rads,occs,shs,rgbws,cents}.<f>, fp16; the background's geometry
    and SH in slot 0 only, its colours for every frame (what 4K4D's tools read)."""
    with atomic_output(output) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for frame in frames:
            for label, part in store.load(frame).items():
                prefix = PREFIXES[label]
                for name, value in part.__dict__.items():
                    if label == "bg" and name in ("pcds", "rads", "occs", "shs") and frame != frames[0]:
                        continue
                    slot = 0 if label == "bg" and name in ("pcds", "rads", "occs", "shs") else frame
                    write_npz_member(zf, f"{prefix}{name}.{slot}", value)
    return len(frames)
