"""Per-point colour for a target camera with exact 4K4D semantics (reference §2), in plain torch.

This is the reference implementation: the fast backends' fused kernels are tested against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model.frame import ColourModel, Frame

# Real SH constants and signs of the 3DGS / PlenOctrees convention.
SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
SH_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
SH_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
         -0.4570457994644658, 1.445305721320277, -0.5900435899266435)
NEUTRAL_GREY = 0.7


@dataclass(frozen=True)
class ColourSettings:
    """4K4D's colour constants that are not stored in the file, plus its debug views."""

    n_srcs: int = 4          # source views blended per frame (4; 8 for NHR / ENeRF-Outdoor / dance3)
    sh_degree: int = 3       # highest SH degree used (clamped to what the model stores)
    sh_limit: float = 1.0    # resd_limit: residual = tanh(SH) · limit
    skip_sh: bool = False    # debug: base colour only
    skip_base: bool = False  # debug: base 0, SH coefficients replaced by their absolute values


def sh_basis(dirs: torch.Tensor, degree: int) -> torch.Tensor:
    """Real SH basis up to ``degree`` (0..3) at unit directions (N,3): returns (N, (degree+1)²)."""
    x, y, z = dirs.unbind(-1)
    terms = [torch.full_like(x, SH_C0)]
    if degree >= 1:
        terms += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        terms += [SH_C2[0] * xy, SH_C2[1] * yz, SH_C2[2] * (2 * zz - xx - yy), SH_C2[3] * xz,
                  SH_C2[4] * (xx - yy)]
    if degree >= 3:
        terms += [SH_C3[0] * y * (3 * xx - yy), SH_C3[1] * xy * z, SH_C3[2] * y * (4 * zz - xx - yy),
                  SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy), SH_C3[4] * x * (4 * zz - xx - yy),
                  SH_C3[5] * z * (xx - yy), SH_C3[6] * x * (xx - 3 * yy)]
    return torch.stack(terms, dim=-1)


def eval_sh(coeffs: torch.Tensor, dirs: torch.Tensor, degree: int) -> torch.Tensor:
    """Evaluate SH coefficients (N,3,C) along unit directions (N,3) up to ``degree``: returns (N,3)."""
    n_coeffs = (degree + 1) ** 2
    basis = sh_basis(dirs, degree)
    return (coeffs[..., :n_coeffs].float() * basis[:, None, :]).sum(-1)


def nearest_sources(cents: torch.Tensor, centre: torch.Tensor, n_srcs: int) -> torch.Tensor:
    """Indices of the ``n_srcs`` source views nearest to the camera centre (largest 1/max(d², 1e-10))."""
    dist2 = ((cents.float() - centre) ** 2).sum(-1)
    closeness = 1.0 / dist2.clamp_min(1e-10)
    return torch.topk(closeness, k=min(n_srcs, cents.shape[0])).indices


def nearest_source_indices(cents: np.ndarray, centre, n_srcs: int) -> list[int]:
    """``nearest_sources`` on host arrays, for choosing what to read and copy (a few dozen centres: numpy is
    ~20x quicker than torch's per-op overhead here). Nearest first; lower index first on ties."""
    dist2 = np.maximum(((np.asarray(cents, np.float32) - np.asarray(centre, np.float32)) ** 2).sum(-1), 1e-10)
    return [int(v) for v in np.argsort(dist2, kind="stable")[:n_srcs]]


def evaluate_colour(frame: Frame, colour: ColourModel, centre: torch.Tensor,
                    settings: ColourSettings = ColourSettings()) -> torch.Tensor:
    """RGB in [0,1] (N,3) float32 of every point seen from a camera at world position ``centre``."""
    xyz = frame.xyz.float()
    centre = centre.to(device=xyz.device, dtype=torch.float32)
    if colour is ColourModel.NONE:
        return torch.full_like(xyz, NEUTRAL_GREY)
    if colour is ColourModel.RGB:
        return frame.rgb.float().clamp(0, 1)
    dirs = torch.nn.functional.normalize(xyz - centre, dim=-1)
    if colour is ColourModel.SH:
        degree = min(settings.sh_degree, frame.sh_degree)
        return (eval_sh(frame.sh, dirs, degree) + 0.5).clamp(0, 1)

    base = torch.zeros_like(xyz)
    if not settings.skip_base:
        chosen = frame.rgbw[nearest_sources(frame.cents, centre, settings.n_srcs)].float()  # (k,N,4)
        blend = torch.softmax(chosen[..., 3:], dim=0)
        base = (blend * chosen[..., :3]).sum(0)
    degree = min(settings.sh_degree, frame.sh_degree)
    if settings.skip_sh or degree < 0:
        return base.clamp(0, 1)
    coeffs = frame.sh.float().abs() if settings.skip_base else frame.sh
    residual = torch.tanh(eval_sh(coeffs, dirs, degree)) * settings.sh_limit
    return (base + residual).clamp(0, 1)
