"""A synthetic released 4K4D model and capture dataset, for the bake's tests and benchmark.

``write_weights`` writes a ``1599.npz`` with the released key names, shapes and dtypes (spec §2.4, §3, §4.5,
§4.7, §5, §9.1): tcnn parameters and K-Planes bounds fp32 holding fp16 values, networks, BatchNorm statistics
and points fp16, index pairs and the tcnn wrappers' bounds int64, and ``epoch``. ``write_dataset`` writes a ring
of cameras (``intri.yml``/``extri.yml``), textured images, binary masks, and the same frames as H.265 videos
(foreground on black, as 4K4D's minimal dataset stores them).

    python tests/synthetic_4k4d.py OUT_DIR [--points N] [--views S] [--frames F] [--size WxH]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

GRID_PARAMS = 1_212_416
FEATURE_CONVS = {"conv0.0": (8, 3, 3, 3), "conv0.1": (8, 8, 3, 3), "conv1.0": (16, 8, 5, 5), "conv1.1": (16, 16, 3, 3),
                 "conv2.0": (32, 16, 5, 5), "conv2.1": (32, 32, 3, 3)}


def _half(rng: np.random.Generator, shape, scale: float) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float16)


def weights_arrays(n_points: int, n_frames: int, seed: int = 0, prefix: str = "sampler.") -> dict[str, np.ndarray]:
    """One sampler's arrays, as a released file stores them."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    bounds = np.array([[-0.6, -0.6, -0.9], [0.6, 0.6, 0.9]])
    out[prefix + "xyz_embedder.bounds"] = bounds.astype(np.float16).astype(np.float32)
    for name, pair in (("xy", [0, 1]), ("xz", [0, 2]), ("yz", [1, 2])):
        out[prefix + f"xyz_embedder.{name}"] = np.array(pair, dtype=np.int64)
    for kind in ("spatial", "temporal"):
        for i in range(3):
            base = prefix + f"xyz_embedder.{kind}_embedding.{i}."
            out[base + "bounds"] = np.array([[-1, -1], [1, 1]], dtype=np.int64)
            out[base + "tcnn_encoding.params"] = (rng.uniform(-0.5, 0.5, GRID_PARAMS)).astype(np.float16).astype(
                np.float32)
    for name, dims in (("geo_regressor.mlp", ((64, 32), (64, 64), (2, 64))),
                       ("ibr_regressor.rgb_mlp.mlp", ((64, 43), (1, 64))),
                       ("ibr_regressor.sh_mlp.mlp", ((64, 32), (48, 64)))):
        for i, (o, n) in enumerate(dims):
            out[prefix + f"{name}.linears.{i}.weight"] = _half(rng, (o, n), 1 / math.sqrt(n))
            out[prefix + f"{name}.linears.{i}.bias"] = _half(rng, (o,), 0.1)
    feat = prefix + "ibr_embedder.feat_reg."
    for name, shape in FEATURE_CONVS.items():
        out[feat + f"{name}.conv.weight"] = _half(rng, shape, 1 / math.sqrt(np.prod(shape[1:])))
        channels = shape[0]
        out[feat + f"{name}.bn.weight"] = (1 + _half(rng, (channels,), 0.1).astype(np.float32)).astype(np.float16)
        out[feat + f"{name}.bn.bias"] = _half(rng, (channels,), 0.1)
        out[feat + f"{name}.bn.running_mean"] = _half(rng, (channels,), 0.5)  # never used: batch statistics
        out[feat + f"{name}.bn.running_var"] = np.abs(_half(rng, (channels,), 0.5)) + np.float16(0.5)
        out[feat + f"{name}.bn.num_batches_tracked"] = np.array(1000, dtype=np.float16)
    for name, shape in (("toplayer", (32, 32, 1, 1)), ("lat1", (32, 16, 1, 1)), ("lat0", (32, 8, 1, 1)),
                        ("smooth1", (16, 32, 3, 3)), ("smooth0", (8, 32, 3, 3))):
        out[feat + f"{name}.weight"] = _half(rng, shape, 1 / math.sqrt(np.prod(shape[1:])))
        out[feat + f"{name}.bias"] = _half(rng, (shape[0],), 0.1)
    for frame in range(n_frames):
        theta = rng.uniform(0, 2 * math.pi, n_points)
        height = rng.uniform(-0.7, 0.7, n_points)
        radius = 0.3 + 0.02 * math.sin(frame)
        out[prefix + f"pcds.{frame}"] = np.stack([radius * np.cos(theta), radius * np.sin(theta), height],
                                                 1).astype(np.float16)
    return out


