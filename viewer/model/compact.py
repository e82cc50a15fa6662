"""Compact storage of a canonical model's colours (``convert --compact``): about half the bytes per frame, so
playback from disk reads half as much.

- ``rgb`` (N, 3) as uint8 (the PLY colours' own precision);
- ``rgbw`` (S, N, 4) as uint8: colours in steps of 1/255 (the source images' own precision) and blend logits
  in 255 steps over the frame's logit range, kept in ``rgbw_range`` (2,) float32 [low, high];
- ``sh`` (N, 3, C) as int8 with one scale per point, ``sh_scale`` (N,) float16: coefficient = q · scale.

Readers turn them back into float16 arrays, so everything after loading is unchanged. Renders stay within
PSNR ≥ 45 dB of the fp16 original (benchmarks/bench_compact.py measures it).
"""

from __future__ import annotations

import numpy as np
import torch

COMPACT_KEYS = ("rgbw_range", "sh_scale")


def encode_rgbw(rgbw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 rgbw, float32 [low, high] of the logits)."""
    rgbw = np.asarray(rgbw, np.float32)
    low, high = float(rgbw[..., 3].min()), float(rgbw[..., 3].max())
    span = high - low if high > low else 1.0
    out = np.empty(rgbw.shape, np.uint8)
    out[..., :3] = np.round(np.clip(rgbw[..., :3], 0, 1) * 255)
    out[..., 3] = np.round((rgbw[..., 3] - low) / span * 255)
    return out, np.array([low, low + span], np.float32)


def decode_rgbw(codes: np.ndarray, value_range: np.ndarray) -> np.ndarray:
    """float16 rgbw from the uint8 codes (torch: vectorised, ~10x numpy's float16 conversions)."""
    low, high = (float(v) for v in value_range)
    scale = torch.tensor([1 / 255.0] * 3 + [(high - low) / 255.0])
    offset = torch.tensor([0.0, 0.0, 0.0, low])
    values = torch.from_numpy(np.ascontiguousarray(codes)).float()
    torch.addcmul(offset, values, scale, out=values)  # in place: no temporaries to allocate and fault in
    return values.half().numpy()


def encode_sh(sh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 coefficients, float16 per-point scale)."""
    sh = np.asarray(sh, np.float32)
    largest = np.abs(sh).reshape(len(sh), -1).max(axis=1) if len(sh) else np.zeros(0, np.float32)
    scale = (largest / 127.0).astype(np.float16)
    scale[scale == 0] = 1.0  # an all-zero (or sub-fp16) residual: codes 0 with any scale
    codes = np.clip(np.round(sh / scale.astype(np.float32)[:, None, None]), -127, 127).astype(np.int8)
    return codes, scale


def decode_sh(codes: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """float16 SH from the int8 codes and per-point scales (torch, as decode_rgbw)."""
    # q · scale is exact in float32 (8-bit × 11-bit mantissas), so one float16 multiply rounds it exactly as
    # float32 arithmetic would, at a fraction of the memory traffic
    values = torch.from_numpy(np.ascontiguousarray(codes)).half()
    values.mul_(torch.from_numpy(np.ascontiguousarray(scale)).half()[:, None, None])
    return values.numpy()


def compact_frame(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A frame's arrays with the colours in compact form; radii and opacities as fp16. Positions keep their
    precision: float16 steps are 1 mm at 2 m from the origin, coarse next to a capture's 2-3 mm point spacing."""
    out = dict(arrays)
    for name in ("radius", "alpha"):
        out[name] = np.asarray(arrays[name]).astype(np.float16)
    if arrays.get("rgb") is not None and np.asarray(arrays["rgb"]).dtype.kind == "f":
        out["rgb"] = np.round(np.clip(np.asarray(arrays["rgb"], np.float32), 0, 1) * 255).astype(np.uint8)
    if "rgbw" in arrays:
        out["rgbw"], out["rgbw_range"] = encode_rgbw(arrays["rgbw"])
    if arrays.get("sh") is not None:
        out["sh"], out["sh_scale"] = encode_sh(arrays["sh"])
    if "cents" in arrays:
        out["cents"] = np.asarray(arrays["cents"]).astype(np.float32)
    return out
