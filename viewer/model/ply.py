"""Point-cloud sequences from PLY files (one file per frame): read lazily, sized and coloured for rendering.

Captured point clouds have no radii: a point's disc radius is estimated from its neighbourhood (the distance to
its 8th nearest neighbour, through scipy's cKDTree, capped for isolated points) so surfaces render closed; such
models prefer opaque splats (4K4D's solid mode). Units (metres, centimetres,
millimetres, voxel grids) and the up axis are detected from the first frame unless given.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..camera import parse_up
from ..errors import InputError
from .frame import ColourModel, Frame, ModelInfo

HUMAN_HEIGHT = 1.8          # metres: what a voxel grid of unknown size is scaled to
NEIGHBOURS = 8              # radius = distance to this nearest neighbour: on a grid the diagonal one
DEFAULT_RADIUS_SCALE = 1.0  # × that distance (opaque discs are drawn at 0.85 of it, 4K4D's solid factor)
OUTLIER_CAP = 2.0           # no radius above this × the median radius of the point's neighbours
ISOLATED = 4.0              # a point this many times farther from its neighbours than usual is a stray one
UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_COLOUR_NAMES = (("red", "green", "blue"), ("r", "g", "b"), ("diffuse_red", "diffuse_green", "diffuse_blue"))


def is_ply_input(path: str | Path) -> bool:
    text = str(path)
    return Path(text).is_dir() or any(c in text for c in "*?[") or text.lower().endswith(".ply")


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """PLY files from paths, folders (every *.ply inside) and glob patterns, in natural order per input."""
    files: list[Path] = []
    for item in inputs:
        text = str(item)
        if Path(text).is_dir():
            found = sorted(Path(text).glob("*.ply"), key=_natural_key) + sorted(Path(text).glob("*.PLY"),
                                                                               key=_natural_key)
            if not found:
                raise InputError(text, "folder holds no .ply files")
            files += found
        elif any(c in text for c in "*?["):
            found = sorted((Path(p) for p in glob.glob(text)), key=_natural_key)
            if not found:
                raise InputError(text, "matches no files")
            files += found
        else:
            if not Path(text).is_file():
                raise InputError(text, "no such file")
            files.append(Path(text))
    return files


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


_PLY_TYPES = {"char": 1, "int8": 1, "uchar": 1, "uint8": 1, "short": 2, "int16": 2, "ushort": 2, "uint16": 2,
              "int": 4, "int32": 4, "uint": 4, "uint32": 4, "float": 4, "float32": 4, "double": 8, "float64": 8}
MAX_HEADER_LINES = 10_000
MAX_VERTICES = 1 << 31  # 2 G points a frame: beyond any capture, and what int32 indices reach
MAX_COORDINATE = 1e9    # in file units: micrometres across a kilometre still fit; beyond is corrupt data


@dataclass
class PlyHeader:
    vertex_count: int
    properties: list[str]
    format: str
    header_bytes: int = 0


def read_header(path: Path) -> PlyHeader:
    """Vertex count and property names from the header alone, checked against the file's size.

    Counts are validated before anything is allocated: a binary body must be exactly as long as its elements'
    fixed-size rows say (lists excepted, which only bound it from below), an ASCII body must hold at least one
    byte per value. A header that lies about counts or types is refused here, not discovered as garbage later.
    """
    from ..fileutil import check_regular_file

    path = check_regular_file(path, "PLY file")
    try:
        with open(path, "rb") as fp:
            if fp.read(4).rstrip(b"\r\n") != b"ply":
                raise InputError(path, "line 1: not a PLY file (it does not start with 'ply')")
            fp.seek(0)
            lines = []
            for number in range(1, MAX_HEADER_LINES):
                raw = fp.readline(4096)
                if not raw:
                    raise InputError(path, f"line {number}: file ends inside the header (no end_header)")
                line = raw.decode("ascii", errors="replace").strip()
                lines.append(line)
                if line == "end_header":
                    break
            else:
                raise InputError(path, f"header has no end_header in its first {MAX_HEADER_LINES} lines")
            header_bytes = fp.tell()
        body = path.stat().st_size - header_bytes
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    fmt, elements, current = "", [], None
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words:
            continue
        if words[0] == "format":
            fmt = words[1] if len(words) > 1 else ""
        elif words[0] == "element":
            try:
                count = int(words[2])
            except (IndexError, ValueError):
                raise InputError(path, f"line {number}: bad element line '{line[:80]}'") from None
            if not 0 <= count <= MAX_VERTICES:
                raise InputError(path, f"line {number}: element count {count} is outside 0..{MAX_VERTICES}")
            current = {"name": words[1], "count": count, "props": [], "row": 0, "lists": False}
            elements.append(current)
        elif words[0] == "property":
            if current is None:
                raise InputError(path, f"line {number}: property before any element")
            if len(words) >= 5 and words[1] == "list":
                if words[2] not in _PLY_TYPES or words[3] not in _PLY_TYPES:
                    raise InputError(path, f"line {number}: unknown property type in '{line[:80]}'")
                current["lists"] = True
                current["row"] += _PLY_TYPES[words[2]]  # the length prefix; items only bound the size below
            elif len(words) == 3:
                if words[1] not in _PLY_TYPES:
                    raise InputError(path, f"line {number}: unknown property type '{words[1]}'")
                current["row"] += _PLY_TYPES[words[1]]
                current["props"].append((words[2], words[1]))
            else:
                raise InputError(path, f"line {number}: bad property line '{line[:80]}'")
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise InputError(path, f"unknown PLY format '{fmt}'")
    vertex = next((e for e in elements if e["name"] == "vertex"), None)
    if vertex is None:
        raise InputError(path, "has no 'element vertex' in its header")
    names = [name for name, _ in vertex["props"]]
    for axis in "xyz":
        if axis not in names:
            raise InputError(path, f"element 'vertex' has no property '{axis}'")
    if vertex["count"] == 0:
        raise InputError(path, "element 'vertex' has 0 vertices (an empty frame)")
    _check_body_size(path, fmt, elements, body)
    return PlyHeader(vertex["count"], names, fmt, header_bytes)


def _check_body_size(path: Path, fmt: str, elements: list[dict], body: int) -> None:
    if fmt == "ascii":
        values = sum(e["count"] * max(len(e["props"]) + e["lists"], 1) for e in elements)
        if 2 * values - 1 > body:  # at least one digit and one separator per value
            raise InputError(path, f"ASCII body of {body} bytes cannot hold the {values:,} values the header "
                             "declares (truncated, or the header lies)")
        return
    need = sum(e["count"] * e["row"] for e in elements)
    if body < need:
        offset = body
        for element in elements:
            size = element["count"] * element["row"]
            if offset < size:
                raise InputError(path, f"file ends in element '{element['name']}' row {offset // element['row']} "
                                 f"(binary body of {body:,} bytes, the header needs {need:,}: truncated, or the "
                                 "header lies)")
            offset -= size
    if body > need and not any(e["lists"] for e in elements):
        raise InputError(path, f"binary body is {body:,} bytes but the header's elements need exactly {need:,} "
                         "(an ASCII body, property types that do not match the data, or trailing bytes)")


def read_points(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """(xyz (N,3) float64, rgb (N,3) float32 in [0,1] or None) of one PLY file; extra properties ignored."""
    from plyfile import PlyData, PlyParseError

    read_header(path)  # validates counts against the file before plyfile allocates anything
    try:
        vertex = PlyData.read(str(path))["vertex"]
        data = vertex.data
    except PlyParseError as exc:
        raise InputError(path, _describe_ply_error(exc)) from None
    except (OSError, ValueError, KeyError, EOFError, OverflowError, IndexError, TypeError, MemoryError,
            UnicodeDecodeError) as exc:
        raise InputError(path, f"unreadable PLY ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") \
            from None
    with np.errstate(all="ignore"):  # NaN/Inf in the file are reported below, not as warnings
        xyz = np.stack([np.asarray(data[axis], dtype=np.float64) for axis in "xyz"], axis=1)
    if not np.isfinite(xyz).all():
        row = int(np.argwhere(~np.isfinite(xyz))[0][0])
        raise InputError(path, f"element 'vertex' row {row}: coordinate is NaN or Inf")
    if (np.abs(xyz) > MAX_COORDINATE).any():
        row = int(np.argwhere(np.abs(xyz) > MAX_COORDINATE)[0][0])
        raise InputError(path, f"element 'vertex' row {row}: coordinate beyond ±{MAX_COORDINATE:g} (corrupt data?)")
    rgb = None
    names = data.dtype.names
    for triple in _COLOUR_NAMES:
        if all(name in names for name in triple):
            channels = np.stack([np.asarray(data[name]) for name in triple], axis=1)
            rgb = _normalise_colours(channels)
            break
    return xyz, rgb


def _normalise_colours(channels: np.ndarray) -> np.ndarray:
    kind = channels.dtype
    if kind == np.uint8:
        return channels.astype(np.float32) / 255.0
    if kind == np.uint16:
        return channels.astype(np.float32) / 65535.0
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.nan_to_num(channels.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
    if values.size and values.max() > 1.0:  # float colours stored 0..255
        values = values / 255.0
    return np.clip(values, 0.0, 1.0)


def _describe_ply_error(exc: Exception) -> str:
    element, row, prop = (getattr(exc, name, None) for name in ("element", "row", "prop"))
    message = getattr(exc, "message", None) or str(exc)
    message = message.splitlines()[0] if message else "parse error"
    line = getattr(exc, "line", None)
    if line is not None:
        return f"header line {line}: {message}"
    where = []
    if element is not None:
        where.append(f"element '{getattr(element, 'name', element)}'")
    if row is not None:
        where.append(f"row {row}")
    if prop is not None:
        where.append(f"property '{getattr(prop, 'name', prop)}'")
    return (" ".join(where) + ": " if where else "") + message


@dataclass(frozen=True)
class RadiusReport:
    """What ``estimate_radius`` did, for the line printed at convert / open time."""

    median: float        # metres
    p5: float
    p95: float
    capped: int          # points whose radius was held down (isolated / flying points, edges of sparse patches)
    points: int

    def describe(self, scale: float) -> str:
        capped = f"; {self.capped:,} isolated or stray points ({100 * self.capped / max(self.points, 1):.2g}%) " \
                 "held to their neighbours' size" if self.capped else ""
        return (f"point radius: {scale:g} x the distance to the {NEIGHBOURS}th nearest neighbour, median "
                f"{1000 * self.median:.2f} mm (5-95%: {1000 * self.p5:.2f}-{1000 * self.p95:.2f} mm){capped}")


def estimate_radius(xyz: np.ndarray, scale: float = DEFAULT_RADIUS_SCALE,
                    neighbours: int = NEIGHBOURS) -> tuple[np.ndarray, RadiusReport]:
    """Per-point disc radii that close the surface on any sampling, and a report of what was done.

    A point's radius is ``scale`` × the distance to its ``neighbours``-th nearest neighbour: on a regular grid
    that is the diagonal neighbour (√2 cells), so discs cover the gap to the neighbours in every direction; on
    grids coarser along one axis and on random samples it reaches the widest gap around the point; where density
    varies it follows the local density. A point far from all others (a flying pixel) would get a huge disc:
    no radius may exceed ``OUTLIER_CAP`` × the median radius of its own neighbours, and a point ``ISOLATED`` times
    farther from its neighbours than the cloud's median gets the median radius (a small dot, not a blob).
    """
    from scipy.spatial import cKDTree

    if len(xyz) <= 1:
        radius = np.full(len(xyz), 0.005, dtype=np.float32)
        return radius, RadiusReport(0.005, 0.005, 0.005, 0, len(xyz))
    k = min(neighbours, len(xyz) - 1)
    distances, index = cKDTree(xyz).query(xyz, k=k + 1, workers=-1)
    raw = distances[:, k]
    typical = float(np.median(raw))
    local = np.median(raw[index[:, 1:]], axis=1)  # the neighbours' own radii
    isolated = raw > ISOLATED * typical           # flying pixels, stray points: a typical-sized dot
    spread = raw > OUTLIER_CAP * local            # a point at the edge of a sparse patch: held to its neighbours
    radius = np.where(isolated, typical, np.minimum(raw, OUTLIER_CAP * local))
    radius = (scale * radius).astype(np.float32)
    p5, median, p95 = (float(v) for v in np.percentile(radius, [5, 50, 95]))
    return radius, RadiusReport(median, p5, p95, int((isolated | spread).sum()), len(xyz))


def detect_units(xyz: np.ndarray) -> tuple[str, float, str]:
    """(units, scale to metres, explanation) from the extent of one frame of a person-sized capture."""
    extent = float(np.max(xyz.max(0) - xyz.min(0)))
    integer_grid = bool(np.all(np.abs(xyz[:1000] - np.round(xyz[:1000])) < 1e-6))
    if integer_grid and extent > 50:
        scale = HUMAN_HEIGHT / extent
        return "voxel", scale, (f"integer voxel grid {extent:.0f} cells across: scaled to {HUMAN_HEIGHT} m "
                                f"({scale * 1000:.2f} mm per voxel; --units/--voxel-size override)")
    # a captured subject is 0.3 to 5 m across: read the extent in the unit that makes it so
    if extent < 10:
        return "m", 1.0, f"metres ({extent:.2f} m across)"
    if extent < 500:
        return "cm", 0.01, f"centimetres ({extent:.0f} units across)"
    return "mm", 0.001, f"millimetres ({extent:.0f} units across)"


def detect_up(xyz: np.ndarray) -> tuple[str, str]:
    """The axis along which a standing subject is tallest (+y or +z in practice)."""
    extent = xyz.max(0) - xyz.min(0)
    axis = int(np.argmax(extent))
    return "+" + "xyz"[axis], f"tallest along {'xyz'[axis]} ({extent[axis]:.2f} vs {np.sort(extent)[-2]:.2f})"


class PlySequenceModel:
    """A sequence of PLY frames opened directly; geometry and colour are read when a frame is drawn."""

    def __init__(self, paths: list[Path], *, up: str | None = None, units: str = "auto",
                 voxel_size: float | None = None, radius_scale: float = DEFAULT_RADIUS_SCALE,
                 fps: float = 30.0) -> None:
        if not paths:
            raise InputError(None, "no PLY frames given")
        self.paths = paths
        self.radius_scale = radius_scale
        headers = [read_header(p) for p in paths]
        notes = []
        first, _ = read_points(paths[0])
        if units == "auto":
            units, self.scale, why = detect_units(first)
            notes.append(f"units: {why}")
        elif units == "voxel":
            self.scale = voxel_size if voxel_size else HUMAN_HEIGHT / float(np.max(first.max(0) - first.min(0)))
        else:
            self.scale = UNIT_SCALES[units]
        if up is None:
            up, why = detect_up(first)
            notes.append(f"up axis: {up} ({why}; --up overrides)")
        has_colour = any(all(n in headers[0].properties for n in triple) for triple in _COLOUR_NAMES)
        if not has_colour:
            notes.append("no vertex colours: drawn in grey")
        first_m = first * self.scale
        extent = float(np.max(first_m.max(0) - first_m.min(0)))
        if units != "voxel" and not 0.1 <= extent <= 20:
            notes.append(f"warning: the subject is {extent:.3g} m across in {units}; a captured person is 0.3-5 m: "
                         "check --units")
        with np.errstate(over="ignore", invalid="ignore"):
            first32 = first_m.astype(np.float32)
        self._first_radius = None  # frame 0's radii, estimated here for the report and reused when it is read
        if np.isfinite(first32).all():  # (otherwise reading the frame says what is wrong)
            self._first_radius, report = estimate_radius(first32, radius_scale)
            notes.append(report.describe(radius_scale))
        notes.append("splats: opaque discs, nearest point wins (captures; --no-solid for 4K4D's blended discs)")
        self.info = ModelInfo(
            path=paths[0].parent if len(paths) > 1 else paths[0], kind=f"PLY sequence ({headers[0].format})",
            colour=ColourModel.RGB if has_colour else ColourModel.NONE,
            points_per_frame=[h.vertex_count for h in headers],
            bytes_per_frame=[h.vertex_count * (12 + 4 + 4 + 3) for h in headers],
            frame_labels=list(range(len(paths))), fps=fps, up=parse_up(up),
            bounds=(first_m.min(0), first_m.max(0)), notes=notes, splat="opaque")

    def read_frame(self, index: int) -> Frame:
        if not 0 <= index < len(self.paths):
            raise InputError(self.info.path, f"has no frame {index} (frames 0..{len(self.paths) - 1})")
        path = self.paths[index]
        xyz, rgb = read_points(path)
        with np.errstate(over="ignore", invalid="ignore"):
            xyz = (xyz * self.scale).astype(np.float32)
        if not np.isfinite(xyz).all():
            raise InputError(path, f"coordinates × {self.scale:g} (units) overflow float32; check --voxel-size")
        if rgb is None and self.info.colour is ColourModel.RGB:
            raise InputError(path, "has no vertex colours, unlike the first frame")
        radius = self._first_radius if index == 0 and self._first_radius is not None else \
            estimate_radius(xyz, self.radius_scale)[0]
        n = len(xyz)
        return Frame(xyz=torch.from_numpy(xyz), radius=torch.from_numpy(radius), alpha=torch.ones(n),
                     rgb=None if rgb is None else torch.from_numpy(np.ascontiguousarray(rgb)))

    def close(self) -> None:
        pass
