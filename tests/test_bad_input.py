"""Every malformed input ends in one line naming what and where, exit code 2, no traceback, no output."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from builders import canonical_arrays, random_frame, write_runtime_npz
from k4d_viewer.cli import main


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err.strip()


def assert_one_line_error(capsys, argv, *expected, output=None):
    code, err = run_cli(capsys, *argv)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("k4d-viewer: error: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    if output is not None:
        assert not output.exists() and not list(output.parent.glob(output.name + "*.part"))
    return err


def save(path, arrays):
    np.savez(path, **arrays)
    return path


def render_args(model, tmp_path):
    return ["render", model, "-o", tmp_path / "out.png", "--size", "32x24", "--device", "cpu"]


# -- files that are not models ---------------------------------------------------------------------------

def test_missing_file(tmp_path, capsys):
    assert_one_line_error(capsys, ["info", tmp_path / "nope.npz"], "nope.npz", "no such file")


def test_directory_instead_of_file(tmp_path, capsys):
    assert_one_line_error(capsys, ["info", tmp_path], "holds no .ply files")


def test_not_a_zip(tmp_path, capsys):
    path = tmp_path / "text.npz"
    path.write_text("hello")
    assert_one_line_error(capsys, ["info", path], "text.npz", "not an .npz model")


def test_truncated_file(tmp_path, capsys):
    path = save(tmp_path / "model.npz", canonical_arrays())
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    assert_one_line_error(capsys, ["info", cut], "cut.npz", "truncated")


def test_truncated_member_data(tmp_path, capsys):
    """The zip directory survives but a member's bytes are damaged: caught when that frame is read."""
    path = save(tmp_path / "model.npz", canonical_arrays())
    data = bytearray(path.read_bytes())
    start = data.find(b"frame.1.rgbw.npy")
    data[start + 200:start + 400] = bytes(200)  # zero part of that member's data (CRC then fails)
    path.write_bytes(bytes(data))
    out = tmp_path / "out.png"
    assert_one_line_error(capsys, ["render", path, "--frame", "1", "-o", out, "--size", "32x24"],
                          "model.npz", "frame.1.rgbw", output=out)


def test_unknown_npz(tmp_path, capsys):
    path = save(tmp_path / "other.npz", {"weights": np.zeros(3)})
    assert_one_line_error(capsys, ["info", path], "other.npz", "not a k4d-viewer or 4K4D model", "'weights'")


# -- canonical format ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mutate, key, problem", [
    (lambda a: a.pop("frame.1.alpha"), "frame.1.alpha", "missing"),
    (lambda a: a.__setitem__("frame.0.colour", np.zeros(3)), "frame.0.colour", "unknown key"),
    (lambda a: a.__setitem__("frame.0.xyz", np.zeros((50, 2), np.float32)), "frame.0.xyz", "shape"),
    (lambda a: a.__setitem__("frame.1.rgbw", np.zeros((6, 10, 4), np.float16)), "frame.1.rgbw", "shape"),
    (lambda a: a.__setitem__("frame.1.cents", np.zeros((5, 3), np.float16)), "frame.1.cents", "S=6"),
    (lambda a: a.__setitem__("frame.0.xyz", np.zeros((50, 3), np.int32)), "frame.0.xyz", "dtype int32"),
    (lambda a: a.__setitem__("frame.0.sh", np.zeros((50, 3, 5), np.float16)), "frame.0.sh", "SH coefficients"),
    (lambda a: a.__setitem__("frame.2.xyz", np.zeros((5, 3), np.float16)), "frame.2.xyz", "n_frames = 2"),
    (lambda a: a.__setitem__("meta", np.array("{not json")), "meta", "not valid JSON"),
    (lambda a: a.__setitem__("meta", np.array(json.dumps({"format": "k4d-viewer", "version": 9}))), "meta",
     "version 9"),
    (lambda a: a.__setitem__("meta", np.array(json.dumps({"format": "k4d-viewer", "version": 1, "n_frames": 2,
                                                          "colour": "paint"}))), "meta", "colour"),
    (lambda a: a.__setitem__("meta", np.array(json.dumps({"format": "k4d-viewer", "version": 1, "n_frames": 3,
                                                          "colour": "ibr"}))), "frame.2.xyz", "missing"),
    (lambda a: a.__setitem__("meta", np.zeros(3)), "meta", "unicode string"),
])
def test_malformed_canonical_structure(tmp_path, capsys, mutate, key, problem):
    arrays = canonical_arrays()
    mutate(arrays)
    path = save(tmp_path / "bad.npz", arrays)
    assert_one_line_error(capsys, ["info", path], "bad.npz", f"'{key}'", problem)


