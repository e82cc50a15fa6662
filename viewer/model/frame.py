"""What a model is to the rest of the program: per-frame tensors plus a header-only summary."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ..camera import Camera


class ColourModel(str, Enum):
    """How a point's colour is stored."""

    IBR = "ibr"    # 4K4D: per-source-view rgb + blend logit, source centres, optional SH residual
    RGB = "rgb"    # one fixed colour per point
    SH = "sh"      # spherical harmonics only: rgb = clip(SH(dir) + 0.5, 0, 1), the 3DGS convention
    NONE = "none"  # geometry only (e.g. a 4K4D weights file): drawn in a neutral grey


@dataclass
class Frame:
    """One frame's points. Tensors keep their stored dtype (often fp16) until colour evaluation.

    Shapes: xyz (N,3), radius (N,), alpha (N,), rgb (N,3), sh (N,3,(d+1)²), rgbw (S,N,4) view-major,
    cents (S,3). Fields a colour model does not use are None.
    """

    xyz: torch.Tensor
    radius: torch.Tensor
    alpha: torch.Tensor
    rgb: torch.Tensor | None = None
    sh: torch.Tensor | None = None
    rgbw: torch.Tensor | None = None
    cents: torch.Tensor | None = None

    @property
    def n_points(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def sh_degree(self) -> int:
        """Stored SH degree, or −1 when there is no SH."""
        return -1 if self.sh is None else int(round(self.sh.shape[-1] ** 0.5)) - 1

    def to(self, device: torch.device | str) -> Frame:
        """A copy on ``device`` (non-blocking where the source is pinned)."""
        moved = {name: (None if value is None else value.to(device, non_blocking=True))
                 for name, value in self.__dict__.items()}
        return replace(self, **moved)

    def nbytes(self) -> int:
        return sum(v.numel() * v.element_size() for v in self.__dict__.values() if v is not None)


@dataclass
class ModelInfo:
    """Everything known about a model from its index and array headers alone (no frame data read)."""

    path: Path
    kind: str
    colour: ColourModel
    points_per_frame: list[int]
    bytes_per_frame: list[int]
    frame_labels: list[int]
    n_views: int = 0
    sh_degree: int = -1
    sh_limit: float = 1.0
    n_srcs: int = 4
    fps: float = 30.0
    up: str = "+z"
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    cameras: list[Camera] = field(default_factory=list)
    compressed: bool = False
    notes: list[str] = field(default_factory=list)
    splat: str = "blend"  # how the model wants its points drawn: "blend" (4K4D's rule) or "opaque" (captures)

    @property
    def n_frames(self) -> int:
        return len(self.points_per_frame)

    def framing(self, frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(bounds min, bounds max, a point to look from) for a default view: the stored bounds or those of
        ``frame``, and the first capture camera or source-camera centre."""
        if self.bounds is not None:
            lo, hi = self.bounds
        else:
            xyz = frame.xyz.float()
            lo, hi = xyz.min(0).values.cpu().numpy(), xyz.max(0).values.cpu().numpy()
        toward = None
        if self.cameras:
            toward = self.cameras[0].centre
        elif frame.cents is not None:
            toward = frame.cents[0].float().cpu().numpy()
        return np.asarray(lo), np.asarray(hi), toward


COMPRESSED_NOTE_BYTES = 16 << 20  # frames this large decompress slower than playback needs


def compressed_note(info: ModelInfo) -> None:
    """Add the note that a compressed model plays slowly, where its frames are large enough for it to be so."""
    if info.compressed and max(info.bytes_per_frame, default=0) > COMPRESSED_NOTE_BYTES:
        info.notes.append("compressed arrays: playback is limited by decompression; 'k4d-viewer convert MODEL -o "
                          "stream.npz' writes an uncompressed, streaming-friendly copy")


class Model(Protocol):
    """A lazily read sequence of frames."""

    info: ModelInfo

    def read_frame(self, index: int) -> Frame:
        """Frame ``index`` (0-based), validated; InputError on bad data. Models whose ``reads_views`` is True
        also take ``views`` (read only those source views) and offer ``read_cents`` and ``stored_bytes``."""

    def close(self) -> None:
        """Release the file."""
