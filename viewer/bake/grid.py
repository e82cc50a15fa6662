"""tiny-cuda-nn's multiresolution hash-grid encoding as 4K4D configures it, and 4K4D's K-Planes on top of it.

Bit-faithful to tiny-cuda-nn (spec §1): fp32 per-level scales, the half-cell offset as one fused multiply-add,
uint32 cell arithmetic (inputs outside [0, 1] wrap on the linear index exactly as tcnn's do), dense levels
while the table holds the grid, the CoherentPrime hash beyond, features innermost in the parameter vector,
corner weights as running fp32 products, and fused multiply-add accumulation in the module precision.
Fused multiply-adds are emulated in float64, where the products are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

PRIMES = (1, 2654435761, 805459861, 3674653429, 2097192037, 1434869437, 2165219737)  # CoherentPrime
MASK32 = (1 << 32) - 1


@dataclass(frozen=True)
class GridConfig:
    """A tcnn HashGrid configuration (4K4D's: 2-D, 4 levels of 8 features, 2^16 entries, 64 base, ×2)."""

    dims: int = 2
    levels: int = 4
    features: int = 8
    log2_size: int = 16
    base: int = 64
    per_level_scale: float = 2.0

    def level_scale(self, level: int) -> float:
        """scale_l = 2^(l·log2 b)·N_min − 1, in fp32 (spec §1.2)."""
        f32 = lambda v: float(torch.tensor(v, dtype=torch.float32))  # noqa: E731
        log2b = f32(math.log2(f32(self.per_level_scale)))
        return f32(f32(2.0 ** f32(level * log2b)) * self.base - 1.0)

    def resolution(self, level: int) -> int:
        return math.ceil(self.level_scale(level)) + 1

    def table_sizes(self) -> list[int]:
        """Entries per level (spec §1.3): res^D capped at 2^31−1, rounded up to 8, at most 2^log2_size."""
        sizes = []
        for level in range(self.levels):
            n = min(float(self.resolution(level)) ** self.dims, 2 ** 31 - 1)
            n = int(math.ceil(n / 8) * 8)
            sizes.append(min(n, 1 << self.log2_size))
        return sizes

    def offsets(self) -> list[int]:
        out, total = [], 0
        for size in self.table_sizes():
            out.append(total)
            total += size
        return out + [total]

    @property
    def n_params(self) -> int:
        return self.offsets()[-1] * self.features

    @property
    def n_outputs(self) -> int:
        return self.levels * self.features


KPLANES_GRID = GridConfig()


def _fma32(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """fp32 fused multiply-add a·b + c, rounded once (a·b of two fp32 values is exact in float64)."""
    return (a.double() * b.double() + c.double()).float()


def encode(params: torch.Tensor, x: torch.Tensor, config: GridConfig = KPLANES_GRID,
           half: bool = False) -> torch.Tensor:
    """Encode positions ``x`` (N, dims), nominally in [0, 1], with the flat parameter vector ``params``.

    Returns (N, levels·features), level-major. ``half``: the fp16 module (parameters and accumulation in half
    precision, as tcnn's half module does); otherwise fp32, as the bake runs.
    """
    if params.numel() != config.n_params:
        raise ValueError(f"grid parameters: {params.numel()} values, expected {config.n_params}")
    x = x.float()
    device = x.device
    n = x.shape[0]
    dtype = torch.float16 if half else torch.float32
    table = params.to(device=device, dtype=dtype).reshape(-1, config.features)
    sizes, offsets = config.table_sizes(), config.offsets()
    out = torch.empty(n, config.n_outputs, dtype=dtype, device=device)
    corners = [[(j >> d) & 1 for d in range(config.dims)] for j in range(1 << config.dims)]
    for level in range(config.levels):
        scale = torch.tensor(config.level_scale(level), dtype=torch.float32, device=device)
        res, size = config.resolution(level), sizes[level]
        p = _fma32(x, scale.expand_as(x), torch.full_like(x, 0.5))
        floor = torch.floor(p)
        frac = p - floor                                          # exact
        cell = floor.to(torch.int64) & MASK32                     # (uint32)(int32)c
        result = torch.zeros(n, config.features, dtype=dtype, device=device)
        for bits in corners:
            weight = torch.ones(n, dtype=torch.float32, device=device)
            index = torch.zeros(n, dtype=torch.int64, device=device)
            hashed = torch.zeros(n, dtype=torch.int64, device=device)
            stride = 1
            for d, bit in enumerate(bits):
                c = (cell[:, d] + bit) & MASK32
                weight = weight * (frac[:, d] if bit else 1.0 - frac[:, d])
                if stride <= size:
                    index = (index + c * stride) & MASK32
                    stride = (stride * res) & MASK32
                hashed ^= (c * PRIMES[d]) & MASK32
            entry = (hashed if size < stride else index) % size  # stride: tcnn's, once it passed the table
            values = table[offsets[level] + entry]                # (N, F)
            w = weight.to(dtype)[:, None].expand_as(values)
            if half:  # a·b of two halves is exact in float64, and so is the sum: one rounding, as a half fma
                result = (w.double() * values.double() + result.double()).to(dtype)
            else:
                result = _fma32(w, values, result)
        out[:, level * config.features:(level + 1) * config.features] = result
    return out


class KPlanes:
    """4K4D's K-Planes feature (spec §2): six 2-D grids on (x,y), (x,z), (y,z), (t,x), (t,y), (t,z), summed."""

    PAIRS = ((0, 1), (0, 2), (1, 2))

    def __init__(self, bounds: torch.Tensor, spatial: list[torch.Tensor], temporal: list[torch.Tensor],
                 config: GridConfig = KPLANES_GRID) -> None:
        self.bounds = bounds.float().reshape(2, 3)
        self.spatial, self.temporal, self.config = spatial, temporal, config

    def to(self, device: torch.device) -> KPlanes:
        """The same planes with their parameters on ``device`` (moved once, not per call)."""
        return KPlanes(self.bounds.to(device), [p.to(device) for p in self.spatial],
                       [p.to(device) for p in self.temporal], self.config)

    def __call__(self, xyz: torch.Tensor, t: float) -> torch.Tensor:
        """(N, 32) features of points ``xyz`` (N, 3) at time ``t`` in [0, 1], fp32."""
        bounds = self.bounds.to(xyz.device)
        u = (xyz.float() - bounds[0]) / (bounds[1] - bounds[0])
        time = torch.full((u.shape[0],), float(t), dtype=torch.float32, device=xyz.device)
        total = None
        inputs = [u[:, list(pair)] for pair in self.PAIRS] + [torch.stack([time, u[:, i]], 1) for i in range(3)]
        for params, plane in zip(self.spatial + self.temporal, inputs):
            c = 2 * plane - 1                      # K-Planes' [-1, 1] ...
            v = (c - (-1.0)) / (1.0 - (-1.0))      # ... and the tcnn wrapper's way back to [0, 1], rounding kept
            feature = encode(params, v, self.config)
            total = feature if total is None else total + feature
        return total
