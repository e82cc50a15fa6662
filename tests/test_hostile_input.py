"""Regression tests for the hostile inputs of the fuzzing report, and property tests of the parsers."""

from __future__ import annotations

import errno
import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest
from builders import canonical_arrays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from k4d_viewer.camera import Camera
from k4d_viewer.cli import main
from k4d_viewer.commands.common import parse_frames, parse_size
from k4d_viewer.errors import InputError
from k4d_viewer.model.npz import NpzArchive, _HeaderError, _parse_npy_header
from k4d_viewer.model.ply import read_header


def one_line_error(capsys, argv, *expected):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err
    return err


def test_fifo_model_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    one_line_error(capsys, ["info", fifo], "is a FIFO")


def test_link_to_dev_zero_is_refused(tmp_path, capsys):
    link = tmp_path / "m.npz"
    link.symlink_to("/dev/zero")
    one_line_error(capsys, ["info", link], "is a device")


def test_zip_bomb_is_refused_before_inflating(tmp_path, capsys):
    big = tmp_path / "bomb.npz"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:  # 400 MB of zeros deflate to ~400 kB
        with zf.open("frame.0.xyz.npy", "w") as fp:
            fp.write(_npy((100_000_000,), b""))
            chunk = bytes(1 << 24)
            for _ in range(400_000_000 // len(chunk)):
                fp.write(chunk)
    one_line_error(capsys, ["info", big], "decompression bomb")


def _npy(shape, data, descr="<f4", length=None):
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}".encode()
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", length or len(text)) + text + data


def test_header_claiming_gigabytes_is_refused(tmp_path):
    npy = b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xF0000000) + b"{}"
    with pytest.raises(_HeaderError, match="header"):
        _parse_npy_header(io.BytesIO(npy))


def test_lying_shape_is_refused_before_allocating(tmp_path, capsys):
    arrays = canonical_arrays()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = tmp_path / "lie.npz"
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "frame.0.xyz.npy":
                data = _npy((10**9, 3), b"\0" * 600, "<f2")
            dst.writestr(info.filename, data)
    one_line_error(capsys, ["info", path], "frame.0.xyz", "declares shape (1000000000, 3)")


def test_unknown_compression_and_encryption_are_refused(tmp_path, capsys):
    buffer = io.BytesIO()
    np.savez(buffer, **canonical_arrays())
    data = bytearray(buffer.getvalue())
    at = data.find(b"PK\x01\x02")  # first central-directory record: method is at +10, flags at +8
    struct.pack_into("<H", data, at + 10, 9)
    (tmp_path / "d64.npz").write_bytes(bytes(data))
    one_line_error(capsys, ["info", tmp_path / "d64.npz"], "compression method 9")
    data = bytearray(buffer.getvalue())
    struct.pack_into("<H", data, at + 8, 1)
    (tmp_path / "enc.npz").write_bytes(bytes(data))
    one_line_error(capsys, ["info", tmp_path / "enc.npz"], "encrypted")


def test_ply_header_counts_are_checked_against_the_file(tmp_path, capsys):
    for count, problem in ((10**12, "outside"), (2**63, "outside"), (0, "0 vertices"), (1000, "ends in element")):
        path = tmp_path / f"c{count}.ply"
        path.write_bytes(f"ply\nformat binary_little_endian 1.0\nelement vertex {count}\nproperty float x\n"
                         "property float y\nproperty float z\nend_header\n".encode() + bytes(12 * 3))
        one_line_error(capsys, ["convert", path, "-o", tmp_path / "o.npz"], problem)


def test_output_errors_are_one_line_and_leave_nothing(tmp_path, capsys, monkeypatch):
    model = tmp_path / "m.npz"
    np.savez(model, **canonical_arrays())
    one_line_error(capsys, ["render", model, "-o", tmp_path, "--size", "8x8"], "must be a .png")
    (tmp_path / "d.png").mkdir()
    one_line_error(capsys, ["render", model, "-o", tmp_path / "d.png", "--size", "8x8"], "is a directory")
    one_line_error(capsys, ["render", model, "-o", tmp_path / ("x" * 300 + ".png")], "too long")
    for pattern in ("f%d_%d.png", "f%z.png", "f{frame:q}.png", "{other}.png"):
        one_line_error(capsys, ["render", model, "-o", tmp_path / pattern, "--frames", "0:2"], "pattern")

    from PIL import Image

    def full_disk(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    out = tmp_path / "o.png"
    one_line_error(capsys, ["render", model, "-o", out, "--size", "8x8"], "No space left on device")
    assert not out.exists() and not list(tmp_path.glob("o.png*"))


def test_flag_errors_are_one_line_with_the_command_name(capsys):
    for argv, text in ((["render", "--size", "0x0", "-o", "x.png"], "k4d-viewer render: error: --size: '0x0'"),
                       (["render", "-o", "x.png", "--frame", "1.5"], "--frame: invalid int value"),
                       (["rendr", "-o", "x.png"], "unknown command 'rendr' (did you mean 'render'?)")):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's way out, as in the installed script
            code = exc.code
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and text in err, err


# -- property tests ------------------------------------------------------------------------------------------

@given(st.text(max_size=40))
def test_parse_size_accepts_or_raises_cleanly(text):
    import argparse

    try:
        width, height = parse_size(text)
    except argparse.ArgumentTypeError:
        return
    assert 1 <= width <= 16384 and 1 <= height <= 16384


@given(st.text(max_size=30), st.integers(1, 500))
def test_parse_frames_accepts_or_raises_cleanly(text, count):
    try:
        frames = parse_frames(text, count)
    except InputError:
        return
    assert frames and all(0 <= f < count for f in frames)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                           lambda children: st.lists(children, max_size=4) |
                           st.dictionaries(st.text(max_size=3), children, max_size=4), max_leaves=30)


@given(st.dictionaries(st.sampled_from(["H", "W", "K", "R", "T", "n", "f"]), json_values))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_camera_fields_accept_or_raise_input_error(fields):
    try:
        camera = Camera.from_json_dict(fields)
    except InputError:
        return
    assert 1 <= camera.width <= 16384 and np.isfinite(camera.K).all()


@given(st.binary(max_size=200))
def test_npy_header_parser_accepts_or_raises_header_error(data):
    try:
        header = _parse_npy_header(io.BytesIO(b"\x93NUMPY\x01\x00" + data))
    except _HeaderError:
        return
    assert header.nbytes >= 0


@given(st.binary(max_size=300))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
def test_ply_header_reader_accepts_or_raises_input_error(tmp_path, data):
    path = tmp_path / "x.ply"
    path.write_bytes(b"ply\n" + data)
    try:
        read_header(path)
    except InputError:
        pass


@given(st.binary(min_size=0, max_size=400))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
def test_npz_archive_accepts_or_raises_input_error(tmp_path, data):
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps({"format": "k4d-viewer"})))
    raw = bytearray(buffer.getvalue())
    raw[40:40 + len(data)] = data[: max(len(raw) - 40, 0)]
    path = tmp_path / "x.npz"
    path.write_bytes(bytes(raw))
    try:
        with NpzArchive(path) as archive:
            for key in archive.keys():
                archive.read(key)
    except InputError:
        pass
