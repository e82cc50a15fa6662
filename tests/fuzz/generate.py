"""The seeded case generator: a fixed mix of families, reproducible from (seed, count)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import families, families2, families_bake
from .cases import Case, canonical_arrays, ply_bytes
from .zipbytes import npz_bytes

FAMILIES = [  # (weight, generator)
    (3, families.npz_bytes_mutation),
    (2, families.npz_zip_lies),
    (2, families.npz_npy_lies),
    (1, families.npz_bombs_and_pickles),
    (3, families.npz_semantics),
    (2, families.npz_compact),
    (3, families2.ply_mutation),
    (2, families2.camera_mutation),
    (2, families2.rig_mutation),
    (3, families2.flag_case),
    (1, families2.special_file_case),
    (2, families2.path_file_case),
    (1, families2.job_file_case),
    (1, families_bake.bake_case),
]


def generate(seed: int, count: int) -> Iterator[Case]:
    """``count`` cases; case i depends only on (seed, i), so any sample of a run can be replayed alone."""
    weights = [w for w, _ in FAMILIES]
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        family = rng.choices([f for _, f in FAMILIES], weights)[0]
        yield family(rng, f"{index:05d}")


def write_bases(root: Path) -> None:
    """The valid model and PLY that camera, rig and flag cases read (``../base.npz``, ``../base.ply``) and the
    weights file bake cases read."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "base.npz").write_bytes(npz_bytes(canonical_arrays(np.random.default_rng(7))))
    (root / "base.ply").write_bytes(ply_bytes(np.random.default_rng(7)))
    families_bake.write_bake_weights(root)
