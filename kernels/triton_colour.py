"""Fused colour evaluation (reference §2) as one Triton kernel: IBR blend + tanh(SH)·limit + clip.

One program handles BLOCK points: it normalises the view direction, evaluates the SH basis up to DEGREE,
blends the N_SRCS source views nearest the camera with a softmax of their logits and writes rgb (N,3) fp32.
Each program picks those views itself from the source centres (a few dozen distances): one launch per frame,
no host work and no separate selection kernels. Tested against
k4d_viewer.colour.evaluate_colour on the GPU and, through the Triton interpreter, on the CPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from . import params as P

# Real SH constants (3DGS / PlenOctrees); constexpr so compiled kernels may read them as globals.
SH_C0 = tl.constexpr(0.28209479177387814)
SH_C1 = tl.constexpr(0.4886025119029199)
SH_C2_0 = tl.constexpr(1.0925484305920792)
SH_C2_2 = tl.constexpr(0.31539156525252005)
SH_C2_4 = tl.constexpr(0.5462742152960396)
SH_C3_0 = tl.constexpr(0.5900435899266435)
SH_C3_1 = tl.constexpr(2.890611442640554)
SH_C3_2 = tl.constexpr(0.4570457994644658)
SH_C3_3 = tl.constexpr(0.3731763325901154)
SH_C3_5 = tl.constexpr(1.445305721320277)


@triton.jit
def _coeff(sh_ptr, row, k: tl.constexpr, mask, ABS: tl.constexpr):
    c = tl.load(sh_ptr + row + k, mask=mask, other=0.0).to(tl.float32)
    if ABS:
        c = tl.abs(c)
    return c


@triton.jit
def _sh_channel(sh_ptr, row, x, y, z, mask, DEGREE: tl.constexpr, ABS: tl.constexpr):
    """Σ_k c_k·Y_k(x, y, z) for one colour channel; ``row`` is the offset of its coefficients."""
    value = SH_C0 * _coeff(sh_ptr, row, 0, mask, ABS)
    if DEGREE >= 1:
        value += SH_C1 * (-y * _coeff(sh_ptr, row, 1, mask, ABS) + z * _coeff(sh_ptr, row, 2, mask, ABS)
                          - x * _coeff(sh_ptr, row, 3, mask, ABS))
    if DEGREE >= 2:
        xx, yy, zz = x * x, y * y, z * z
        value += (SH_C2_0 * x * y * _coeff(sh_ptr, row, 4, mask, ABS)
                  - SH_C2_0 * y * z * _coeff(sh_ptr, row, 5, mask, ABS)
                  + SH_C2_2 * (2.0 * zz - xx - yy) * _coeff(sh_ptr, row, 6, mask, ABS)
                  - SH_C2_0 * x * z * _coeff(sh_ptr, row, 7, mask, ABS)
                  + SH_C2_4 * (xx - yy) * _coeff(sh_ptr, row, 8, mask, ABS))
    if DEGREE >= 3:
        xx, yy, zz = x * x, y * y, z * z
        value += (-SH_C3_0 * y * (3.0 * xx - yy) * _coeff(sh_ptr, row, 9, mask, ABS)
                  + SH_C3_1 * x * y * z * _coeff(sh_ptr, row, 10, mask, ABS)
                  - SH_C3_2 * y * (4.0 * zz - xx - yy) * _coeff(sh_ptr, row, 11, mask, ABS)
                  + SH_C3_3 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * _coeff(sh_ptr, row, 12, mask, ABS)
                  - SH_C3_2 * x * (4.0 * zz - xx - yy) * _coeff(sh_ptr, row, 13, mask, ABS)
                  + SH_C3_5 * z * (xx - yy) * _coeff(sh_ptr, row, 14, mask, ABS)
                  - SH_C3_0 * x * (xx - 3.0 * yy) * _coeff(sh_ptr, row, 15, mask, ABS))
    return value


@triton.jit
def _tanh(x):
    e = tl.exp(-2.0 * tl.abs(x))
    t = (1.0 - e) / (1.0 + e)
    return tl.where(x < 0, -t, t)


@triton.jit
def _nearest_view(cents_ptr, n_views, cam_x, cam_y, cam_z, rank: tl.constexpr, VIEWS_BLOCK: tl.constexpr):
    """The index of the ``rank``-th nearest source view to the camera (0 = nearest), by the rule of
    k4d_viewer.colour.nearest_sources: squared distance clamped below at 1e-10, lower index first on ties.
    Recomputed per program: S ≤ VIEWS_BLOCK distances are far cheaper than a separate launch."""
    j = tl.arange(0, VIEWS_BLOCK)
    valid = j < n_views
    dx = tl.load(cents_ptr + j * 3 + 0, mask=valid, other=0.0).to(tl.float32) - cam_x
    dy = tl.load(cents_ptr + j * 3 + 1, mask=valid, other=0.0).to(tl.float32) - cam_y
    dz = tl.load(cents_ptr + j * 3 + 2, mask=valid, other=0.0).to(tl.float32) - cam_z
    dist2 = tl.where(valid, tl.maximum(dx * dx + dy * dy + dz * dz, 1e-10), float("inf"))
    view = 0
    for _ in tl.static_range(rank + 1):
        best = tl.min(dist2, axis=0)
        view = tl.min(tl.where(dist2 == best, j, VIEWS_BLOCK), axis=0)
        dist2 = tl.where(j == view, float("inf"), dist2)
    return view


@triton.jit
def _colour_kernel(xyz_ptr, sh_ptr, rgbw_ptr, cents_ptr, n_views, out_ptr, n, params_ptr,
                   N_SRCS: tl.constexpr, VIEWS_BLOCK: tl.constexpr, N_COEFFS: tl.constexpr, DEGREE: tl.constexpr,
                   USE_SH: tl.constexpr, USE_BASE: tl.constexpr, ABS_SH: tl.constexpr, BLOCK: tl.constexpr):
    i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = i < n
    i64 = i.to(tl.int64)
    cam_x = tl.load(params_ptr + P.CENTRE + 0)
    cam_y = tl.load(params_ptr + P.CENTRE + 1)
    cam_z = tl.load(params_ptr + P.CENTRE + 2)
    limit = tl.load(params_ptr + P.SH_LIMIT)
    x = tl.load(xyz_ptr + i64 * 3 + 0, mask=mask, other=0.0).to(tl.float32) - cam_x
    y = tl.load(xyz_ptr + i64 * 3 + 1, mask=mask, other=0.0).to(tl.float32) - cam_y
    z = tl.load(xyz_ptr + i64 * 3 + 2, mask=mask, other=1.0).to(tl.float32) - cam_z
    inv = 1.0 / tl.maximum(tl.sqrt(x * x + y * y + z * z), 1e-12)
    x, y, z = x * inv, y * inv, z * inv

    r = tl.zeros([BLOCK], dtype=tl.float32)
    g = tl.zeros([BLOCK], dtype=tl.float32)
    b = tl.zeros([BLOCK], dtype=tl.float32)
    if USE_BASE:
        top = tl.full([BLOCK], -float("inf"), dtype=tl.float32)
        for s in tl.static_range(N_SRCS):
            view = _nearest_view(cents_ptr, n_views, cam_x, cam_y, cam_z, s, VIEWS_BLOCK).to(tl.int64)
            logit = tl.load(rgbw_ptr + (view * n + i64) * 4 + 3, mask=mask, other=0.0).to(tl.float32)
            top = tl.maximum(top, logit)
        total = tl.zeros([BLOCK], dtype=tl.float32)
        for s in tl.static_range(N_SRCS):
            view = _nearest_view(cents_ptr, n_views, cam_x, cam_y, cam_z, s, VIEWS_BLOCK).to(tl.int64)
            base = (view * n + i64) * 4
            weight = tl.exp(tl.load(rgbw_ptr + base + 3, mask=mask, other=0.0).to(tl.float32) - top)
            total += weight
            r += weight * tl.load(rgbw_ptr + base + 0, mask=mask, other=0.0).to(tl.float32)
            g += weight * tl.load(rgbw_ptr + base + 1, mask=mask, other=0.0).to(tl.float32)
            b += weight * tl.load(rgbw_ptr + base + 2, mask=mask, other=0.0).to(tl.float32)
        r, g, b = r / total, g / total, b / total
    if USE_SH:
        row = i64 * 3 * N_COEFFS
        r += _tanh(_sh_channel(sh_ptr, row, x, y, z, mask, DEGREE, ABS_SH)) * limit
        g += _tanh(_sh_channel(sh_ptr, row + N_COEFFS, x, y, z, mask, DEGREE, ABS_SH)) * limit
        b += _tanh(_sh_channel(sh_ptr, row + 2 * N_COEFFS, x, y, z, mask, DEGREE, ABS_SH)) * limit
    tl.store(out_ptr + i64 * 3 + 0, tl.minimum(tl.maximum(r, 0.0), 1.0), mask=mask)
    tl.store(out_ptr + i64 * 3 + 1, tl.minimum(tl.maximum(g, 0.0), 1.0), mask=mask)
    tl.store(out_ptr + i64 * 3 + 2, tl.minimum(tl.maximum(b, 0.0), 1.0), mask=mask)


def ibr_colour(xyz: torch.Tensor, sh: torch.Tensor | None, rgbw: torch.Tensor, cents: torch.Tensor,
               n_srcs: int, params: torch.Tensor, sh_degree: int, skip_sh: bool, skip_base: bool,
               block: int = 256) -> torch.Tensor:
    """rgb (N,3) fp32 of the 4K4D colour model, blending the ``n_srcs`` source views nearest the camera centre
    (chosen in the kernel); camera centre and SH limit come from ``params`` (kernels/params.py, on xyz's
    device); inputs keep their stored dtype (fp16 or fp32)."""
    n = xyz.shape[0]
    out = torch.empty(n, 3, dtype=torch.float32, device=xyz.device)
    if n == 0:
        return out
    n_views = int(cents.shape[0])
    use_sh = sh is not None and not skip_sh and sh_degree >= 0
    n_coeffs = sh.shape[-1] if sh is not None else 1
    sh_arg = sh.contiguous() if sh is not None else xyz
    _colour_kernel[(triton.cdiv(n, block),)](
        xyz.contiguous(), sh_arg, rgbw.contiguous(), cents.contiguous(), n_views, out, n, params,
        N_SRCS=min(int(n_srcs), n_views), VIEWS_BLOCK=triton.next_power_of_2(max(n_views, 2)),
        N_COEFFS=int(n_coeffs), DEGREE=max(0, int(sh_degree)), USE_SH=use_sh, USE_BASE=not skip_base,
        ABS_SH=bool(skip_base), BLOCK=block)
    return out
