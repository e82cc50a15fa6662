"""An independent, deliberately naive implementation of reference §2 (colour) and §4 (rasterization).

Float64, per-point and per-pixel Python loops, written from the reference text without sharing code with
the package, so the package's vectorised renderers can be checked against it.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np


def sh_value(c: np.ndarray, x: float, y: float, z: float) -> float:
    """Σ_k c_k · Y_k(x, y, z) for one channel, term by term as the reference lists them."""
    terms = [0.28209479177387814]
    if len(c) > 1:
        terms += [-0.4886025119029199 * y, 0.4886025119029199 * z, -0.4886025119029199 * x]
    if len(c) > 4:
        terms += [1.0925484305920792 * x * y, -1.0925484305920792 * y * z,
                  0.31539156525252005 * (2 * z * z - x * x - y * y), -1.0925484305920792 * x * z,
                  0.5462742152960396 * (x * x - y * y)]
    if len(c) > 9:
        terms += [-0.5900435899266435 * y * (3 * x * x - y * y), 2.890611442640554 * x * y * z,
                  -0.4570457994644658 * y * (4 * z * z - x * x - y * y),
                  0.3731763325901154 * z * (2 * z * z - 3 * x * x - 3 * y * y),
                  -0.4570457994644658 * x * (4 * z * z - x * x - y * y),
                  1.445305721320277 * z * (x * x - y * y), -0.5900435899266435 * x * (x * x - 3 * y * y)]
    return sum(ck * t for ck, t in zip(c, terms))


def colours(xyz, rgbws, cents, shs, centre, n_srcs=4, limit=1.0) -> np.ndarray:
    xyz, rgbws, cents, shs = (np.asarray(a, np.float64) for a in (xyz, rgbws, cents, shs))
    closeness = [1.0 / max(float(np.sum((c - centre) ** 2)), 1e-10) for c in cents]
    chosen = sorted(range(len(cents)), key=lambda s: -closeness[s])[:n_srcs]
    out = np.zeros((len(xyz), 3))
    for n in range(len(xyz)):
        logits = [rgbws[s, n, 3] for s in chosen]
        top = max(logits)
        weights = [math.exp(w - top) for w in logits]
        base = sum(w * rgbws[s, n, :3] for w, s in zip(weights, chosen)) / sum(weights)
        d = xyz[n] - centre
        d = d / math.sqrt(float(d @ d))
        residual = np.array([math.tanh(sh_value(shs[n, ch], *d)) * limit for ch in range(3)])
        out[n] = np.clip(base + residual, 0, 1)
    return out


def rasterize(xyz, rgb, radius, alpha, K, R, T, width, height, near, far, layers=11, bg=(0, 0, 0)):
    """Returns (rgb (H,W,3), alpha (H,W)) by explicit per-pixel fragment lists."""
    xyz, radius, alpha = np.asarray(xyz, np.float64), np.ravel(radius).astype(np.float64), np.ravel(alpha)
    fragments = defaultdict(list)
    for n in range(len(xyz)):
        if alpha[n] <= 1e-4:
            continue
        cx, cy, cz = R @ xyz[n] + T
        if not near <= cz <= far:
            continue
        u, v = (K[0, 0] * cx + K[0, 1] * cy) / cz + K[0, 2], K[1, 1] * cy / cz + K[1, 2]
        if not (0 <= u <= width and 0 <= v <= height):
            continue
        r_pix = max(K[1, 1] * radius[n] / cz, 0.5)
        for py in range(max(0, int(v - r_pix) - 1), min(height, int(v + r_pix) + 2)):
            for px in range(max(0, int(u - r_pix) - 1), min(width, int(u + r_pix) + 2)):
                d2 = (px + 0.5 - u) ** 2 + (py + 0.5 - v) ** 2
                if d2 < r_pix ** 2:
                    fragments[py, px].append((cz, n, alpha[n] * (1 - d2 / r_pix ** 2)))
    image = np.zeros((height, width, 3)) + np.asarray(bg, np.float64)
    acc = np.zeros((height, width))
    for (py, px), frags in fragments.items():
        frags.sort(key=lambda f: (f[0], f[1]))
        colour, transmittance, taken, last_z = np.zeros(3), 1.0, 0, None
        for z, n, a in frags:
            if taken == layers:
                break
            if z == last_z:
                continue
            colour += rgb[n] * a * transmittance
            transmittance *= 1 - a
            taken, last_z = taken + 1, z
        image[py, px] = colour + np.asarray(bg) * transmittance
        acc[py, px] = 1 - transmittance
    return image, acc
