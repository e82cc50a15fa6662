"""The canonical k4d-viewer model format: an ``.npz`` with a JSON ``meta`` entry and per-frame arrays.

Layout (docs/model-format.md is the user-facing description):

- ``meta``: 0-d unicode string holding JSON: ``{"format": "k4d-viewer", "version": 1, "n_frames", "colour",
  "fps", "up", "bounds", "sh_limit", "n_srcs", "title", "splat"}`` (``splat``: "blend", the 4K4D rule, or
  "opaque" for captured point clouds; optional, default "blend").
- ``frame.<i>.xyz`` (N,3), ``frame.<i>.radius`` (N,), ``frame.<i>.alpha`` (N,) for i = 0..n_frames-1.
- colour ``ibr``: ``frame.<i>.rgbw`` (S,N,4) view-major, ``frame.<i>.cents`` (S,3), optional ``frame.<i>.sh``
  (N,3,(d+1)²); ``rgb``: ``frame.<i>.rgb`` (N,3) float or uint8; ``sh``: ``frame.<i>.sh``; ``none``: nothing.
- optional capture cameras: ``cameras.names`` (C,) str, ``cameras.K`` (C,3,3), ``cameras.R`` (C,3,3),
  ``cameras.T`` (C,3), ``cameras.H`` (C,), ``cameras.W`` (C,).

Every frame is its own set of zip members, so one frame is read without touching the others.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..camera import Camera, make_camera, parse_up
from ..errors import InputError
from ..fileutil import atomic_output
from .compact import COMPACT_KEYS, decode_rgbw, decode_sh
from .frame import ColourModel, Frame, ModelInfo, compressed_note
from .npz import NpzArchive
from .validate import COLOURS, FLOATS, check_header, check_values, sh_degree_of

FORMAT_NAME = "k4d-viewer"
FORMAT_VERSION = 1
META_KEY = "meta"
CAMERA_KEYS = ("cameras.names", "cameras.K", "cameras.R", "cameras.T", "cameras.H", "cameras.W")
COLOUR_KEYS = {
    ColourModel.IBR: ("rgbw", "cents"),
    ColourModel.RGB: ("rgb",),
    ColourModel.SH: ("sh",),
    ColourModel.NONE: (),
}
OPTIONAL_KEYS = {ColourModel.IBR: ("sh", "rgbw_range", "sh_scale"), ColourModel.SH: ("sh_scale",)}
POINT_KEYS = ("xyz", "radius", "alpha")
UINT8, INT8 = np.dtype(np.uint8), np.dtype(np.int8)


def is_canonical(archive: NpzArchive) -> bool:
    return META_KEY in archive


SPLATS = ("blend", "opaque")


class CanonicalModel:
    """Reader of the canonical format. Opening reads ``meta`` and the array headers only."""

    def __init__(self, archive: NpzArchive) -> None:
        self.archive = archive
        meta = _read_meta(archive)
        self._colour = ColourModel(meta["colour"])
        n_frames = meta["n_frames"]
        stored = sum(1 for key in archive.keys() if key.startswith("frame.") and key.endswith(".xyz"))
        if n_frames > stored:  # checked before any per-frame loop: a lying count must not cost time or memory
            raise InputError(archive.path, f"missing: meta says n_frames = {n_frames} but the file holds "
                             f"{stored} frames' points", key=f"frame.{stored}.xyz")
        self._check_keys(n_frames)
        self._any_sh = any(key.endswith(".sh") for key in archive.keys())
        points, sizes = [], []
        shared: dict[str, int] = {}
        for index in range(n_frames):
            points.append(self._check_frame_headers(index, shared)["N"])
            sizes.append(sum(archive.header(k).nbytes for k in self._frame_keys(index)))
        sh_degree, n_views = shared.get("degree", -1), shared.get("S", 0)
        bounds = meta.get("bounds")
        self.info = ModelInfo(
            path=archive.path, kind="k4d-viewer canonical", colour=self._colour, points_per_frame=points,
            bytes_per_frame=sizes, frame_labels=list(range(n_frames)), n_views=n_views, sh_degree=sh_degree,
            sh_limit=meta["sh_limit"], n_srcs=meta["n_srcs"], fps=meta["fps"], up=meta["up"],
            bounds=None if bounds is None else (np.array(bounds[0]), np.array(bounds[1])),
            cameras=self._read_cameras(), compressed=archive.is_compressed(), splat=meta["splat"],
        )
        compressed_note(self.info)

    def _frame_keys(self, index: int) -> list[str]:
        names = POINT_KEYS + COLOUR_KEYS[self._colour] + OPTIONAL_KEYS.get(self._colour, ())
        return [f"frame.{index}.{name}" for name in names if f"frame.{index}.{name}" in self.archive]

    def _check_keys(self, n_frames: int) -> None:
        allowed = {META_KEY, *CAMERA_KEYS}
        for index in range(n_frames):
            names = POINT_KEYS + COLOUR_KEYS[self._colour] + OPTIONAL_KEYS.get(self._colour, ())
            allowed.update(f"frame.{index}.{name}" for name in names)
        for key in self.archive.keys():
            if key in allowed:
                continue
            parts = key.split(".")
            if parts[0] == "frame" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) >= n_frames:
                raise InputError(self.archive.path, f"belongs to frame {parts[1]} but meta says n_frames = "
                                 f"{n_frames}", key=key)
            raise InputError(self.archive.path, f"unknown key for colour model '{self._colour.value}'", key=key)
        for index in range(n_frames):
            for name in POINT_KEYS + COLOUR_KEYS[self._colour]:
                if f"frame.{index}.{name}" not in self.archive:
                    raise InputError(self.archive.path, f"missing (meta says n_frames = {n_frames})",
                                     key=f"frame.{index}.{name}")

    def _check_frame_headers(self, index: int, shared: dict[str, int]) -> dict[str, int]:
        """Check frame ``index``'s headers; ``shared`` carries S and the SH degree across frames."""
        dims: dict[str, int] = {"S": shared["S"]} if "S" in shared else {}
        prefix = f"frame.{index}."
        check_header(self.archive, prefix + "xyz", [("N", 3)], dims)
        if dims["N"] == 0:
            raise InputError(self.archive.path, "has 0 points (every frame needs at least one)", key=prefix + "xyz")
        check_header(self.archive, prefix + "radius", [("N",), ("N", 1)], dims)
        check_header(self.archive, prefix + "alpha", [("N",), ("N", 1)], dims)
        if self._colour is ColourModel.RGB:
            check_header(self.archive, prefix + "rgb", [("N", 3)], dims, COLOURS)
        if self._colour is ColourModel.IBR:
            header = check_header(self.archive, prefix + "rgbw", [("S", "N", 4)], dims, FLOATS + (UINT8,))
            if header.dtype == UINT8:  # compact colours: the logits' range beside them
                self._require(prefix + "rgbw_range", "compact (uint8) rgbw")
                check_header(self.archive, prefix + "rgbw_range", [(2,)], dims)
            check_header(self.archive, prefix + "cents", [("S", 3)], dims)
            if dims["S"] == 0:
                raise InputError(self.archive.path, "has 0 source views", key=prefix + "rgbw")
            shared["S"] = dims["S"]
        if prefix + "sh" in self.archive:
            header = check_header(self.archive, prefix + "sh", [("N", 3, "C")], dims, FLOATS + (INT8,))
            if header.dtype == INT8:  # compact SH: one scale per point
                self._require(prefix + "sh_scale", "compact (int8) sh")
                check_header(self.archive, prefix + "sh_scale", [("N",)], dims)
            degree = sh_degree_of(self.archive, prefix + "sh", header.shape[-1])
            if shared.setdefault("degree", degree) != degree:
                raise InputError(self.archive.path, f"has SH degree {degree} but frame 0 has degree "
                                 f"{shared['degree']}", key=prefix + "sh")
        elif self._colour is ColourModel.IBR and self._any_sh:
            raise InputError(self.archive.path, "missing (other frames have an SH residual)", key=prefix + "sh")
        return dims

    def _require(self, key: str, what: str) -> None:
        if key not in self.archive:
            raise InputError(self.archive.path, f"missing (needed with {what})", key=key)

    def _read_cameras(self) -> list[Camera]:
        present = [k for k in CAMERA_KEYS if k in self.archive]
        if not present:
            return []
        if len(present) != len(CAMERA_KEYS):
            missing = next(k for k in CAMERA_KEYS if k not in self.archive)
            raise InputError(self.archive.path, "missing (camera keys must come together)", key=missing)
        dims: dict[str, int] = {}
        ints = (np.dtype(np.int32), np.dtype(np.int64)) + FLOATS
        check_header(self.archive, "cameras.K", [("C", 3, 3)], dims)
        check_header(self.archive, "cameras.R", [("C", 3, 3)], dims)
        check_header(self.archive, "cameras.T", [("C", 3), ("C", 3, 1)], dims)
        check_header(self.archive, "cameras.H", [("C",)], dims, ints)
        check_header(self.archive, "cameras.W", [("C",)], dims, ints)
        header = self.archive.header("cameras.names")
        if header.dtype.kind != "U" or header.shape != (dims["C"],):
            raise InputError(self.archive.path, f"must be a unicode string array of shape ({dims['C']},)",
                             key="cameras.names")
        names, K, R, T, H, W = (self.archive.read(k) for k in CAMERA_KEYS)
        return [make_camera(K[i], R[i], T[i], int(W[i]), int(H[i]), name=str(names[i]),
                            where=f"{self.archive.path}: key 'cameras.*'") for i in range(dims["C"])]

    @property
    def reads_views(self) -> bool:
        """Whether ``read_frame`` can read a subset of the source views (IBR colour)."""
        return self._colour is ColourModel.IBR

    def read_cents(self, index: int) -> np.ndarray:
        """Frame ``index``'s source-camera centres (S, 3): a few hundred bytes, to choose views to read."""
        self._check_index(index)
        cents = self.archive.read(f"frame.{index}.cents")
        check_values(self.archive, f"frame.{index}.cents", cents)
        return cents

    def stored_bytes(self, index: int, views: list[int] | None = None) -> int:
        """Bytes ``read_frame(index, views)`` reads from the file (array data)."""
        total = 0
        for key in self._frame_keys(index):
            nbytes = self.archive.header(key).nbytes
            if views is not None and self.reads_views and key.endswith((".rgbw", ".cents")):
                nbytes = nbytes * len(views) // max(self.archive.header(key).shape[0], 1)
            total += nbytes
        return total

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.info.n_frames:
            raise InputError(self.archive.path, f"has no frame {index} (frames 0..{self.info.n_frames - 1})")

    def read_frame(self, index: int, views: list[int] | None = None) -> Frame:
        """Frame ``index``; with ``views`` (IBR colour), only those source views' colours and centres are read
        from disk, in that order (the view-major block keeps each view contiguous)."""
        self._check_index(index)
        prefix = f"frame.{index}."
        arrays: dict[str, Any] = {}
        subset = views is not None and self.reads_views
        keys = self._frame_keys(index)
        rows = {prefix + "rgbw": list(views)} if subset else {}  # members read by rows: the chosen views only
        self.archive.will_need([span for key in keys for span in self.archive.ranges(key, rows.get(key))])
        for key in keys:
            name = key[len(prefix):]
            if key in rows:
                array = self.archive.read_rows(key, rows[key])
            elif subset and name == "cents":
                array = self.archive.read(key)[list(views)]
            else:
                array = self.archive.read(key)
            check_values(self.archive, key, array, nonnegative=name == "radius",
                         unit_interval=name == "alpha")
            if name in ("radius", "alpha"):
                array = array.reshape(-1)
            if name == "rgb" and array.dtype == np.uint8:
                array = array.astype(np.float32) / 255.0
            arrays[name] = array
        if arrays.get("rgbw") is not None and arrays["rgbw"].dtype == np.uint8:
            arrays["rgbw"] = self._decoded(decode_rgbw(arrays["rgbw"], arrays["rgbw_range"]), prefix + "rgbw_range")
        if arrays.get("sh") is not None and arrays["sh"].dtype == np.int8:
            arrays["sh"] = self._decoded(decode_sh(arrays["sh"], arrays["sh_scale"]), prefix + "sh_scale")
        for name in COMPACT_KEYS:
            arrays.pop(name, None)
        return Frame(**{name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in arrays.items()})

    def _decoded(self, array: np.ndarray, key: str) -> np.ndarray:
        """A compact array decoded to float16: a range or scale too large for float16 overflows it."""
        try:
            check_values(self.archive, key, array)
        except InputError:
            raise InputError(self.archive.path, "decodes to values beyond float16's range (Inf)", key=key) from None
        return array

    def close(self) -> None:
        self.archive.close()


