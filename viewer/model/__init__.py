"""Model I/O: open any supported model file lazily and read frames on demand."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .canonical import CanonicalModel, is_canonical, save_canonical
from .fourk4d import FourK4DModel, is_fourk4d
from .frame import ColourModel, Frame, Model, ModelInfo
from .npz import NpzArchive
from .ply import PlySequenceModel, expand_inputs, is_ply_input

__all__ = ["ColourModel", "Frame", "Model", "ModelInfo", "open_model", "save_canonical"]


def open_model(path: str | Path, **ply_options) -> Model:
    """Open a canonical k4d-viewer model, a 4K4D runtime/weights ``.npz`` (reading only the index), or a PLY
    sequence (a folder, a glob pattern or one .ply file; ``ply_options`` go to PlySequenceModel)."""
    if is_ply_input(path):
        return PlySequenceModel(expand_inputs([path]), **ply_options)
    archive = NpzArchive(path)
    try:
        if is_canonical(archive):
            return CanonicalModel(archive)
        if is_fourk4d(archive):
            return FourK4DModel(archive)
        keys = archive.keys()
        sample = ", ".join(f"'{k}'" for k in keys[:3]) if keys else "no arrays"
        raise InputError(archive.path, f"not a k4d-viewer or 4K4D model (no 'meta' or 'sampler.*' keys; found "
                         f"{sample})")
    except BaseException:
        archive.close()
        raise