def write_weights(path: Path, n_points: int = 2000, n_frames: int = 3, seed: int = 0) -> Path:
    arrays = weights_arrays(n_points, n_frames, seed)
    arrays["epoch"] = np.array(1599)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def ring_cameras(n_views: int, width: int, height: int) -> list[dict]:
    """Cameras on a ring of radius 2.5 m around the z axis, looking at the origin (OpenCV, z up in the world)."""
    cameras = []
    for i in range(n_views):
        angle = 2 * math.pi * i / n_views
        eye = np.array([2.5 * math.cos(angle), 2.5 * math.sin(angle), 0.3])
        forward = -eye / np.linalg.norm(eye)
        right = np.cross(forward, [0, 0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        R = np.stack([right, down, forward])
        T = -R @ eye
        f = 1.1 * height
        K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]])
        cameras.append({"name": f"{i:02d}", "K": K, "R": R, "T": T, "W": width, "H": height})
    return cameras


def _rodrigues(R: np.ndarray) -> np.ndarray:
    """Axis-angle vector of a rotation matrix, through its quaternion (stable at every angle)."""
    trace = np.trace(R)
    if trace > max(R[0, 0], R[1, 1], R[2, 2]):
        w = math.sqrt(1 + trace) / 2
        v = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (4 * w)
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = math.sqrt(1 + R[i, i] - R[j, j] - R[k, k]) * 2
        v = np.zeros(3)
        v[i], v[j], v[k] = s / 4, (R[j, i] + R[i, j]) / s, (R[k, i] + R[i, k]) / s
        w = (R[k, j] - R[j, k]) / s
    norm = float(np.linalg.norm(v))
    return np.zeros(3) if norm < 1e-12 else v / norm * 2 * math.atan2(norm, w)


def _matrix(name: str, array: np.ndarray) -> str:
    rows, cols = (array.shape + (1,))[:2] if array.ndim == 1 else array.shape
    data = ", ".join(f"{v:.10g}" for v in array.ravel())
    return f"{name}: !!opencv-matrix\n  rows: {rows}\n  cols: {cols}\n  dt: d\n  data: [{data}]\n"


def write_dataset(root: Path, n_views: int = 6, n_frames: int = 3, size: tuple[int, int] = (96, 128),
                  videos: bool = True, seed: int = 1, full_mask: bool = False, image_ext: str = ".png") -> Path:
    """images/<cam>/<frame:06d>.png, masks/<cam>/<frame:06d>.png, intri.yml, extri.yml and (``videos``)
    videos_libx265/<cam>.mp4 of the masked images."""
    from PIL import Image

    width, height = size
    rng = np.random.default_rng(seed)
    cameras = ring_cameras(n_views, width, height)
    names = "".join(f'  - "{c["name"]}"\n' for c in cameras)
    intri = "%YAML:1.0\n---\nnames:\n" + names
    extri = "%YAML:1.0\n---\nnames:\n" + names
    for c in cameras:
        intri += _matrix(f"K_{c['name']}", c["K"]) + f"H_{c['name']}: {height}\nW_{c['name']}: {width}\n"
        intri += _matrix(f"D_{c['name']}", np.zeros(5))
        extri += _matrix(f"R_{c['name']}", _rodrigues(c["R"])) + _matrix(f"Rot_{c['name']}", c["R"])
        extri += _matrix(f"T_{c['name']}", c["T"])
    root.mkdir(parents=True, exist_ok=True)
    (root / "intri.yml").write_text(intri)
    (root / "extri.yml").write_text(extri)
    yy, xx = np.mgrid[0:height, 0:width]
    frames_by_camera: dict[str, list[np.ndarray]] = {}
    for c in cameras:
        for frame in range(n_frames):
            phase = rng.uniform(0, 2 * math.pi, 3)
            image = np.stack([128 + 100 * np.sin(xx / (5 + k) + yy / (7 + 2 * k) + phase[k] + frame) for k in range(3)],
                             -1).clip(0, 255).astype(np.uint8)
            mask = (((xx - width / 2) / (0.3 * width)) ** 2 + ((yy - height / 2) / (0.42 * height)) ** 2 <= 1)
            if full_mask:  # the subject's box fills the image: the largest crop, the worst case for the bake
                mask[0, 0] = mask[-1, -1] = True
            mask = (mask * 255).astype(np.uint8)
            for folder, array, ext in (("images", image, image_ext), ("masks", mask, ".png")):
                target = root / folder / c["name"] / f"{frame:06d}{ext}"
                target.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(array).save(target, **({"quality": 95} if ext == ".jpg" else {"compress_level": 1}))
            frames_by_camera.setdefault(c["name"], []).append(image * (mask[..., None] > 0))
    if videos:
        import av

        folder = root / "videos_libx265"
        folder.mkdir(exist_ok=True)
        for name, frames in frames_by_camera.items():
            with av.open(str(folder / f"{name}.mp4"), "w") as container:
                stream = container.add_stream("libx265", rate=30)
                stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
                stream.options = {"crf": "0", "x265-params": "lossless=1:log-level=error"}
                for array in frames:
                    for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--views", type=int, default=6)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--size", default="96x128")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    write_weights(args.out / "trained_model" / "4k4d_my_377" / "1599.npz", args.points, args.frames)
    write_dataset(args.out / "dataset", args.views, args.frames, (width, height))
    print(f"wrote {args.out}/trained_model/4k4d_my_377/1599.npz and {args.out}/dataset")


if __name__ == "__main__":
    main()
