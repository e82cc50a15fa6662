"""Per-model constants that are not in ``1599.npz`` (spec §8): one preset per released 4K4D model, picked from
the weights' folder name ``4k4d_<seq>``; any single constant can be overridden from the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from ..errors import InputError

DNA_RATIO = (0.5,) * 48 + (0.375,) * 12  # per view, in sorted-name order (HEAD's ratio.yaml)


@dataclass(frozen=True)
class Preset:
    """What the bake needs to know about a model besides its weights."""

    name: str
    t_end: int                      # training frame count: t = f / (t_end - 1)
    ratio: tuple[float, ...] = (1.0,)  # image scale, one value for all views or one per view
    aligned: bool = False           # cameras re-centred by the 'centre of attention' average (spec §4.2)
    cameras: str = "optimized"      # optimized: optimized/intri.yml + extri.yml; root: the dataset root's
    masks: str = "masks"            # masks folder name
    crop: bool = True               # crop to the mask box and fill the background with black (spec §4.3)
    dist_opt_k: bool = True         # undistort onto OpenCV's optimal new camera matrix
    legacy: bool = False            # alpha_shift 0 and a ReLU SH network (spec §8.2)
    radius_min: float = 0.001
    radius_max: float = 0.015
    radius_shift: float = -5.0
    bg_radius_max: float = 0.025    # background sampler (fg/bg models)
    bg_radius_shift: float = -2.5
    n_srcs: int = 4                 # viewer-side values written into the output
    sh_limit: float = 1.0
    layers: int = 11

    @property
    def alpha_shift(self) -> float:
        return 0.0 if self.legacy else 5.0

    @property
    def sh_hidden(self) -> str:
        return "relu" if self.legacy else "softplus"

    def time(self, frame: int) -> float:
        """t of training frame ``frame`` (spec §6.1), fp32 as upstream computes it."""
        import numpy as np

        return float(np.float32(frame) / np.float32(max(self.t_end - 1, 1)))

    def ratio_of(self, view: int) -> float:
        return self.ratio[0] if len(self.ratio) == 1 else self.ratio[view]

    def describe(self) -> str:
        ratio = f"{self.ratio[0]:g}" if len(set(self.ratio)) == 1 else \
            ", ".join(f"{r:g} x{self.ratio.count(r)}" for r in dict.fromkeys(self.ratio))
        return (f"preset {self.name}: t = f/{self.t_end - 1}, image ratio {ratio}, cameras {self.cameras}"
                f"{' (aligned)' if self.aligned else ''}, masks '{self.masks}', crop {'on' if self.crop else 'off'}, "
                f"{'legacy (alpha shift 0, ReLU SH)' if self.legacy else 'alpha shift 5, softplus SH'}, radius "
                f"{self.radius_min:g}-{self.radius_max:g} shift {self.radius_shift:g}")


def _dna(name: str, **extra) -> Preset:
    return Preset(name, t_end=150, ratio=DNA_RATIO, dist_opt_k=False, **extra)


def _nhr(name: str, t_end: int, **extra) -> Preset:
    return Preset(name, t_end=t_end, aligned=True, cameras="root", masks="mask", n_srcs=8, **extra)


PRESETS: dict[str, Preset] = {p.name: p for p in (
    *(_dna(seq) for seq in ("0008_01", "0012_01", "0012_11", "0013_01", "0013_03", "0013_09", "0019_08")),
    _dna("0023_06", sh_limit=0.25),
    _nhr("sport1", 201, sh_limit=0.25), _nhr("sport2", 201), _nhr("sport3", 201, legacy=True),
    _nhr("basketball", 195, legacy=True),
    Preset("my_313", t_end=200, aligned=True, cameras="root", legacy=True),
    Preset("my_315", t_end=200, aligned=True, cameras="root", legacy=True),
    Preset("my_377", t_end=200, legacy=True), Preset("my_387", t_end=200, legacy=True),
    *(Preset(seq, t_end=200, masks="bgmtv2", legacy=True, n_srcs=8) for seq in ("actor1_4", "actor2_3", "actor5_6")),
    Preset("dance3", t_end=300, masks="bgmtv2", legacy=True, n_srcs=8, bg_radius_max=0.1, layers=15),
)}


def preset_for(weights: Path, name: str | None) -> Preset:
    """The preset named, or the one the weights' folder ``4k4d_<seq>`` names; InputError when neither fits."""
    if name is None:
        match = re.search(r"4k4d_(.+)$", weights.resolve().parent.name)
        if match is None or match.group(1) not in PRESETS:
            raise InputError(weights, "cannot tell which 4K4D model this is from its folder name (expected "
                             f"4k4d_<seq>); give --preset ({', '.join(PRESETS)})")
        name = match.group(1)
    if name not in PRESETS:
        raise InputError("--preset", f"unknown preset '{name[:40]}' (known: {', '.join(PRESETS)})")
    return PRESETS[name]


def with_overrides(preset: Preset, **values) -> Preset:
    """The preset with single constants replaced (flags given as not None)."""
    known = {f.name for f in fields(Preset)}
    return replace(preset, **{k: v for k, v in values.items() if v is not None and k in known})
