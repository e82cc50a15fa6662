"""Videos and PNG sequences along camera paths: every output frame is the render of the path's camera."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from k4d_viewer.cli import main
from k4d_viewer.paths.pathfile import load_path
from PIL import Image

SIZE = "320x240"  # 4:2:0 chroma of the demo's striped shirt needs a few pixels per stripe


def render_cli(*argv) -> int:
    return main([str(a) for a in argv])


def decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def reference(tmp_path, camera, frame: int, name: str) -> np.ndarray:
    """The same camera rendered by the single-frame command."""
    cam = tmp_path / f"{name}.json"
    cam.write_text(json.dumps(camera.to_json_dict()))
    out = tmp_path / f"{name}.png"
    assert render_cli("render", "--camera", cam, "--frame", frame, "-o", out) == 0
    return np.asarray(Image.open(out))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.fixture(scope="module")
def orbit(tmp_path_factory):
    """An orbit of the demo with time playing: its path file and the sampled cameras at SIZE."""
    folder = tmp_path_factory.mktemp("orbit")
    path_file = folder / "orbit.json"
    assert render_cli("render", "--orbit", "--play", "--seconds", "1", "--fps", "12", "--size", SIZE,
                      "--save-path", path_file) == 0
    samples = load_path(path_file).sample((320, 240))
    return path_file, samples


def test_h264_video_matches_single_frame_renders(tmp_path, orbit):
    path_file, samples = orbit
    out = tmp_path / "orbit.mp4"
    assert render_cli("render", "--path", path_file, "-o", out) == 0
    frames = decode(out)
    assert len(frames) == len(samples) == 12 and frames[0].shape == (240, 320, 3)
    for index in (0, 5, 11):
        expected = reference(tmp_path, samples[index].camera, samples[index].frame, f"ref{index}")
        assert psnr(frames[index], expected) >= 35, index
    assert samples[11].frame > samples[0].frame  # time advanced along the orbit
    data = out.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index at the front: plays while downloading
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert stream.codec_context.color_primaries == 1 and stream.codec_context.colorspace == 1  # BT.709


def test_ffv1_and_png_sequences_are_exact(tmp_path, orbit):
    path_file, samples = orbit
    assert render_cli("render", "--path", path_file, "-o", tmp_path / "lossless.mkv", "--codec", "ffv1") == 0
    assert render_cli("render", "--path", path_file, "-o", tmp_path / "f.png") == 0
    frames = decode(tmp_path / "lossless.mkv")
    for index in (0, 7):
        expected = reference(tmp_path, samples[index].camera, samples[index].frame, f"ref{index}")
        assert np.array_equal(frames[index], expected)
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"f_{index:04d}.png")), expected)
    assert len(list(tmp_path.glob("f_*.png"))) == 12


def test_another_size_renders_the_same_framing(tmp_path, orbit):
    path_file, _ = orbit
    assert render_cli("render", "--path", path_file, "-o", tmp_path / "big.mkv", "--codec", "ffv1",
                      "--size", "640x480") == 0
    assert render_cli("render", "--path", path_file, "-o", tmp_path / "small.mkv", "--codec", "ffv1") == 0
    big, small = decode(tmp_path / "big.mkv")[3], decode(tmp_path / "small.mkv")[3]
    halved = big.reshape(240, 2, 320, 2, 3).mean(axis=(1, 3))
    lit_big, lit_small = halved.max(-1) > 20, small.max(-1) > 20
    assert (lit_big & lit_small).sum() / (lit_big | lit_small).sum() > 0.85  # the figure in the same place


def test_interrupted_png_sequence_keeps_frames_and_resumes(tmp_path, orbit, monkeypatch, capsys):
    import k4d_viewer.commands.render as render_command

    path_file, _ = orbit
    real = render_command.render_frame
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(render_command, "render_frame", interrupted)
    assert render_cli("render", "--path", path_file, "-o", tmp_path / "r.png") == 130
    kept = sorted(p.name for p in tmp_path.glob("r_*.png"))
    assert kept == [f"r_{i:04d}.png" for i in range(5)] and not list(tmp_path.glob("*.part"))
    assert "--resume" in capsys.readouterr().out
    monkeypatch.setattr(render_command, "render_frame", real)
    before = {name: (tmp_path / name).stat().st_mtime_ns for name in kept}
    assert render_cli("render", "--path", path_file, "-o", tmp_path / "r.png", "--resume") == 0
    assert len(list(tmp_path.glob("r_*.png"))) == 12
    assert all((tmp_path / name).stat().st_mtime_ns == t for name, t in before.items())  # not re-rendered
    assert render_cli("render", "--path", path_file, "-o", tmp_path / "whole.png") == 0
    for index in range(12):
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"r_{index:04d}.png")),
                              np.asarray(Image.open(tmp_path / f"whole_{index:04d}.png")))


def test_interrupted_video_leaves_nothing(tmp_path, orbit, monkeypatch):
    import k4d_viewer.commands.render as render_command

    path_file, _ = orbit

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(render_command, "render_frame", interrupted)
    assert render_cli("render", "--path", path_file, "-o", tmp_path / "v.mp4") == 130
    assert list(tmp_path.iterdir()) == []


def test_presets_modes_and_fixed_camera_videos(tmp_path):
    assert render_cli("render", "--bullet-time", 3, "--seconds", "0.5", "--fps", "8", "--size", SIZE,
                      "--mode", "depth", "-o", tmp_path / "bt.webm") == 0
    assert len(decode(tmp_path / "bt.webm")) == 4
    assert render_cli("render", "--through-cameras", "--seconds", "1", "--fps", "8", "--size", SIZE,
                      "-o", tmp_path / "tc.mp4", "--codec", "hevc") == 0
    assert len(decode(tmp_path / "tc.mp4")) == 8
    assert render_cli("render", "--view", 1, "--frames", "10:16", "--size", SIZE, "-o", tmp_path / "fixed.mkv",
                      "--codec", "ffv1") == 0
    frames = decode(tmp_path / "fixed.mkv")
    assert len(frames) == 6 and not np.array_equal(frames[0], frames[5])  # time plays, camera fixed
    assert render_cli("render", "--view", 1, "--frame", 15, "--size", SIZE, "-o", tmp_path / "f15.png") == 0
    assert np.array_equal(frames[5], np.asarray(Image.open(tmp_path / "f15.png")))
    assert render_cli("render", "--orbit", "--seconds", "0.25", "--fps", "8", "--size", SIZE, "--rgba",
                      "-o", tmp_path / "a.mkv") == 0
    with av.open(str(tmp_path / "a.mkv")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "bgra"


@pytest.mark.parametrize("argv, problem", [
    (["--orbit", "-o", "x.mp4", "--codec", "divx"], "unknown codec 'divx' (available: h264, hevc, av1, vp9, ffv1)"),
    (["--orbit", "-o", "x.webm", "--codec", "h264"], "h264 does not go in a .webm file"),
    (["--orbit", "-o", "x.mp4", "--size", "95x64"], "needs an even width and height"),
    (["--orbit", "-o", "x.mp4", "--rgba"], "has no alpha channel"),
    (["--orbit", "-o", "x.avi"], "must be a .png (frames) or a video"),
    (["--orbit", "--frames", "0:3", "-o", "x.mp4"], "--frames: does not go with a camera path"),
    (["--play", "-o", "x.mp4"], "--play: applies to --orbit"),
    (["--orbit", "-o", "x.mp4", "--resume"], "--resume: applies to PNG sequences"),
    (["--orbit", "-o", "x.mp4", "--seconds", "0"], "--seconds"),
    (["--bullet-time", "999", "-o", "x.mp4"], "--bullet-time: 999 is out of range"),
    (["--path", "missing.json", "-o", "x.mp4"], "missing.json: no such file"),
])
def test_bad_video_flags(tmp_path, capsys, monkeypatch, argv, problem):
    monkeypatch.chdir(tmp_path)
    code = render_cli("render", *argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and problem in err, err
    assert list(tmp_path.iterdir()) == []
