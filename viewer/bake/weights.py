"""Reading a released 4K4D weights file (``1599.npz``) without pickle: key normalisation for older releases
(spec §9.2), the keys and shapes each sampler needs, and the frames' point clouds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import InputError
from ..model.npz import NpzArchive
from ..model.validate import check_values
from .grid import KPLANES_GRID, KPlanes
from .networks import FEATURE_BLOCKS, Mlp

_PCDS = re.compile(r"^(sampler\.(?:fg_sampler\.|bg_sampler\.)?)pcds\.(\d+)$")
_DROPPED = ("ibr_regressor.feat_agg", "sh_mlp.", "cents.", "rgbws.", "resd_regressor.")  # after the sampler prefix


def required_shapes() -> dict[str, tuple[int, ...]]:
    """Every key a sampler needs (after its prefix), with its shape (spec §2.4, §3, §4.5, §4.7, §5)."""
    shapes: dict[str, tuple[int, ...]] = {"xyz_embedder.bounds": (2, 3)}
    for kind in ("spatial", "temporal"):
        for i in range(3):
            shapes[f"xyz_embedder.{kind}_embedding.{i}.tcnn_encoding.params"] = (KPLANES_GRID.n_params,)
    for i, (o, n) in enumerate(((64, 32), (64, 64), (2, 64))):
        shapes[f"geo_regressor.mlp.linears.{i}.weight"], shapes[f"geo_regressor.mlp.linears.{i}.bias"] = (o, n), (o,)
    for name, dims in (("rgb_mlp", ((64, 43), (1, 64))), ("sh_mlp", ((64, 32), (48, 64)))):
        for i, (o, n) in enumerate(dims):
            shapes[f"ibr_regressor.{name}.mlp.linears.{i}.weight"] = (o, n)
            shapes[f"ibr_regressor.{name}.mlp.linears.{i}.bias"] = (o,)
    conv = {"conv0.0": (8, 3, 3, 3), "conv0.1": (8, 8, 3, 3), "conv1.0": (16, 8, 5, 5), "conv1.1": (16, 16, 3, 3),
            "conv2.0": (32, 16, 5, 5), "conv2.1": (32, 32, 3, 3)}
    for name, _, _ in FEATURE_BLOCKS:
        shapes[f"ibr_embedder.feat_reg.{name}.conv.weight"] = conv[name]
        for part in ("weight", "bias"):
            shapes[f"ibr_embedder.feat_reg.{name}.bn.{part}"] = (conv[name][0],)
    for name, shape in (("toplayer", (32, 32, 1, 1)), ("lat1", (32, 16, 1, 1)), ("lat0", (32, 8, 1, 1)),
                        ("smooth0", (8, 32, 3, 3))):
        shapes[f"ibr_embedder.feat_reg.{name}.weight"], shapes[f"ibr_embedder.feat_reg.{name}.bias"] = \
            shape, (shape[0],)
    return shapes


REQUIRED = required_shapes()


def normalise_key(key: str) -> str | None:
    """A stored key under today's name (older releases lack the '.mlp.' of the colour MLPs); None for keys
    that older releases kept and the bake does not use."""
    match = re.match(r"^(sampler\.(?:fg_sampler\.|bg_sampler\.)?)(.*)$", key)
    if match is None:
        return None
    prefix, rest = match.groups()
    if rest.startswith(_DROPPED):
        return None
    rest = re.sub(r"^ibr_regressor\.(rgb_mlp|sh_mlp)\.linears\.", r"ibr_regressor.\1.mlp.linears.", rest)
    return prefix + rest


@dataclass
class SamplerWeights:
    """One sampler's networks and point clouds (the whole model, or its foreground or background)."""

    prefix: str
    tensors: dict[str, torch.Tensor]
    frames: dict[int, str] = field(default_factory=dict)  # frame slot → pcds key

    def get(self, name: str) -> torch.Tensor:
        return self.tensors[self.prefix + name]

    def kplanes(self) -> KPlanes:
        params = [self.get(f"xyz_embedder.{kind}_embedding.{i}.tcnn_encoding.params").float()
                  for kind in ("spatial", "temporal") for i in range(3)]
        return KPlanes(self.get("xyz_embedder.bounds").float(), params[:3], params[3:])

    def mlp(self, name: str, count: int, hidden: str = "relu") -> Mlp:
        return Mlp.from_weights(self.tensors, self.prefix + name, count, hidden)


class WeightsFile:
    """A 4K4D weights file, checked: every needed key present with its shape; frames found."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.archive = NpzArchive(self.path)
        stored: dict[str, str] = {}
        for key in self.archive.keys():
            name = normalise_key(key)
            if name is not None:
                stored[name] = key
        self._stored = stored
        prefixes = sorted({m.group(1) for k in stored if (m := _PCDS.match(k))})
        if not prefixes:
            raise InputError(self.path, "is not a 4K4D weights file: no sampler.pcds.<frame> point clouds")
        if "sampler." in prefixes and len(prefixes) > 1:
            raise InputError(self.path, "mixes plain sampler.* keys with fg_sampler/bg_sampler keys")
        self.samplers: dict[str, SamplerWeights] = {}
        for prefix in prefixes:
            tensors = {}
            for name, shape in REQUIRED.items():
                key = prefix + name
                if key not in stored:
                    raise InputError(self.path, "missing a key the bake needs (is this a 4K4D model file?)",
                                     key=key)
                header = self.archive.header(stored[key])
                if tuple(header.shape) != shape:
                    raise InputError(self.path, f"has shape {tuple(header.shape)}, expected {shape}", key=key)
                array = self.archive.read(stored[key])
                check_values(self.archive, stored[key], array)  # NaN or Inf would bake into NaN points
                tensors[key] = torch.from_numpy(array.astype("float32"))
            frames = {}
            for key in stored:
                match = _PCDS.match(key)
                if match and match.group(1) == prefix:
                    header = self.archive.header(stored[key])
                    if len(header.shape) != 2 or header.shape[1] != 3:
                        raise InputError(self.path, f"has shape {tuple(header.shape)}, expected (N, 3)", key=key)
                    frames[int(match.group(2))] = stored[key]
            label = {"sampler.": "", "sampler.fg_sampler.": "fg", "sampler.bg_sampler.": "bg"}[prefix]
            self.samplers[label] = SamplerWeights(prefix, tensors, dict(sorted(frames.items())))

    @property
    def foreground(self) -> SamplerWeights:
        return self.samplers.get("") or self.samplers["fg"]

    @property
    def background(self) -> SamplerWeights | None:
        return self.samplers.get("bg")

    @property
    def frames(self) -> list[int]:
        return list(self.foreground.frames)

    def _points_key(self, sampler: SamplerWeights, frame: int) -> str:
        key = sampler.frames.get(frame, sampler.frames.get(0) if sampler is self.background else None)
        if key is None:
            raise InputError(self.path, f"has no point cloud for frame {frame}", key=f"{sampler.prefix}pcds.{frame}")
        return key

    def point_count(self, sampler: SamplerWeights, frame: int) -> int:
        return int(self.archive.header(self._points_key(sampler, frame)).shape[0])

    def points(self, sampler: SamplerWeights, frame: int) -> torch.Tensor:
        """(N, 3) fp32 points of ``frame`` (the background has one point set, slot 0, for every frame)."""
        key = self._points_key(sampler, frame)
        array = self.archive.read(key)
        check_values(self.archive, key, array)
        return torch.from_numpy(array.astype("float32"))

    def close(self) -> None:
        self.archive.close()
