"""Lazy, pickle-free access to ``.npz`` archives: list members, read one array's header or data at a time.

``numpy.load`` on an ``.npz`` is already lazy per member, but it has no way to read an array's shape and dtype
without reading the whole array, and its error messages do not name the file and key. Opening reads only the
zip directory; nothing proportional to the file size happens until a member is read.
"""

from __future__ import annotations

import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError)


@dataclass(frozen=True)
class ArrayHeader:
    """Shape and dtype of one stored array, read from its ``.npy`` header only."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def is_none_placeholder(self) -> bool:
        """A 0-d object array: how 4K4D stores frame slots that were not precomputed (``None``)."""
        return self.dtype.hasobject and self.shape == ()


class NpzArchive:
    """A read-only view of an ``.npz`` file. Member names are used without their ``.npy`` suffix."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(self.path, "no such file")
        if self.path.is_dir():
            raise InputError(self.path, "is a directory, expected an .npz model file")
        try:
            self._zip = zipfile.ZipFile(self.path, "r")
        except zipfile.BadZipFile:
            raise InputError(self.path, "not an .npz model (not a zip archive, or truncated)") from None
        except OSError as exc:
            raise InputError(self.path, f"cannot open: {exc.strerror or exc}") from None
        self._infos = {}
        for info in self._zip.infolist():
            if info.filename.endswith(".npy"):
                self._infos[info.filename[:-4]] = info
        self._headers: dict[str, ArrayHeader] = {}
        self._lock = threading.Lock()

    def keys(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, key: str) -> bool:
        return key in self._infos

    def stored_bytes(self, key: str) -> int:
        """Bytes the member takes in the file (compressed size where compressed)."""
        return self._infos[key].compress_size

    def is_compressed(self) -> bool:
        return any(i.compress_type != zipfile.ZIP_STORED for i in self._infos.values())

    def header(self, key: str) -> ArrayHeader:
        """Shape and dtype of ``key`` without reading its data."""
        cached = self._headers.get(key)
        if cached is not None:
            return cached
        if key not in self._infos:
            raise InputError(self.path, "missing", key=key)
        try:
            with self._zip.open(self._infos[key]) as fp:
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
        except _READ_ERRORS as exc:
            raise InputError(self.path, f"unreadable array header ({_describe(exc)})", key=key) from None
        header = ArrayHeader(tuple(int(s) for s in shape), np.dtype(dtype))
        self._headers[key] = header
        return header

    def read(self, key: str) -> np.ndarray:
        """The array stored under ``key``. Object arrays are refused: loading never unpickles."""
        header = self.header(key)
        if header.dtype.hasobject:
            raise InputError(self.path, "holds an object array (refused: loading never unpickles)", key=key)
        try:
            with self._lock, self._zip.open(self._infos[key]) as fp:
                array = np.lib.format.read_array(fp, allow_pickle=False)
        except _READ_ERRORS as exc:
            raise InputError(self.path, f"unreadable data ({_describe(exc)})", key=key) from None
        return array

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "NpzArchive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return "file truncated or corrupt" if isinstance(exc, (EOFError, zlib.error)) else text
