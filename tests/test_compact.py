"""Compact storage (convert --compact): half the bytes per frame, renders within 45 dB of the original."""

from __future__ import annotations

import math

import numpy as np
import pytest
from k4d_viewer.cli import main
from k4d_viewer.model import open_model
from k4d_viewer.model.compact import decode_rgbw, decode_sh, encode_rgbw, encode_sh


def test_round_trip_error_bounds():
    rng = np.random.default_rng(0)
    rgbw = np.concatenate([rng.random((5, 300, 3)), rng.normal(0, 3, (5, 300, 1))], -1).astype(np.float32)
    codes, value_range = encode_rgbw(rgbw)
    back = decode_rgbw(codes, value_range).astype(np.float32)
    assert codes.dtype == np.uint8 and np.abs(back[..., :3] - rgbw[..., :3]).max() <= 0.5 / 255 + 1e-3
    step = (value_range[1] - value_range[0]) / 255
    assert np.abs(back[..., 3] - rgbw[..., 3]).max() <= 0.5 * step + 1e-2
    sh = rng.normal(0, 0.3, (300, 3, 16)).astype(np.float32)
    sh[:10] = 0  # points with no residual
    codes, scale = encode_sh(sh)
    back = decode_sh(codes, scale).astype(np.float32)
    largest = np.abs(sh).reshape(300, -1).max(1)
    assert np.all(np.abs(back - sh).reshape(300, -1).max(1) <= largest / 127 * 0.51 + 1e-3)
    assert np.all(back[:10] == 0)


def test_compact_model_renders_within_45_db(tmp_path):
    from k4d_viewer.camera import Camera
    from k4d_viewer.commands.common import load_model
    from k4d_viewer.render import get_backend
    from k4d_viewer.settings import RenderSettings

    source = load_model(None).info.path
    full, compact = tmp_path / "full.npz", tmp_path / "compact.npz"
    assert main(["convert", str(source), "-o", str(full)]) == 0
    assert main(["convert", str(source), "-o", str(compact), "--compact"]) == 0
    a, b = open_model(full), open_model(compact)
    assert sum(b.info.bytes_per_frame) < 0.6 * sum(a.info.bytes_per_frame)
    frame_a, frame_b = a.read_frame(3), b.read_frame(3)
    settings = RenderSettings().for_model(a.info)
    backend = get_backend("torch")
    lo, hi = a.info.bounds
    centre = (np.asarray(lo) + np.asarray(hi)) / 2
    for angle in np.linspace(0, 2 * math.pi, 5)[:-1]:
        eye = centre + 3.0 * np.array([math.sin(angle), 0.3, math.cos(angle)])
        camera = Camera.look_at(eye, centre, np.array([0, 1.0, 0]), 96, 128)
        x, y = (backend.render(f, a.info.colour, camera, settings.colour(a.info.n_srcs, a.info.sh_limit),
                               settings.raster()).readback().rgb.clamp(0, 1).numpy() for f in (frame_a, frame_b))
        mse = float(np.mean((x - y) ** 2))
        assert mse == 0 or 10 * math.log10(1 / mse) >= 45
    a.close()
    b.close()


def test_compact_colours_without_their_range_are_one_line(tmp_path):
    from k4d_viewer.commands.common import load_model

    source = load_model(None).info.path
    compact = tmp_path / "compact.npz"
    assert main(["convert", str(source), "-o", str(compact), "--compact"]) == 0
    with np.load(compact) as data:
        arrays = {k: data[k] for k in data.files if k != "frame.1.rgbw_range"}
    broken = tmp_path / "broken.npz"
    np.savez(broken, **arrays)
    from k4d_viewer.errors import InputError

    with pytest.raises(InputError, match="rgbw_range.*missing"):
        open_model(broken)


@pytest.mark.parametrize("key, value", [("rgbw_range", np.array([0.0, 1e30], np.float32)),
                                        ("sh_scale", np.float16(60000.0))])
def test_a_range_or_scale_that_overflows_float16_is_one_line(tmp_path, key, value, capsys):
    """Finite stored values that decode beyond float16 (Inf colours or SH) are refused when the frame is read,
    naming the key, instead of rendering NaN."""
    from builders import random_frame
    from k4d_viewer.model import save_canonical
    from k4d_viewer.model.compact import compact_frame

    raw = random_frame(300, views=6, seed=1)
    frame = compact_frame({"xyz": raw["pcds"], "radius": raw["rads"][:, 0], "alpha": raw["occs"][:, 0],
                           "rgbw": raw["rgbws"], "cents": raw["cents"], "sh": raw["shs"]})
    frame[key] = np.broadcast_to(value, frame[key].shape).copy()
    save_canonical(tmp_path / "m.npz", [frame], colour="ibr")
    out = tmp_path / "out.png"
    assert main(["render", str(tmp_path / "m.npz"), "-o", str(out), "--size", "64x48"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and f"frame.0.{key}" in error and "Inf" in error
    assert not out.exists()


def test_compact_keeps_positions_and_stores_rgb_in_8_bits(tmp_path):
    """A capture's float32 positions stay float32 (float16 would move points ~1 mm at 2 m, against 2-3 mm point
    spacing), and float rgb colours become uint8, read back within half a step."""
    from k4d_viewer.model import save_canonical

    rng = np.random.default_rng(3)
    frame = {"xyz": (rng.normal(size=(500, 3)) + [0, 1.7, 0]).astype(np.float32),
             "radius": rng.uniform(0.002, 0.004, 500).astype(np.float32),
             "alpha": np.ones(500, np.float32), "rgb": rng.uniform(0, 1, (500, 3)).astype(np.float32)}
    save_canonical(tmp_path / "m.npz", [frame], colour="rgb")
    assert main(["convert", str(tmp_path / "m.npz"), "-o", str(tmp_path / "c.npz"), "--compact"]) == 0
    with np.load(tmp_path / "c.npz") as stored:
        assert stored["frame.0.xyz"].dtype == np.float32 and stored["frame.0.rgb"].dtype == np.uint8
    model = open_model(tmp_path / "c.npz")
    read = model.read_frame(0)
    assert np.array_equal(read.xyz.numpy(), frame["xyz"])
    assert np.abs(read.rgb.numpy() - frame["rgb"]).max() <= 0.5 / 255 + 1e-6
    model.close()
