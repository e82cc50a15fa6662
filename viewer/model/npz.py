"""Lazy, pickle-free access to ``.npz`` archives: list members, read one array's header or data at a time.

``numpy.load`` on an ``.npz`` is already lazy per member, but it has no way to read an array's shape and dtype
without reading the whole array, its error messages do not name the file and key, and it trusts the sizes a
file declares. Here nothing is allocated from a declared size before the size is checked against what the file
can hold: opening reads only the zip directory and checks every member's offsets, sizes, compression method and
flags; a header is read with a cap on its length; an array's data is inflated in a stream that stops at the
size its header declares, into a buffer of that size, which must match the member's declared size.
"""

from __future__ import annotations

import ast
import os
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileutil import check_regular_file

_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError, OverflowError, MemoryError, RecursionError, struct.error, TypeError)
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
MAX_HEADER_BYTES = 65536      # numpy writes < 200 bytes; anything near this is hostile
MAX_INFLATION = 100           # a deflated member may expand at most this much (real float data: 1-3x) ...
INFLATION_FREE_BYTES = 64 << 20  # ... unless it is small: members up to 64 MiB are never refused for it
_CHUNK = 16 << 20


@dataclass(frozen=True)
class ArrayHeader:
    """Shape and dtype of one stored array, read from its ``.npy`` header only."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool = False
    data_offset: int = 0  # bytes of the .npy preamble (magic, length, header) before the data

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
        self.path = check_regular_file(path, ".npz model file")
        try:
            self._zip = zipfile.ZipFile(self.path, "r")
        except (zipfile.BadZipFile, EOFError, ValueError, struct.error, NotImplementedError):
            raise InputError(self.path, "not an .npz model (not a zip archive, or truncated)") from None
        except OSError as exc:
            raise InputError(self.path, f"cannot open: {exc.strerror or exc}") from None
        try:
            self._infos = self._check_members()
        except BaseException:
            self._zip.close()
            raise
        self._headers: dict[str, ArrayHeader] = {}
        self._starts: dict[str, int | None] = {}  # data offsets of stored members (see _data_start)
        self._lock = threading.Lock()

    def _check_members(self) -> dict[str, zipfile.ZipInfo]:
        """Refuse what the zip directory declares but the file cannot hold, and what we will not decode."""
        file_size = self.path.stat().st_size
        infos = {}
        for info in self._zip.infolist():
            name = info.filename
            if info.flag_bits & 0x1:
                raise InputError(self.path, "member is encrypted (not supported)", key=name)
            if info.compress_type not in _METHODS:
                raise InputError(self.path, f"member uses compression method {info.compress_type}; only stored "
                                 "and deflate are read", key=name)
            if info.header_offset + info.compress_size > file_size:
                raise InputError(self.path, f"member claims {info.compress_size} stored bytes at offset "
                                 f"{info.header_offset}, beyond the end of the {file_size}-byte file", key=name)
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise InputError(self.path, f"stored member's sizes disagree ({info.compress_size} stored, "
                                 f"{info.file_size} declared)", key=name)
            if (info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > INFLATION_FREE_BYTES
                    and info.file_size > MAX_INFLATION * max(info.compress_size, 1)):
                raise InputError(self.path, f"member would inflate {info.compress_size} bytes to "
                                 f"{info.file_size} (more than {MAX_INFLATION}x: refused as a decompression bomb)",
                                 key=name)
            if name.endswith(".npy"):
                infos[name[:-4]] = info
        return infos

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
        info = self._infos[key]
        try:
            with self._lock, self._zip.open(info) as fp:
                header = _parse_npy_header(fp)
        except InputError:
            raise
        except _READ_ERRORS as exc:
            raise InputError(self.path, f"unreadable array header ({_describe(exc)})", key=key) from None
        except _HeaderError as exc:
            raise InputError(self.path, f"bad array header: {exc}", key=key) from None
        if not header.dtype.hasobject and header.data_offset + header.nbytes != info.file_size:
            raise InputError(self.path, f"array header declares shape {header.shape} of {header.dtype} "
                             f"({header.nbytes} bytes), but the member holds {info.file_size - header.data_offset}",
                             key=key)
        self._headers[key] = header
        return header

    def read(self, key: str) -> np.ndarray:
        """The array stored under ``key``. Object arrays are refused: loading never unpickles."""
        header = self.header(key)
        if header.dtype.hasobject:
            raise InputError(self.path, "holds an object array (refused: loading never unpickles)", key=key)
        try:
            array = np.empty(header.shape[::-1] if header.fortran_order else header.shape, header.dtype)
        except (MemoryError, ValueError) as exc:
            raise InputError(self.path, f"cannot allocate {header.nbytes} bytes for shape {header.shape} "
                             f"({_describe(exc)})", key=key) from None
        buffer = array.reshape(-1).view(np.uint8)
        start = self._data_start(key)
        if start is not None:  # stored uncompressed: straight into the array, no lock, no intermediate copies
            self._read_at(key, start, buffer)
            return array
        try:
            with self._lock, self._zip.open(self._infos[key]) as fp:
                fp.read(header.data_offset)
                filled = 0
                while filled < header.nbytes:  # stream: never inflate more than the header declares
                    chunk = fp.read(min(_CHUNK, header.nbytes - filled))
                    if not chunk:
                        raise EOFError("member ends early")
                    buffer[filled:filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
                    filled += len(chunk)
        except _READ_ERRORS as exc:
            raise InputError(self.path, f"unreadable data ({_describe(exc)})", key=key) from None
        return array.T if header.fortran_order else array

    def _data_start(self, key: str) -> int | None:
        """File offset of the array data of a stored (uncompressed), C-ordered member; None otherwise."""
        if key in self._starts:
            return self._starts[key]
        info, header = self._infos[key], self.header(key)
        start = None
        if info.compress_type == zipfile.ZIP_STORED and not header.fortran_order and not header.dtype.hasobject:
            try:
                with open(self.path, "rb", buffering=0) as fp:
                    fp.seek(info.header_offset)
                    local = fp.read(30)
            except OSError as exc:
                raise InputError(self.path, f"unreadable ({_describe(exc)})", key=key) from None
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise InputError(self.path, "bad local zip header", key=key)
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            start = info.header_offset + 30 + name_length + extra_length + header.data_offset
            if start + header.nbytes > self.path.stat().st_size:
                raise InputError(self.path, "array data runs past the end of the file", key=key)
        self._starts[key] = start
        return start

    def _read_at(self, key: str, start: int, buffer: np.ndarray) -> None:
        """Fill ``buffer`` (uint8) from ``start`` with its own file handle, so reader threads run in parallel."""
        try:
            with open(self.path, "rb", buffering=0) as fp:
                fp.seek(start)
                view, filled = memoryview(buffer), 0
                while filled < len(buffer):
                    got = fp.readinto(view[filled:filled + _CHUNK * 4])
                    if not got:
                        raise EOFError("member ends early")
                    filled += got
        except _READ_ERRORS as exc:
            raise InputError(self.path, f"unreadable data ({_describe(exc)})", key=key) from None

    def ranges(self, key: str, rows: list[int] | None = None) -> list[tuple[int, int]]:
        """(file offset, length) of the bytes ``read(key)`` (or ``read_rows(key, rows)``) reads straight from the
        file; none for a compressed member (it is inflated through the zip stream)."""
        start = self._data_start(key)
        if start is None:
            return []
        header = self.header(key)
        if rows is None:
            return [(start, header.nbytes)]
        row_bytes = header.nbytes // max(header.shape[0], 1)
        return [(start + row * row_bytes, row_bytes) for row in rows]

    def will_need(self, ranges: list[tuple[int, int]]) -> None:
        """Tell the OS which byte ranges are read next. A frame is a dozen separate ranges (members, view rows);
        read one after another, each waits for the disk on its own, while announced together they are all in
        flight at once. Only a hint: where the OS has no such call, or it fails, nothing changes."""
        if not ranges or not hasattr(os, "posix_fadvise"):
            return
        try:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                for start, length in ranges:
                    os.posix_fadvise(fd, start, length, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(fd)
        except OSError:
            pass

    def read_rows(self, key: str, rows: list[int]) -> np.ndarray:
        """``array[rows]`` of a member, reading only those rows' bytes where the member is stored uncompressed
        (a view-major colour block: one source view is one contiguous range); otherwise read whole and index."""
        header = self.header(key)
        if not header.shape or any(not 0 <= r < header.shape[0] for r in rows):
            raise InputError(self.path, f"has no rows {rows} (shape {header.shape})", key=key)
        start = self._data_start(key)
        if start is None:
            return self.read(key)[rows]
        row_bytes = header.nbytes // header.shape[0]
        out = np.empty((len(rows), *header.shape[1:]), header.dtype)
        buffer = out.reshape(len(rows), -1).view(np.uint8)
        for i, row in enumerate(rows):
            self._read_at(key, start + row * row_bytes, buffer[i])
        return out

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _HeaderError(Exception):
    pass


def _parse_npy_header(fp) -> ArrayHeader:
    """Parse a .npy preamble with a cap on its length (numpy reads the whole declared length first)."""
    magic = fp.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        raise _HeaderError("not a .npy array (bad magic)")
    major = magic[6]
    if major not in (1, 2, 3):
        raise _HeaderError(f"unsupported .npy format version {major}.{magic[7]}")
    size_bytes = 2 if major == 1 else 4
    raw = fp.read(size_bytes)
    if len(raw) < size_bytes:
        raise _HeaderError("file ends inside the header")
    length = struct.unpack("<H" if major == 1 else "<I", raw)[0]
    if length > MAX_HEADER_BYTES:
        raise _HeaderError(f"declares a {length}-byte header (at most {MAX_HEADER_BYTES} accepted)")
    text = fp.read(length)
    if len(text) < length:
        raise _HeaderError("file ends inside the header")
    try:
        fields = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
    except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeDecodeError, TypeError):
        raise _HeaderError("header is not a Python dict literal") from None
    if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order", "shape"}:
        raise _HeaderError("header must hold exactly descr, fortran_order and shape")
    shape, fortran = fields["shape"], fields["fortran_order"]
    if not isinstance(shape, tuple) or not all(type(d) is int and 0 <= d < 2**62 for d in shape) \
            or len(shape) > 32:
        raise _HeaderError(f"invalid shape {shape!r}"[:120])
    if not isinstance(fortran, bool):
        raise _HeaderError("fortran_order must be True or False")
    try:
        dtype = np.lib.format.descr_to_dtype(fields["descr"])
    except (TypeError, ValueError, KeyError, RecursionError, OverflowError):
        raise _HeaderError(f"invalid dtype {fields['descr']!r}"[:120]) from None
    total = 1
    for dim in shape:
        total *= dim
    if total * max(dtype.itemsize, 1) >= 2**62:
        raise _HeaderError(f"shape {shape} is too large")
    return ArrayHeader(tuple(shape), dtype, fortran, 8 + size_bytes + length)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return "file truncated or corrupt" if isinstance(exc, (EOFError, zlib.error)) else text
