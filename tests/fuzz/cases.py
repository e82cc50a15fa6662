"""A seeded generator of hostile inputs for every input kind the CLI reads, and the commands that read them.

Each case is a folder holding its input files and an argv for ``k4d-viewer``; ``expect`` is ``"error"`` where
the input is malformed for certain (the run must end in the one-line error) and ``"any"`` where a mutation may
be harmless (a flipped bit in a float is still a float): then success is fine too, but never a traceback.
"""

from __future__ import annotations

import json
import os
import pickle
import random
from dataclasses import dataclass, field

import numpy as np

PICKLE_MARKER = "PICKLE_EXECUTED"
RENDER = ["--size", "24x16", "--device", "cpu"]


@dataclass
class Case:
    id: str
    kind: str
    argv: list[str]
    expect: str = "error"           # "error" or "any"
    output: str | None = None       # the output path the command was asked to write (must not be left behind)
    notes: str = ""
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    special: str | None = None      # "fifo", "devzero", "socket", "dir": made by materialise()


# -- valid bases ---------------------------------------------------------------------------------------------

def _frame(rng: np.random.Generator, n: int, views: int = 4, degree: int = 1) -> dict[str, np.ndarray]:
    angles = np.linspace(0, 2 * np.pi, views, endpoint=False)
    return {
        "xyz": (rng.normal(size=(n, 3)) * 0.3).astype(np.float16),
        "radius": rng.uniform(0.01, 0.03, n).astype(np.float16),
        "alpha": rng.uniform(0.1, 1, n).astype(np.float16),
        "rgbw": np.concatenate([rng.uniform(0, 1, (views, n, 3)), rng.normal(size=(views, n, 1))], -1)
        .astype(np.float16),
        "cents": np.stack([3 * np.cos(angles), 3 * np.sin(angles), np.zeros(views)], 1).astype(np.float16),
        "sh": (rng.normal(size=(n, 3, (degree + 1) ** 2)) * 0.2).astype(np.float16),
    }


def canonical_arrays(rng: np.random.Generator, frames: int = 2, n: int = 40) -> dict[str, np.ndarray]:
    arrays = {}
    for index in range(frames):
        arrays.update({f"frame.{index}.{k}": v for k, v in _frame(rng, n + index).items()})
    arrays["meta"] = np.array(json.dumps({"format": "k4d-viewer", "version": 1, "n_frames": frames,
                                          "colour": "ibr", "fps": 30, "up": "+z"}))
    return arrays


def runtime_arrays(rng: np.random.Generator, slots: int = 2, n: int = 40) -> dict[str, np.ndarray]:
    names = {"xyz": "pcds", "radius": "rads", "alpha": "occs", "rgbw": "rgbws", "cents": "cents", "sh": "shs"}
    arrays = {}
    for slot in range(slots):
        for key, value in _frame(rng, n).items():
            if key in ("radius", "alpha"):
                value = value[:, None]
            arrays[f"sampler.{names[key]}.{slot}"] = value
    return arrays


def ply_bytes(rng: np.random.Generator, n: int = 60, fmt: str = "binary_little_endian", colour: str = "uchar",
              coord: str = "float") -> bytes:
    xyz = rng.normal(size=(n, 3)) * 300 + 500
    rgb = rng.integers(0, 255, (n, 3))
    props = [f"property {coord} {a}" for a in "xyz"] + [f"property {colour} {c}" for c in ("red", "green", "blue")]
    header = "\n".join(["ply", f"format {fmt} 1.0", f"element vertex {n}", *props, "end_header"]) + "\n"
    if fmt == "ascii":
        body = "".join(" ".join(map(str, [*p, *c])) + "\n" for p, c in zip(xyz.round(3), rgb)).encode()
        return header.encode() + body
    order = "<" if fmt == "binary_little_endian" else ">"
    ctype = {"float": "f4", "double": "f8", "uchar": "u1", "ushort": "u2", "int": "i4"}
    dtype = np.dtype([(a, order + ctype[coord]) for a in "xyz"] + [(c, order + ctype[colour])
                                                                     for c in ("red", "green", "blue")])
    rows = np.zeros(n, dtype)
    for i, a in enumerate("xyz"):
        rows[a] = xyz[:, i]
    for i, c in enumerate(("red", "green", "blue")):
        rows[c] = rgb[:, i]
    return header.encode() + rows.tobytes()


def camera_dict(rng: np.random.Generator) -> dict:
    return {"H": 16, "W": 24, "K": [[20.0, 0, 12], [0, 20.0, 8], [0, 0, 1]],
            "R": [[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]], "T": [0.0, 0.0, 3.0], "n": 0.1, "f": 50.0}


RIG_INTRI = """%YAML:1.0
---
names:
  - "00"
K_00: !!opencv-matrix
  rows: 3
  cols: 3
  dt: d
  data: [ 20.0, 0.0, 12.0, 0.0, 20.0, 8.0, 0.0, 0.0, 1.0 ]
H_00: 16
W_00: 24
"""
RIG_EXTRI = """%YAML:1.0
---
names:
  - "00"
Rot_00: !!opencv-matrix
  rows: 3
  cols: 3
  dt: d
  data: [ 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0 ]
T_00: !!opencv-matrix
  rows: 3
  cols: 1
  dt: d
  data: [ 0.0, 0.0, 3.0 ]
"""


# -- generic mutations -------------------------------------------------------------------------------------

def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[:rng.randrange(0, max(len(data) - 1, 1))]


def flip_bits(rng: random.Random, data: bytes, count: int | None = None) -> bytes:
    out = bytearray(data)
    for _ in range(count or rng.randint(1, 16)):
        at = rng.randrange(len(out))
        out[at] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    at = rng.randrange(len(out))
    chunk = rng.choice([b"\xff" * 8, b"\x00" * 8, b"\x7f\xff\xff\xff", os.urandom(rng.randint(1, 32))])
    out[at:at + len(chunk)] = chunk
    return bytes(out)


class _Payload:
    """Pickles to a call that would create the marker folder if anything ever unpickled it."""

    def __reduce__(self):
        return (os.mkdir, (PICKLE_MARKER,))


def pickled_object_array() -> np.ndarray:
    array = np.empty(3, dtype=object)
    array[:] = [_Payload(), _Payload(), _Payload()]
    return array


def pickled_member_bytes() -> bytes:
    """A .npy member holding a pickle (object array)."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, pickled_object_array(), allow_pickle=True)
    return buffer.getvalue()


def raw_pickle_file() -> bytes:
    return pickle.dumps(_Payload())
