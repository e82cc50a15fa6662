"""Shape, dtype and value checks shared by the loaders; each failure names the file and the key."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .npz import ArrayHeader, NpzArchive

FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
COLOURS = FLOATS + (np.dtype(np.uint8),)

Pattern = Sequence[int | str]


def check_header(archive: NpzArchive, key: str, patterns: Sequence[Pattern], dims: dict[str, int],
                 dtypes: Sequence[np.dtype] = FLOATS) -> ArrayHeader:
    """Check ``key``'s dtype and that its shape matches one of ``patterns``.

    Letters in a pattern are dimensions: unbound ones are bound in ``dims`` (so later keys must agree),
    bound ones must match. Example: ``[("N", 3)]`` for point positions.
    """
    header = archive.header(key)
    if header.dtype.hasobject:
        raise InputError(archive.path, "holds an object array (refused: loading never unpickles)", key=key)
    if header.dtype not in dtypes:
        expected = "/".join(str(d) for d in dtypes)
        raise InputError(archive.path, f"has dtype {header.dtype}, expected {expected}", key=key)
    for pattern in patterns:
        bound = _match(header.shape, pattern, dims)
        if bound is not None:
            dims.update(bound)
            return header
    wanted = " or ".join("(" + ", ".join(str(p) for p in pattern) + ")" for pattern in patterns)
    known = ", ".join(f"{k}={v}" for k, v in dims.items() if any(k in p for p in patterns))
    suffix = f" with {known}" if known else ""
    raise InputError(archive.path, f"has shape {header.shape}, expected {wanted}{suffix}", key=key)


def _match(shape: tuple[int, ...], pattern: Pattern, dims: dict[str, int]) -> dict[str, int] | None:
    if len(shape) != len(pattern):
        return None
    bound: dict[str, int] = {}
    for size, want in zip(shape, pattern):
        if isinstance(want, int):
            if size != want:
                return None
        else:
            known = dims.get(want, bound.get(want))
            if known is not None and known != size:
                return None
            bound[want] = size
    return bound


def check_values(archive: NpzArchive, key: str, array: np.ndarray, *, nonnegative: bool = False,
                 unit_interval: bool = False) -> None:
    """Reject NaN/Inf, and negative or out-of-[0,1] values where the quantity forbids them."""
    if array.dtype.kind != "f":
        return
    if _values_ok(array, nonnegative, unit_interval):
        return  # the common case, in one pass: numpy's own checks are ~10x slower on float16
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.argwhere(~finite)[0].tolist()
        kind = "NaN" if np.isnan(array[tuple(bad)]) else "Inf"
        raise InputError(archive.path, f"contains {kind} (first at index {tuple(bad)})", key=key)
    if nonnegative and (array < 0).any():
        bad = np.argwhere(array < 0)[0].tolist()
        raise InputError(archive.path, f"has a negative value {float(array[tuple(bad)])} at index {tuple(bad)}",
                         key=key)
    if unit_interval and ((array < 0).any() or (array > 1).any()):
        bad = np.argwhere((array < 0) | (array > 1))[0].tolist()
        raise InputError(archive.path, f"has a value {float(array[tuple(bad)])} outside [0, 1] at index "
                         f"{tuple(bad)}", key=key)


def _values_ok(array: np.ndarray, nonnegative: bool, unit_interval: bool) -> bool:
    """True when a float array surely passes check_values, from its min and max (one vectorised pass; NaN
    propagates into them); False: look closer."""
    import torch

    if array.size == 0:
        return True
    low, high = (float(v) for v in torch.aminmax(torch.from_numpy(np.ascontiguousarray(array))))
    if not (np.isfinite(low) and np.isfinite(high)):
        return False
    if (nonnegative or unit_interval) and low < 0:
        return False
    return not (unit_interval and high > 1)


def sh_degree_of(archive: NpzArchive, key: str, n_coeffs: int) -> int:
    """SH degree from the number of coefficients (1, 4, 9 or 16)."""
    for degree in range(4):
        if (degree + 1) ** 2 == n_coeffs:
            return degree
    raise InputError(archive.path, f"has {n_coeffs} SH coefficients per channel, expected 1, 4, 9 or 16",
                     key=key)
