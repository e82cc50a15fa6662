"""Byte-level surgery on zip archives and .npy members: the lies a hostile .npz can tell."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np

CENTRAL = b"PK\x01\x02"
LOCAL = b"PK\x03\x04"
# offsets inside a central-directory record and a local header
CENTRAL_FIELDS = {"flags": (8, "<H"), "method": (10, "<H"), "csize": (20, "<I"), "usize": (24, "<I"),
                  "offset": (42, "<I")}
LOCAL_FIELDS = {"flags": (6, "<H"), "method": (8, "<H"), "csize": (18, "<I"), "usize": (22, "<I")}


def npz_bytes(arrays: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def _records(data: bytes, signature: bytes, member: str) -> list[int]:
    """Offsets of the records (local or central) that name ``member``."""
    found, start = [], 0
    name = member.encode()
    name_at = 46 if signature == CENTRAL else 30
    while True:
        at = data.find(signature, start)
        if at < 0:
            return found
        if data[at + name_at:at + name_at + len(name)] == name:
            found.append(at)
        start = at + 4


def patch(data: bytes, member: str, field: str, value: int, where: str = "both") -> bytes:
    """Set ``field`` (flags, method, csize, usize) of ``member`` in its central and/or local record."""
    out = bytearray(data)
    if where in ("both", "central"):
        offset, fmt = CENTRAL_FIELDS[field]
        for at in _records(data, CENTRAL, member):
            struct.pack_into(fmt, out, at + offset, value)
    if where in ("both", "local") and field in LOCAL_FIELDS:
        offset, fmt = LOCAL_FIELDS[field]
        for at in _records(data, LOCAL, member):
            struct.pack_into(fmt, out, at + offset, value)
    return bytes(out)


def npy_with_header(shape: tuple, descr: str = "<f4", data: bytes = b"", header_len: int | None = None,
                    version: int = 1, raw_header: str | None = None) -> bytes:
    """A .npy whose header says what we like, regardless of the data that follows."""
    text = raw_header if raw_header is not None else \
        f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple(shape)!r}, }}"
    body = text.encode("latin1")
    pad = (64 - (10 + len(body) + 1) % 64) % 64
    body = body + b" " * pad + b"\n"
    length = len(body) if header_len is None else header_len
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", min(length, 0xFFFF)) + body + data
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", length) + body + data


def zip_with_members(members: dict[str, bytes], deflate: set[str] = frozenset()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, payload in members.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflate else zipfile.ZIP_STORED
            zf.writestr(info, payload)
    return buffer.getvalue()


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def deflate_bomb_member(shape: tuple, descr: str = "<f4") -> bytes:
    """A .npy of zeros whose deflated form is tiny: the classic decompression bomb, sizes all honest."""
    count = int(np.prod(shape)) * np.dtype(descr).itemsize
    return npy_with_header(shape, descr) + bytes(count)


def crc_ok(payload: bytes) -> int:
    return zlib.crc32(payload)
