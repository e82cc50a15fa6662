"""The small networks of a 4K4D model, evaluated in fp32 from the weights file (spec §3, §4.5, §4.7, §5).

Plain functional PyTorch: the MLPs as ``x·Wᵀ + b`` layers, and ENeRF's FeatureNet whose BatchNorm layers use
each image's own statistics (upstream never leaves training mode for them), over exactly the padded canvas.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

Weights = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Mlp:
    """Linear layers ``linears.0 .. linears.n`` with an activation between them and none at the end."""

    layers: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    hidden: str = "relu"  # relu | softplus

    @classmethod
    def from_weights(cls, weights: Weights, prefix: str, count: int, hidden: str = "relu") -> Mlp:
        return cls(tuple((weights[f"{prefix}linears.{i}.weight"].float(), weights[f"{prefix}linears.{i}.bias"].float())
                         for i in range(count)), hidden)

    def to(self, device: torch.device) -> Mlp:
        return Mlp(tuple((w.to(device), b.to(device)) for w, b in self.layers), self.hidden)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for index, (weight, bias) in enumerate(self.layers):
            x = F.linear(x, weight, bias)
            if index < len(self.layers) - 1:
                x = F.relu(x) if self.hidden == "relu" else F.softplus(x, beta=1, threshold=20)
        return x


FEATURE_BLOCKS = (("conv0.0", 1, 1), ("conv0.1", 1, 1), ("conv1.0", 2, 2), ("conv1.1", 1, 1), ("conv2.0", 2, 2),
                  ("conv2.1", 1, 1))  # (name, stride, padding)


class FeatureNet:
    """ENeRF's feature pyramid (spec §4.5): 8 feature channels at full resolution for one padded image."""

    def __init__(self, weights: Weights, prefix: str, device: torch.device) -> None:
        def get(name: str) -> torch.Tensor:
            return weights[prefix + name].float().to(device)

        self.blocks = [(get(f"{name}.conv.weight"), get(f"{name}.bn.weight"), get(f"{name}.bn.bias"), stride, pad)
                       for name, stride, pad in FEATURE_BLOCKS]
        self.head = {name: (get(f"{name}.weight"), get(f"{name}.bias")) for name in ("toplayer", "lat1", "lat0",
                                                                                     "smooth0")}

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` (B, 3, H_p, W_p) in [0, 1], H_p and W_p multiples of 4 → (B, 8, H_p, W_p). Each image is
        its own BatchNorm batch, as upstream runs them one at a time: per-image statistics are instance
        normalisation with the BatchNorm's scale and shift, so several images go through in one call."""
        x = 2 * images - 1
        stages = []
        for index, (weight, gamma, beta, stride, pad) in enumerate(self.blocks):
            x = F.conv2d(x, weight, None, stride, pad)
            # statistics of each image over all its positions (biased variance): BatchNorm in training mode
            x = F.relu(F.instance_norm(x, weight=gamma, bias=beta, use_input_stats=True, eps=1e-5))
            if index % 2 == 1:
                stages.append(x)
        conv0, conv1, conv2 = stages
        feat2 = F.conv2d(conv2, *self.head["toplayer"])
        feat1 = _up(feat2) + F.conv2d(conv1, *self.head["lat1"])
        feat0 = _up(feat1) + F.conv2d(conv0, *self.head["lat0"])
        return F.conv2d(feat0, *self.head["smooth0"], padding=1)


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def geometry(raw: torch.Tensor, radius_min: float, radius_max: float, radius_shift: float,
             alpha_shift: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(rads, occs) from the geometry MLP's two outputs (spec §3.2)."""
    r, a = raw[:, :1], raw[:, 1:2]
    rad = torch.sigmoid(r + radius_shift) * (radius_max - radius_min) + radius_min
    return rad, torch.sigmoid(a + alpha_shift)


def sample_views(maps: torch.Tensor, xyz: torch.Tensor, K: torch.Tensor, R: torch.Tensor,
                 T: torch.Tensor) -> torch.Tensor:
    """Bilinear samples (border padding, align_corners False) of ``maps`` (C, H_p, W_p) at the projections of
    ``xyz`` (N, 3) through one camera (spec §4.6): (N, C). No visibility or mask test, as upstream."""
    _, height, width = maps.shape
    cam = xyz @ R.T + T.reshape(1, 3)
    pix = cam @ K.T
    u = pix[:, 0] / (pix[:, 2] + 1e-8)
    v = pix[:, 1] / (pix[:, 2] + 1e-8)
    grid = torch.stack([2 * u / width - 1, 2 * v / height - 1], -1)[None, None]  # (1, 1, N, 2)
    out = F.grid_sample(maps[None], grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0, :, 0].T
