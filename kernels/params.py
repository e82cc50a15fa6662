"""Per-frame parameters of the Triton kernels as one small device tensor instead of ~30 scalar arguments.

Kernels read the camera and the settings that may change every frame from this tensor, so a recorded
launch sequence (a CUDA graph) replays for a new camera after a 128-byte copy, and every launch passes one
pointer instead of ~30 Python floats (Triton's launcher converts each scalar on the host, every launch).
Offsets are ``tl.constexpr`` so kernels use them as compile-time constants.
"""

from __future__ import annotations

import numpy as np
import triton.language as tl

SIZE = 32  # floats; a 128-byte tensor
R = tl.constexpr(0)  # world-to-camera rotation, row-major, 9 floats
T = tl.constexpr(9)  # translation, 3 floats
FX = tl.constexpr(12)
SKEW = tl.constexpr(13)
CX = tl.constexpr(14)
FY = tl.constexpr(15)
CY = tl.constexpr(16)
NEAR = tl.constexpr(17)
FAR = tl.constexpr(18)
RADIUS_SCALE = tl.constexpr(19)
ALPHA_THRESHOLD = tl.constexpr(20)
CENTRE = tl.constexpr(21)  # camera centre in world space, 3 floats (the colour's view direction and views)
SH_LIMIT = tl.constexpr(24)


def frame_params(K, R_, T_, near: float, far: float, radius_scale: float, alpha_threshold: float,
                 centre, sh_limit: float, out: np.ndarray | None = None) -> np.ndarray:
    """The float32 parameter block for one frame (written into ``out`` when given, e.g. pinned memory)."""
    block = np.zeros(SIZE, dtype=np.float32) if out is None else out
    K = np.asarray(K, dtype=np.float64)
    block[R.value:R.value + 9] = np.asarray(R_, dtype=np.float64).reshape(-1)
    block[T.value:T.value + 3] = np.asarray(T_, dtype=np.float64).reshape(-1)
    block[FX.value], block[SKEW.value], block[CX.value] = K[0, 0], K[0, 1], K[0, 2]
    block[FY.value], block[CY.value] = K[1, 1], K[1, 2]
    block[NEAR.value], block[FAR.value] = near, far
    block[RADIUS_SCALE.value], block[ALPHA_THRESHOLD.value] = radius_scale, alpha_threshold
    block[CENTRE.value:CENTRE.value + 3] = np.asarray(centre, dtype=np.float64).reshape(-1)
    block[SH_LIMIT.value] = sh_limit
    return block


def colour_params(centre, sh_limit: float) -> np.ndarray:
    """A block with only what the colour kernel reads (the camera centre and the SH limit)."""
    block = np.zeros(SIZE, dtype=np.float32)
    block[CENTRE.value:CENTRE.value + 3] = np.asarray(centre, dtype=np.float64).reshape(-1)
    block[SH_LIMIT.value] = sh_limit
    return block
