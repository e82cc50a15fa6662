"""Capture-camera rigs in EasyVolcap / 4K4D ``intri.yml`` + ``extri.yml`` form (OpenCV FileStorage YAML)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .camera import DEFAULT_FAR, DEFAULT_NEAR, MAX_IMAGE_SIDE, Camera, make_camera
from .errors import InputError
from .fileutil import read_text_file

MAX_RIG_BYTES = 16 * 1024 * 1024  # a rig of 1,000 cameras is well under 1 MiB


class _OpenCVLoader(yaml.SafeLoader):
    """SafeLoader that understands ``!!opencv-matrix`` nodes and refuses aliases.

    OpenCV never writes anchors or aliases; refusing them rules out "billion laughs" alias bombs.
    """

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's own signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed in a camera rig",
                                              event.start_mark)
        return super().compose_node(parent, index)


def _construct_matrix(loader: yaml.SafeLoader, node: yaml.Node) -> np.ndarray:
    fields = loader.construct_mapping(node, deep=True)
    rows, cols, data = int(fields["rows"]), int(fields["cols"]), fields["data"]
    if not (0 <= rows <= 64 and 0 <= cols <= 64):
        raise ValueError(f"opencv-matrix of {rows}x{cols} is not a camera matrix")
    array = np.asarray(data, dtype=np.float64)
    if array.size != rows * cols:
        raise ValueError(f"opencv-matrix has {array.size} values for {rows}x{cols}")
    return array.reshape(rows, cols)


_OpenCVLoader.add_constructor("tag:yaml.org,2002:opencv-matrix", _construct_matrix)


def read_opencv_yaml(path: Path) -> dict[str, Any]:
    """Parse an OpenCV FileStorage YAML file into a dict (matrices become numpy arrays)."""
    text = read_text_file(path, "camera rig file", limit=MAX_RIG_BYTES)
    if text.startswith("%YAML:"):  # OpenCV's directive is not valid YAML 1.1; drop it
        text = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        data = yaml.load(text, Loader=_OpenCVLoader)
    except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        problem = getattr(exc, "problem", None)
        detail = f": {problem}" if isinstance(problem, str) and "alias" in problem else ""
        if type(exc) is ValueError and str(exc).startswith("opencv-matrix"):  # _construct_matrix's own words
            detail = f": {exc}"
        raise InputError(path, f"not a valid OpenCV YAML file{where}{detail}") from None
    except RecursionError:
        raise InputError(path, "not a valid OpenCV YAML file (nested too deeply)") from None
    if not isinstance(data, dict):
        raise InputError(path, "not a valid OpenCV YAML file (expected a mapping)")
    return data


@dataclass(frozen=True)
class RigFiles:
    """An EasyVolcap rig's ``intri.yml`` and ``extri.yml``, read and checked for a names list."""

    intri_path: Path
    extri_path: Path
    intri: dict[str, Any]
    extri: dict[str, Any]

    def entries(self) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """(name, K, R, T) of every camera in ``names:`` order; names with no ``K_<name>`` entry (EasyVolcap's
        ``none`` placeholders) are skipped. R comes from the Rodrigues ``R_<name>`` or else ``Rot_<name>``."""
        intri, extri, intri_path, extri_path = self.intri, self.extri, self.intri_path, self.extri_path
        out = []
        for name in (str(n) for n in intri["names"]):
            if f"K_{name}" not in intri:
                continue
            K = _entry(intri, intri_path, f"K_{name}", (3, 3))
            if f"R_{name}" in extri:
                R = _rodrigues(_entry(extri, extri_path, f"R_{name}", (3,)))
            elif f"Rot_{name}" in extri:
                R = _entry(extri, extri_path, f"Rot_{name}", (3, 3))
            else:
                raise InputError(extri_path, f"camera '{name}' has neither R_{name} nor Rot_{name}")
            out.append((name, K, R, _entry(extri, extri_path, f"T_{name}", (3,))))
        if not out:
            raise InputError(intri_path, "lists no camera with a K_<name> entry")
        return out

    def distortion(self, name: str) -> np.ndarray:
        """The five OpenCV distortion coefficients of camera ``name`` (``D_`` or ``dist_``; zeros if absent)."""
        key = f"D_{name}" if f"D_{name}" in self.intri else f"dist_{name}"
        return _entry(self.intri, self.intri_path, key, (5,)) if key in self.intri else np.zeros(5)


def read_rig_files(folder: Path) -> RigFiles:
    intri_path, extri_path = folder / "intri.yml", folder / "extri.yml"
    for path in (intri_path, extri_path):
        if not path.is_file():
            raise InputError(path, "missing (a camera rig needs intri.yml and extri.yml)")
    intri, extri = read_opencv_yaml(intri_path), read_opencv_yaml(extri_path)
    names = intri.get("names")
    if not isinstance(names, list) or not all(isinstance(n, (str, int)) for n in names):
        raise InputError(intri_path, "has no 'names' list of camera names")
    return RigFiles(intri_path, extri_path, intri, extri)


def load_rig(location: str | Path, notes: list[str] | None = None) -> list[Camera]:
    """Cameras from a folder holding ``intri.yml`` and ``extri.yml`` (or from the path of either file).

    Camera order follows ``names:`` in intri.yml; names with no ``K_<name>`` entry (EasyVolcap writes
    ``none`` placeholders) are skipped. Image size comes from ``H_``/``W_`` when present, otherwise from the
    principal point (2·cx, 2·cy) as an estimate; ``notes`` (if given) receives one line for each thing guessed
    or ignored (image sizes guessed, lens distortion not applied).
    """
    location = Path(location)
    rig = read_rig_files(location if location.is_dir() else location.parent)
    intri, extri, intri_path, extri_path = rig.intri, rig.extri, rig.intri_path, rig.extri_path
    cameras, guessed, distorted = [], [], []
    for name, K, R, T in rig.entries():
        if f"H_{name}" not in intri or f"W_{name}" not in intri:
            guessed.append(name)
        for key in (f"D_{name}", f"dist_{name}"):
            if key in intri and np.any(np.abs(np.asarray(intri[key], dtype=np.float64)) > 1e-9):
                distorted.append(name)
                break
        height = _scalar(intri, intri_path, f"H_{name}", default=2 * K[1, 2])
        width = _scalar(intri, intri_path, f"W_{name}", default=2 * K[0, 2])
        near = _scalar(extri, extri_path, f"n_{name}", default=DEFAULT_NEAR)
        far = _scalar(extri, extri_path, f"f_{name}", default=DEFAULT_FAR)
        for key, size in ((f"H_{name}", height), (f"W_{name}", width)):
            if not (math.isfinite(size) and 1 <= round(size) <= MAX_IMAGE_SIDE):
                raise InputError(intri_path, f"entry '{key}' gives an image size of {size:g} (must be "
                                 f"1..{MAX_IMAGE_SIDE})")
        cameras.append(make_camera(K, R, T, round(width), round(height), near, far, name=name, where=extri_path))
    if notes is not None and guessed:
        notes.append(f"{intri_path}: no H_/W_ image sizes for {len(guessed)} camera(s) ({guessed[0]}, ...): "
                     "guessed as 2·cx × 2·cy")
    if notes is not None and distorted:
        notes.append(f"{intri_path}: lens distortion of {len(distorted)} camera(s) is not applied (renders are "
                     "pinhole)")
    return cameras


def _entry(data: dict[str, Any], path: Path, key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in data:
        raise InputError(path, f"entry '{key}' is missing")
    try:
        array = np.asarray(data[key], dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise InputError(path, f"entry '{key}' must be numbers") from None
    if array.size != int(np.prod(shape)):
        raise InputError(path, f"entry '{key}' must have {int(np.prod(shape))} values (got {array.size})")
    if not np.isfinite(array).all():
        raise InputError(path, f"entry '{key}' holds NaN or Inf")
    return array.reshape(shape)


def _scalar(data: dict[str, Any], path: Path, key: str, default: float) -> float:
    value = data.get(key, default)
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError, OverflowError, RecursionError):
        array = np.zeros(0)
    if array.size != 1:
        raise InputError(path, f"entry '{key}' must be one number")
    return float(array[0])


def _rodrigues(rvec: np.ndarray) -> np.ndarray:
    """Rotation matrix of an axis-angle vector (OpenCV's Rodrigues)."""
    theta = float(np.linalg.norm(rvec))
    if theta < 1e-12:
        return np.eye(3)
    k = rvec / theta
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * kx + (1 - math.cos(theta)) * (kx @ kx)