def _read_meta(archive: NpzArchive) -> dict[str, Any]:
    header = archive.header(META_KEY)
    if header.dtype.kind != "U" or header.shape != ():
        raise InputError(archive.path, "must be a 0-d unicode string holding JSON", key=META_KEY)
    try:
        meta = json.loads(str(archive.read(META_KEY)))
    except json.JSONDecodeError as exc:
        raise InputError(archive.path, f"is not valid JSON ({exc.msg})", key=META_KEY) from None
    except (RecursionError, ValueError):
        raise InputError(archive.path, "is not valid JSON (nested too deeply, or a number too long)",
                         key=META_KEY) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise InputError(archive.path, f"does not declare \"format\": \"{FORMAT_NAME}\"", key=META_KEY)
    if meta.get("version") != FORMAT_VERSION:
        raise InputError(archive.path, f"has format version {meta.get('version')!r}; this k4d-viewer reads "
                         f"version {FORMAT_VERSION}", key=META_KEY)

    def field(name: str, kind: type | tuple[type, ...], default: Any = None, ok: Any = lambda v: True) -> Any:
        value = meta.get(name, default)
        if value is None and name in ("bounds", "title"):  # the optional fields
            return None
        if isinstance(value, bool) or not isinstance(value, kind) or not ok(value):
            raise InputError(archive.path, f"field '{name}' is invalid ({value!r})", key=META_KEY)
        return value

    out = {
        "n_frames": field("n_frames", int, -1, lambda v: v >= 1),
        "colour": field("colour", str, "", lambda v: v in {c.value for c in ColourModel}),
        "fps": float(field("fps", (int, float), 30.0, lambda v: 0 < v <= 1000)),
        "sh_limit": float(field("sh_limit", (int, float), 1.0, lambda v: v >= 0)),
        "n_srcs": field("n_srcs", int, 4, lambda v: v >= 1),
        "bounds": field("bounds", list, None, _valid_bounds),
        "title": field("title", str, None),
        "splat": field("splat", str, "blend", lambda v: v in SPLATS),
    }
    try:
        out["up"] = parse_up(field("up", str, "+y"))
    except ValueError as exc:
        raise InputError(archive.path, f"field 'up': {exc}", key=META_KEY) from None
    return out