@pytest.mark.parametrize("key, value, problem", [
    ("frame.1.xyz", np.nan, "NaN"),
    ("frame.1.rgbw", np.inf, "Inf"),
    ("frame.1.radius", -0.01, "negative"),
    ("frame.1.alpha", 1.5, "outside [0, 1]"),
])
def test_bad_values_are_caught_when_the_frame_is_read(tmp_path, capsys, key, value, problem):
    arrays = canonical_arrays()
    broken = arrays[key].astype(np.float32)
    broken.reshape(-1)[7] = value
    arrays[key] = broken
    path = save(tmp_path / "bad.npz", arrays)
    out = tmp_path / "out.png"
    assert_one_line_error(capsys, ["render", path, "--frame", "1", "-o", out, "--size", "32x24"],
                          "bad.npz", f"'{key}'", problem, output=out)
    assert_one_line_error(capsys, ["info", "--check", path], f"'{key}'", problem)


def test_range_render_leaves_no_frames_behind_when_a_later_frame_is_bad(tmp_path, capsys):
    arrays = canonical_arrays(count=3)
    arrays["frame.2.xyz"] = arrays["frame.2.xyz"].astype(np.float32)
    arrays["frame.2.xyz"][0, 0] = np.nan
    path = save(tmp_path / "bad.npz", arrays)
    out = tmp_path / "seq.png"
    assert_one_line_error(capsys, ["render", path, "--frames", "0:3", "-o", out, "--size", "32x24"],
                          "frame.2.xyz", "NaN")
    assert list(tmp_path.glob("seq*")) == []


def test_object_array_is_refused_without_unpickling(tmp_path, capsys):
    arrays = canonical_arrays()
    arrays["frame.0.alpha"] = np.array([object()] * 3, dtype=object)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # numpy pickles it; the loader must refuse, not unpickle
    assert_one_line_error(capsys, ["info", path], "'frame.0.alpha'", "object array")


# -- 4K4D runtime files ----------------------------------------------------------------------------------

def test_runtime_slot_without_colours(tmp_path, capsys):
    frame = random_frame(20)
    frame.pop("rgbws")
    frames = {0: random_frame(20), 1: frame}
    path = write_runtime_npz(tmp_path / "rt.npz", frames)
    assert_one_line_error(capsys, ["info", path], "rt.npz", "'sampler.rgbws.1'", "slot 1 has pcds but no rgbws")


def test_runtime_unknown_key(tmp_path, capsys):
    path = write_runtime_npz(tmp_path / "rt.npz", {0: random_frame(20)}, extra={"sampler.mystery.0": np.zeros(2)})
    assert_one_line_error(capsys, ["info", path], "'sampler.mystery.0'", "unknown key")


def test_runtime_wrong_shape(tmp_path, capsys):
    frame = random_frame(20)
    frame["rgbws"] = frame["rgbws"][:, :10]
    path = write_runtime_npz(tmp_path / "rt.npz", {0: frame})
    assert_one_line_error(capsys, ["info", path], "'sampler.rgbws.0'", "expected (S, N, 4)", "N=20")


def test_runtime_nan_points(tmp_path, capsys):
    frame = random_frame(20)
    frame["pcds"][3, 1] = np.nan
    path = write_runtime_npz(tmp_path / "rt.npz", {0: frame})
    out = tmp_path / "o.png"
    assert_one_line_error(capsys, ["render", path, "-o", out], "'sampler.pcds.0'", "NaN", output=out)


def test_runtime_object_array_that_is_not_a_placeholder(tmp_path, capsys):
    frame = random_frame(20)
    frame["occs"] = np.array([None, None], dtype=object)
    path = write_runtime_npz(tmp_path / "rt.npz", {0: frame})
    assert_one_line_error(capsys, ["info", path], "'sampler.occs.0'", "object array")


# -- cameras and flags -----------------------------------------------------------------------------------

@pytest.fixture
def runtime_model(tmp_path):
    return write_runtime_npz(tmp_path / "rt.npz", {0: random_frame(50)})


@pytest.mark.parametrize("content, problem", [
    ("{oops", "not valid JSON (line 1"),
    (json.dumps({"H": 10, "W": 10, "K": np.eye(3).tolist(), "R": np.eye(3).tolist()}), "'T' is missing"),
    (json.dumps({"H": 10, "W": 10, "K": [[1, 0], [0, 1]], "R": np.eye(3).tolist(), "T": [0, 0, 0]}),
     "'K' must have shape"),
    (json.dumps({"H": 10, "W": 10, "K": np.eye(3).tolist(), "R": (2 * np.eye(3)).tolist(), "T": [0, 0, 0]}),
     "not a rotation"),
    (json.dumps({"H": -1, "W": 10, "K": np.eye(3).tolist(), "R": np.eye(3).tolist(), "T": [0, 0, 0]}),
     "'H' must be a positive integer"),
    (json.dumps({"H": 10, "W": 10, "K": np.eye(3).tolist(), "R": np.eye(3).tolist(), "T": [0, 0, 0],
                 "n": 5, "f": 1}), "0 < n < f"),
    ("[1, 2]", "must be an object"),
])
def test_bad_camera_json(tmp_path, capsys, runtime_model, content, problem):
    cam = tmp_path / "cam.json"
    cam.write_text(content)
    out = tmp_path / "o.png"
    assert_one_line_error(capsys, ["render", runtime_model, "--camera", cam, "-o", out], "cam.json", problem,
                          output=out)


@pytest.mark.parametrize("flags, problem", [
    (["--layers", "0"], "--layers"),
    (["--frame", "5"], "--frame: 5 is out of range"),
    (["--frames", "7:9"], "selects no frame"),
    (["--frames", "x"], "not A:B"),
    (["--view", "0"], "no capture cameras"),
    (["--bg", "1,2"], "--bg"),
    (["--sh-degree", "4"], "--sh-degree"),
    (["--device", "cuda:0"] if not __import__("torch").cuda.is_available() else ["--device", "nonsense"],
     "--device"),
    (["--up", "w"], "unknown up axis"),
])
def test_bad_flags(tmp_path, capsys, runtime_model, flags, problem):
    out = tmp_path / "o.png"
    assert_one_line_error(capsys, ["render", runtime_model, "-o", out, "--size", "32x24", *flags], problem,
                          output=out)


def test_bad_output_paths(tmp_path, capsys, runtime_model):
    assert_one_line_error(capsys, ["render", runtime_model, "-o", tmp_path / "o.jpg"], "must be a .png")
    assert_one_line_error(capsys, ["render", runtime_model, "-o", tmp_path / "no" / "o.png"], "does not exist")


def test_process_exit_code_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04garbage")
    result = subprocess.run([sys.executable, "-m", "k4d_viewer.cli", "info", str(bad)], capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and "bad.npz" in result.stderr


@pytest.mark.parametrize("flags, problem", [
    (["--host-cache", "lots"], "--host-cache: 'lots' is not a size"),
    (["--frame", "99"], "--frame: 99 is out of range"),
    (["--screenshot-dir", "/nonexistent/shots"], "screenshot folder does not exist"),
])
def test_bad_viewer_flags(capsys, flags, problem):
    assert_one_line_error(capsys, ["view", *flags], problem)


def test_input_errors_cross_process_boundaries_unchanged():
    """Bake workers are processes: an InputError raised there must reach the command as the same one line."""
    import pickle

    from k4d_viewer.errors import InputError

    error = InputError("images/00/000001.png", "not an image file (unknown format)", key="k\x01")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, InputError) and str(copy) == str(error)
