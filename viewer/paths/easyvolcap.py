"""EasyVolcap camera folders (``intri.yml`` + ``extri.yml`` holding many cameras) as camera paths.

Reading: every camera, in the order ``names:`` lists them, becomes one output frame (EasyVolcap renders such a
folder frame by frame). Writing: each output frame of a path becomes a camera ``000000``, ``000001``, ... with
``K``, ``H``, ``W``, ``D`` (zeros), ``R`` (Rodrigues), ``Rot``, ``T``, ``n`` and ``f``, in OpenCV's YAML
dialect, so EasyVolcap and 4K4D tools read the path as a camera rig.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..camera import Camera
from ..errors import InputError
from ..rig import load_rig
from .path import CameraPath, PathSample


def load_easyvolcap_path(location: Path, fps: float = 30.0, start_frame: float = 0.0) -> CameraPath:
    cameras = load_rig(location)
    first = cameras[0]
    samples = tuple(PathSample(camera, start_frame) for camera in cameras)
    return CameraPath((), fps=fps, size=(first.width, first.height), samples=samples)


def _matrix(name: str, values: np.ndarray) -> str:
    rows, cols = values.shape if values.ndim == 2 else (values.shape[0], 1)
    data = ", ".join(f"{v:.10g}" for v in values.reshape(-1))
    return f"{name}: !!opencv-matrix\n  rows: {rows}\n  cols: {cols}\n  dt: d\n  data: [ {data} ]\n"


def save_easyvolcap(cameras: list[Camera], folder: str | Path) -> None:
    """Write ``cameras`` as an EasyVolcap rig folder (created if needed; existing rig files are replaced)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(folder, f"cannot create the camera folder: {exc.strerror or exc}") from None
    names = [f"{i:06d}" for i in range(len(cameras))]
    header = "%YAML:1.0\n---\nnames:\n" + "".join(f'  - "{n}"\n' for n in names)
    intri, extri = [header], [header]
    for name, camera in zip(names, cameras):
        intri += [_matrix(f"K_{name}", camera.K), f"H_{name}: {camera.height}\n", f"W_{name}: {camera.width}\n",
                  _matrix(f"D_{name}", np.zeros((5, 1)))]
        extri += [_matrix(f"R_{name}", Rotation.from_matrix(camera.R).as_rotvec().reshape(3, 1)),
                  _matrix(f"Rot_{name}", camera.R), _matrix(f"T_{name}", camera.T.reshape(3, 1)),
                  f"n_{name}: {camera.near:.10g}\n", f"f_{name}: {camera.far:.10g}\n"]
    from ..fileutil import atomic_output

    for filename, parts in (("intri.yml", intri), ("extri.yml", extri)):
        with atomic_output(folder / filename) as tmp:
            tmp.write_text("".join(parts))
