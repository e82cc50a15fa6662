"""PLY sequences: every format variant, detection of units and up axis, bad files, and the real 8i data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_window_driver
from k4d_viewer.camera import Camera, save_camera_json
from k4d_viewer.cli import main
from k4d_viewer.model import open_model
from k4d_viewer.model.ply import detect_units, detect_up, expand_inputs, read_points
from PIL import Image
from plyfile import PlyData, PlyElement


def person(n: int = 3000, seed: int = 0, up_axis: int = 1) -> np.ndarray:
    """Points on a 1.7 m tall cylinder-ish body (metres), tall along ``up_axis``."""
    rng = np.random.default_rng(seed)
    h, t = rng.uniform(0, 1.7, n), rng.uniform(0, 2 * np.pi, n)
    xyz = np.stack([0.2 * np.cos(t), h, 0.12 * np.sin(t)], 1)
    return xyz[:, [0, 2, 1]] if up_axis == 2 else xyz


def write_ply(path: Path, xyz: np.ndarray, colours: np.ndarray | None = None, coord="f4", colour_type="u1",
              text=False, byte_order="<", extra=True) -> Path:
    fields = [("x", coord), ("y", coord), ("z", coord)]
    if extra:
        fields += [("nx", "f4"), ("ny", "f4"), ("nz", "f4")]
    if colours is not None:
        fields += [("red", colour_type), ("green", colour_type), ("blue", colour_type)]
    data = np.zeros(len(xyz), dtype=fields)
    for i, axis in enumerate("xyz"):
        data[axis] = xyz[:, i]
    if colours is not None:
        for i, name in enumerate(("red", "green", "blue")):
            data[name] = colours[:, i]
    PlyData([PlyElement.describe(data, "vertex")], text=text, byte_order=byte_order).write(str(path))
    return path


@pytest.mark.parametrize("text, order, coord, colour_type, scale", [
    (False, "<", "f4", "u1", 255), (False, ">", "f8", "u2", 65535), (True, "=", "f4", "f4", 1.0),
    (True, "=", "f8", "u1", 255), (False, "<", "f4", "f4", 255.0),
])
def test_format_variants(tmp_path, text, order, coord, colour_type, scale):
    xyz = person(200)
    colours01 = np.random.default_rng(1).uniform(0, 1, (200, 3))
    stored = np.round(colours01 * scale) if colour_type != "f4" or scale > 1 else colours01
    path = write_ply(tmp_path / "f.ply", xyz, stored.astype(colour_type), coord, colour_type, text, order)
    got_xyz, got_rgb = read_points(path)
    np.testing.assert_allclose(got_xyz, xyz, atol=1e-5)
    np.testing.assert_allclose(got_rgb, np.clip(stored / scale, 0, 1), atol=1e-6)


def test_detection_of_units_and_up():
    xyz = person()
    assert detect_units(xyz)[:2] == ("m", 1.0)
    assert detect_units(xyz * 1000)[:2] == ("mm", 0.001)
    assert detect_units(xyz * 100)[0] == "cm"
    units, scale, _ = detect_units(np.round(xyz * 600))  # an integer voxel grid
    assert units == "voxel" and scale == pytest.approx(1.8 / 1020, rel=0.02)
    assert detect_up(xyz)[0] == "+y" and detect_up(person(up_axis=2))[0] == "+z"


def test_expand_inputs_natural_order(tmp_path):
    for i in (10, 2, 1):
        write_ply(tmp_path / f"frame{i}.ply", person(50))
    names = [p.name for p in expand_inputs([tmp_path])]
    assert names == ["frame1.ply", "frame2.ply", "frame10.ply"]
    assert [p.name for p in expand_inputs([str(tmp_path / "frame1*.ply")])] == ["frame1.ply", "frame10.ply"]


def test_sequence_in_millimetres_z_up_converts_and_renders(tmp_path, capsys):
    folder = tmp_path / "seq"
    folder.mkdir()
    for i in range(3):
        write_ply(folder / f"f{i:03d}.ply", person(4000, seed=i, up_axis=2) * 1000,
                  np.full((4000, 3), [200, 50, 30], np.uint8))
    out = tmp_path / "seq.npz"
    assert main(["convert", str(folder), "-o", str(out), "--fps", "25"]) == 0
    printed = capsys.readouterr().out
    assert "millimetres" in printed and "+z" in printed and "3 frames" in printed
    model = open_model(out)
    assert model.info.fps == 25 and model.info.up == "+z" and model.info.n_frames == 3
    frame = model.read_frame(1)
    assert float(frame.xyz.float().max()) < 2.0  # converted to metres
    image = tmp_path / "r.png"
    assert main(["render", str(out), "-o", str(image), "--size", "160x120"]) == 0
    pixels = np.asarray(Image.open(image)).reshape(-1, 3)
    lit = pixels[pixels.max(1) > 30]
    assert len(lit) > 500 and np.allclose(lit.mean(0), [200, 50, 30], atol=12)  # colours come through
    # the same folder opens directly, no convert step
    assert main(["render", str(folder), "-o", str(image), "--size", "160x120"]) == 0


@pytest.mark.parametrize("make, problem", [
    (lambda p: p.write_text("hello\n"), "not a PLY file"),
    (lambda p: p.write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\n"), "no end_header"),
    (lambda p: p.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                            "end_header\n1 2\n"), "no property 'z'"),
    (lambda p: p.write_bytes(write_ply(p, person(100)).read_bytes()[:-150]), "row"),
    (lambda p: p.write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                            "property float z\nend_header\n1 2 3\n1 nan 3\n"), "NaN"),
    (lambda p: p.write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                            "property float z\nend_header\n1 2 3\n1 oops 3\n"), "row 1"),
])
def test_bad_ply_files(tmp_path, capsys, make, problem):
    folder = tmp_path / "seq"
    folder.mkdir()
    write_ply(folder / "a0.ply", person(100))
    bad = folder / "a1.ply"
    make(bad)
    out = tmp_path / "out.npz"
    code = main(["convert", str(folder), "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "a1.ply" in err and problem in err, err
    assert not out.exists() and not list(tmp_path.glob("out.npz*"))


def test_missing_colours_in_a_later_frame_is_reported(tmp_path, capsys):
    write_ply(tmp_path / "f0.ply", person(100), np.zeros((100, 3), np.uint8))
    write_ply(tmp_path / "f1.ply", person(100))
    assert main(["convert", str(tmp_path), "-o", str(tmp_path / "o.npz")]) == 2
    assert "f1.ply: has no vertex colours" in capsys.readouterr().err


def test_runtime_npz_repacks_identically(tmp_path):
    from builders import camera_looking_at_origin, random_frame, write_runtime_npz

    model = write_runtime_npz(tmp_path / "rt.npz", {0: random_frame(300, seed=1), 1: random_frame(300, seed=2)})
    out = tmp_path / "canonical.npz"
    assert main(["convert", str(model), "-o", str(out), "--fps", "24"]) == 0
    assert open_model(out).info.fps == 24 and not open_model(out).info.compressed
    cam = tmp_path / "cam.json"
    save_camera_json(camera_looking_at_origin(80, 60), cam)
    images = []
    for source in (model, out):
        path = tmp_path / f"{source.stem}.png"
        assert main(["render", str(source), "--frame", "1", "--camera", str(cam), "-o", str(path)]) == 0
        images.append(np.asarray(Image.open(path)))
    np.testing.assert_array_equal(images[0], images[1])


# -- the real 8i sequence --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def loot(tmp_path_factory):
    data = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "8i-loot"
    if not data.is_dir():
        pytest.skip(f"real test data not found at {data}")
    out = tmp_path_factory.mktemp("loot") / "loot_d8.npz"
    rig = data.parent / "cameras" / "zju-mocap-23"
    assert main(["convert", str(data / "d8"), "-o", str(out), "--cameras", str(rig)]) == 0
    return data, out


def test_8i_convert_and_info(loot, capsys):
    _, out = loot
    assert main(["info", "--check", str(out)]) == 0  # every frame reads and validates
    printed = capsys.readouterr().out
    assert "frames     30 at 30 fps" in printed and "cameras    23" in printed and "all 30 frames" in printed


def test_8i_render_is_closed_and_coloured(loot, tmp_path):
    from scipy import ndimage

    data, out = loot
    camera = Camera.look_at(np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.95, 0.0]), np.array([0, 1.0, 0]),
                            1920, 1080, fov_y_deg=50)  # about 2 m in front of the person
    save_camera_json(camera, tmp_path / "cam.json")
    paths = {mode: tmp_path / f"{mode}.png" for mode in ("alpha", "color")}
    for mode, path in paths.items():
        assert main(["render", str(out), "--camera", str(tmp_path / "cam.json"), "--mode", mode, "-o",
                     str(path)]) == 0
    alpha = np.asarray(Image.open(paths["alpha"]))[..., 0] / 255
    body = ndimage.binary_erosion(ndimage.binary_fill_holes(ndimage.binary_closing(alpha > 0.05, iterations=3)),
                                  iterations=4)
    assert body.sum() > 100_000
    assert (alpha[body] < 0.5).mean() < 0.005  # no see-through holes inside the person
    # colours: the shown front surface against the points that make it (opaque splats show captured colours)
    from capture_quality import visible_colour
    from k4d_viewer.model import open_model

    model = open_model(out)
    frame = model.read_frame(0)
    colour = np.asarray(Image.open(paths["color"])).astype(float) / 255
    from k4d_viewer.render import get_backend
    from k4d_viewer.settings import RenderSettings

    settings = RenderSettings().for_model(model.info)
    depth = get_backend("torch").render(frame, model.info.colour, camera, settings.colour(),
                                        settings.raster()).readback().depth.numpy()
    rgb = frame.rgb.float().numpy() / (255.0 if frame.rgb.dtype == torch.uint8 else 1.0)
    seen = visible_colour(frame.xyz.double().numpy(), rgb, frame.radius.float().numpy(), camera, depth, body)
    assert np.allclose(colour[body].mean(0), seen, atol=0.05)
    model.close()


def test_8i_direct_open_and_depth10(loot, tmp_path):
    data, _ = loot
    image = tmp_path / "direct.png"
    assert main(["render", str(data / "d8" / "*.ply"), "--frame", "29", "-o", str(image), "--size",
                 "320x180"]) == 0
    d10 = tmp_path / "d10.npz"
    assert main(["convert", str(data / "d10" / "loot_d10_000[12].ply"), "-o", str(d10)]) == 0
    model = open_model(d10)
    assert model.info.n_frames == 2 and min(model.info.points_per_frame) > 700_000
    assert main(["render", str(d10), "--frame", "1", "-o", str(image), "--size", "320x180"]) == 0


def test_8i_plays_through_all_frames_in_the_viewer(loot, xvfb_display, tmp_path):
    _, out = loot
    results = run_window_driver(xvfb_display, tmp_path, "--play", str(out))
    assert results["playing"] and results["shown"] == list(range(30))
