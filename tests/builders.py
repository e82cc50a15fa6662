"""Small synthetic models and cameras for tests: random 4K4D-style scenes and files in each format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from k4d_viewer.camera import Camera
from k4d_viewer.model import save_canonical


def random_frame(n: int = 300, views: int = 6, degree: int = 3, seed: int = 0, centre=(0.0, 0.0, 0.0),
                 spread: float = 0.4, radius=(0.005, 0.03)) -> dict[str, np.ndarray]:
    """A 4K4D runtime frame: points in a ball, radii 5-30 mm, ring of source cameras (fp16 like 4K4D)."""
    rng = np.random.default_rng(seed)
    xyz = rng.normal(size=(n, 3)) * spread + np.asarray(centre)
    angles = np.linspace(0, 2 * np.pi, views, endpoint=False)
    cents = np.stack([3 * np.cos(angles), 3 * np.sin(angles), 0.3 * np.ones(views)], 1)
    return {
        "pcds": xyz.astype(np.float16),
        "rads": rng.uniform(*radius, size=(n, 1)).astype(np.float16),
        "occs": rng.uniform(0.05, 1.0, size=(n, 1)).astype(np.float16),
        "cents": cents.astype(np.float16),
        "shs": (rng.normal(size=(n, 3, (degree + 1) ** 2)) * 0.3).astype(np.float16),
        "rgbws": np.concatenate([rng.uniform(0, 1, size=(views, n, 3)), rng.normal(size=(views, n, 1)) * 2],
                                -1).astype(np.float16),
    }


def write_runtime_npz(path: Path, frames: dict[int, dict[str, np.ndarray]], prefix: str = "sampler.",
                      none_slots: tuple[int, ...] = (), compressed: bool = True, extra=None) -> Path:
    """Write a 4K4D runtime file: ``frames`` maps slot -> arrays; ``none_slots`` get None placeholders."""
    arrays = {}
    for slot, frame in frames.items():
        for name, value in frame.items():
            arrays[f"{prefix}{name}.{slot}"] = value
    for slot in none_slots:
        for name in ("pcds", "rads", "occs", "cents", "shs", "rgbws"):
            arrays[f"{prefix}{name}.{slot}"] = np.array(None, dtype=object)
    arrays.update(extra or {})
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


def canonical_frames(count: int = 3, n: int = 200, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Frames for the canonical writer (ibr colour) with point counts that differ per frame."""
    out = []
    for index in range(count):
        raw = random_frame(n + 17 * index, seed=seed + index)
        out.append({"xyz": raw["pcds"], "radius": raw["rads"][:, 0], "alpha": raw["occs"][:, 0],
                    "rgbw": raw["rgbws"], "cents": raw["cents"], "sh": raw["shs"]})
    return out


def write_canonical(path: Path, count: int = 3, **kwargs) -> Path:
    save_canonical(path, canonical_frames(count), colour="ibr", **kwargs)
    return path


def camera_looking_at_origin(width: int = 64, height: int = 48, distance: float = 2.5) -> Camera:
    """A camera on the -y side of the origin, z up (like a 4K4D world)."""
    return Camera.look_at(np.array([0.3, -distance, 0.4]), np.zeros(3), np.array([0, 0, 1.0]), width, height,
                          fov_y_deg=50.0, near=0.1, far=20.0)


def canonical_arrays(count: int = 2, n: int = 50) -> dict[str, np.ndarray]:
    """The raw key -> array dict of a valid canonical ibr model, for tests that break one thing."""
    import json

    arrays: dict[str, np.ndarray] = {}
    for index, frame in enumerate(canonical_frames(count, n)):
        arrays.update({f"frame.{index}.{k}": v for k, v in frame.items()})
    meta = {"format": "k4d-viewer", "version": 1, "n_frames": count, "colour": "ibr", "fps": 30, "up": "+z"}
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays
