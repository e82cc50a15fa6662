"""An independent, naive bake written from the specification (shared docs/4k4d-bake.md), sharing no code with
the product: float64, one point at a time for the grid and the sampling, numpy MLPs, FeatureNet with
torch.nn.functional in float64. Slow; for tiny synthetic models (tests/synthetic_4k4d.py) only.

Covers what the synthetic dataset uses: one sampler, no distortion, ratio 1, crop to the mask box and fill.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

PRIMES = (1, 2654435761)
LEVELS, FEATURES, BASE, TABLE = 4, 8, 64, 1 << 16


def grid_feature(params: np.ndarray, x: tuple[float, float]) -> np.ndarray:
    """One 2-D point through the 4-level grid (spec §1), float64 arithmetic on uint32 cells."""
    sizes, offsets, total = [], [], 0
    for level in range(LEVELS):
        res = (BASE << level)  # scale = 64·2^l − 1, res = scale + 1
        size = min(int(math.ceil(res * res / 8) * 8), TABLE)
        sizes.append(size)
        offsets.append(total)
        total += size
    out = np.zeros(LEVELS * FEATURES)
    for level in range(LEVELS):
        scale = float((BASE << level) - 1)
        res, size = scale + 1, sizes[level]
        cells, fracs = [], []
        for d in range(2):
            p = np.float32(np.float64(scale) * np.float64(np.float32(x[d])) + 0.5)  # one rounding, as an fma
            c = math.floor(p)
            cells.append(c % (1 << 32))
            fracs.append(float(p) - c)
        value = np.zeros(FEATURES)
        for corner in range(4):
            weight, cell = 1.0, []
            for d in range(2):
                bit = (corner >> d) & 1
                cell.append((cells[d] + bit) % (1 << 32))
                weight *= fracs[d] if bit else 1 - fracs[d]
            if res * res <= size:  # dense
                entry = (cell[0] + cell[1] * int(res)) % (1 << 32) % size
            else:
                entry = ((cell[0] * PRIMES[0]) % (1 << 32) ^ (cell[1] * PRIMES[1]) % (1 << 32)) % size
            start = (offsets[level] + entry) * FEATURES
            value += weight * params[start:start + FEATURES]
        out[level * FEATURES:(level + 1) * FEATURES] = value
    return out


def kplanes(w: dict, point: np.ndarray, t: float) -> np.ndarray:
    lo, hi = w["sampler.xyz_embedder.bounds"].astype(np.float64)
    u = (point - lo) / (hi - lo)
    inputs = [(u[0], u[1]), (u[0], u[2]), (u[1], u[2]), (t, u[0]), (t, u[1]), (t, u[2])]
    names = [f"spatial_embedding.{i}" for i in range(3)] + [f"temporal_embedding.{i}" for i in range(3)]
    total = np.zeros(32)
    for name, (a, b) in zip(names, inputs):
        params = w[f"sampler.xyz_embedder.{name}.tcnn_encoding.params"].astype(np.float64)
        total += grid_feature(params, (a, b))
    return total


def mlp(w: dict, prefix: str, x: np.ndarray, count: int, hidden: str = "relu") -> np.ndarray:
    for i in range(count):
        x = x @ w[f"{prefix}.linears.{i}.weight"].astype(np.float64).T + w[f"{prefix}.linears.{i}.bias"]
        if i < count - 1:
            x = np.maximum(x, 0) if hidden == "relu" else np.logaddexp(0, x)
    return x


def feature_net(w: dict, canvas: np.ndarray) -> np.ndarray:
    """ENeRF FeatureNet on one (3, H, W) image in [0, 1], BatchNorm over this image's own statistics."""
    import torch
    import torch.nn.functional as F

    p = "sampler.ibr_embedder.feat_reg."
    t = lambda k: torch.from_numpy(w[p + k].astype(np.float64))  # noqa: E731
    x = torch.from_numpy(2 * canvas - 1)[None]
    outs = []
    for name, stride, pad in (("conv0.0", 1, 1), ("conv0.1", 1, 1), ("conv1.0", 2, 2), ("conv1.1", 1, 1),
                              ("conv2.0", 2, 2), ("conv2.1", 1, 1)):
        x = F.conv2d(x, t(f"{name}.conv.weight"), stride=stride, padding=pad)
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        var = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        x = (x - mean) / torch.sqrt(var + 1e-5) * t(f"{name}.bn.weight")[None, :, None, None] \
            + t(f"{name}.bn.bias")[None, :, None, None]
        x = torch.relu(x)
        outs.append(x)
    conv0, conv1, conv2 = outs[1], outs[3], outs[5]
    up = lambda v: F.interpolate(v, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
    feat2 = F.conv2d(conv2, t("toplayer.weight"), t("toplayer.bias"))
    feat1 = up(feat2) + F.conv2d(conv1, t("lat1.weight"), t("lat1.bias"))
    feat0 = up(feat1) + F.conv2d(conv0, t("lat0.weight"), t("lat0.bias"))
    return F.conv2d(feat0, t("smooth0.weight"), t("smooth0.bias"), padding=1)[0].numpy()


def bilinear_border(maps: np.ndarray, u: float, v: float) -> np.ndarray:
    """Sample (C, H, W) at pixel position (u, v) (centres at i + 0.5), edges clamped."""
    _, height, width = maps.shape
    x = min(max(u - 0.5, 0.0), width - 1.0)
    y = min(max(v - 0.5, 0.0), height - 1.0)
    x0, y0 = int(math.floor(x)), int(math.floor(y))
    x1, y1 = min(x0 + 1, width - 1), min(y0 + 1, height - 1)
    fx, fy = x - x0, y - y0
    return ((1 - fx) * (1 - fy) * maps[:, y0, x0] + fx * (1 - fy) * maps[:, y0, x1]
            + (1 - fx) * fy * maps[:, y1, x0] + fx * fy * maps[:, y1, x1])


def _cameras(root: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    def load(path: Path) -> dict:
        text = path.read_text().replace("%YAML:1.0\n---\n", "")
        yaml.add_constructor("tag:yaml.org,2002:opencv-matrix", lambda loader, node: np.array(
            loader.construct_mapping(node, deep=True)["data"]).reshape(
            loader.construct_mapping(node)["rows"], loader.construct_mapping(node)["cols"]), Loader=yaml.SafeLoader)
        return yaml.safe_load(text)

    intri, extri = load(root / "intri.yml"), load(root / "extri.yml")
    out = []
    for name in sorted(str(n) for n in intri["names"]):
        out.append((name, np.float32(intri[f"K_{name}"]).astype(np.float64),
                    np.float32(extri[f"Rot_{name}"]).astype(np.float64),
                    np.float32(extri[f"T_{name}"]).astype(np.float64).reshape(3)))
    return out


def bake_frame(weights_path: Path, root: Path, frame: int, t_end: int, legacy: bool = True) -> dict[str, np.ndarray]:
    """pcds, rads, occs, shs, rgbws, cents of one frame, float64."""
    with np.load(weights_path) as data:
        w = {k: data[k] for k in data.files}
    pcds = w[f"sampler.pcds.{frame}"].astype(np.float64)
    t = frame / (t_end - 1)
    feats = np.stack([kplanes(w, p, t) for p in pcds])
    raw = mlp(w, "sampler.geo_regressor.mlp", feats, 3)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    rads = sigmoid(raw[:, :1] - 5.0) * (0.015 - 0.001) + 0.001
    occs = sigmoid(raw[:, 1:2] + (0.0 if legacy else 5.0))
    shs = mlp(w, "sampler.ibr_regressor.sh_mlp.mlp", feats, 2, "relu" if legacy else "softplus").reshape(-1, 3, 16)
    views = []
    for name, K, R, T in _cameras(root):
        image = np.asarray(Image.open(root / "images" / name / f"{frame:06d}.png").convert("RGB")).astype(np.float64)
        mask = np.asarray(Image.open(root / "masks" / name / f"{frame:06d}.png").convert("L")).astype(np.float64)
        rows, cols = np.nonzero(mask > 128)
        y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        crop = np.floor(image[y0:y1, x0:x1] * mask[y0:y1, x0:x1, None] / 255)
        K = K.copy()
        K[0, 2] -= x0
        K[1, 2] -= y0
        views.append((crop / 255, K, R, T))
    height = max(v[0].shape[0] for v in views)
    width = max(v[0].shape[1] for v in views)
    hp, wp = 4 * math.ceil(height / 4), 4 * math.ceil(width / 4)
    rgbws = np.zeros((len(views), len(pcds), 4))
    cents = np.zeros((len(views), 3))
    for s, (crop, K, R, T) in enumerate(views):
        canvas = np.zeros((3, hp, wp))
        canvas[:, :crop.shape[0], :crop.shape[1]] = crop.transpose(2, 0, 1)
        maps = np.concatenate([feature_net(w, canvas), canvas])
        for n, point in enumerate(pcds):
            uvw = K @ (R @ point + T)
            sample = bilinear_border(maps, uvw[0] / (uvw[2] + 1e-8), uvw[1] / (uvw[2] + 1e-8))
            logit = mlp(w, "sampler.ibr_regressor.rgb_mlp.mlp", np.concatenate([feats[n], sample]), 2)
            rgbws[s, n] = [*sample[8:11], logit[0]]
        cents[s] = -R.T @ T
    return {"pcds": pcds, "rads": rads, "occs": occs, "shs": shs, "rgbws": rgbws, "cents": cents}