def _valid_bounds(value: Any) -> bool:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return array.shape == (2, 3) and bool(np.isfinite(array).all()) and bool((array[1] >= array[0]).all())


def save_canonical(path: str | Path, frames: Iterable[Mapping[str, np.ndarray]], *, colour: ColourModel | str,
                   fps: float = 30.0, up: str = "+y", bounds: tuple[np.ndarray, np.ndarray] | None = None,
                   sh_limit: float = 1.0, n_srcs: int = 4, cameras: list[Camera] | None = None,
                   title: str | None = None, compress: bool = False, splat: str = "blend") -> int:
    """Write a canonical model, streaming frames one at a time; returns the number of frames.

    Each frame is a mapping with ``xyz``, ``radius``, ``alpha`` and the colour model's keys. The file is
    written to a temporary name beside ``path`` and renamed at the end, so a failure leaves nothing behind.
    """
    path = Path(path)
    colour = ColourModel(colour)
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    n_frames = 0
    with atomic_output(path) as tmp, zipfile.ZipFile(tmp, "w", compression=mode, allowZip64=True) as zf:
        for index, frame in enumerate(frames):
            for name in POINT_KEYS + COLOUR_KEYS[colour] + OPTIONAL_KEYS.get(colour, ()):
                if name in frame and frame[name] is not None:
                    write_npz_member(zf, f"frame.{index}.{name}", np.asarray(frame[name]))
                elif name not in OPTIONAL_KEYS.get(colour, ()):
                    raise ValueError(f"frame {index} lacks '{name}' needed by colour model {colour.value}")
            n_frames = index + 1
        if cameras:
            write_npz_member(zf, "cameras.names", np.array([c.name or f"cam{i:02d}" for i, c in enumerate(cameras)]))
            write_npz_member(zf, "cameras.K", np.stack([c.K for c in cameras]).astype(np.float32))
            write_npz_member(zf, "cameras.R", np.stack([c.R for c in cameras]).astype(np.float32))
            write_npz_member(zf, "cameras.T", np.stack([c.T for c in cameras]).astype(np.float32))
            write_npz_member(zf, "cameras.H", np.array([c.height for c in cameras], dtype=np.int32))
            write_npz_member(zf, "cameras.W", np.array([c.width for c in cameras], dtype=np.int32))
        meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "n_frames": n_frames, "colour": colour.value,
                "fps": fps, "up": parse_up(up), "sh_limit": sh_limit, "n_srcs": n_srcs}
        if bounds is not None:
            meta["bounds"] = [np.asarray(b, np.float64).tolist() for b in bounds]
        if title:
            meta["title"] = title
        if splat != "blend":
            meta["splat"] = splat
        write_npz_member(zf, META_KEY, np.array(json.dumps(meta)))
    return n_frames


def write_npz_member(zf: zipfile.ZipFile, key: str, array: np.ndarray) -> None:
    entry = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))  # fixed time: reproducible files
    entry.compress_type = zf.compression
    with zf.open(entry, "w", force_zip64=True) as fp:
        np.lib.format.write_array(fp, array if array.flags.c_contiguous else np.ascontiguousarray(array),
                                  allow_pickle=False)
