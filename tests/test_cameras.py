"""Cameras: OpenCV convention, JSON files, EasyVolcap rigs, the default framing camera."""

from __future__ import annotations

import json

import numpy as np
import pytest
from k4d_viewer.camera import Camera, default_camera, load_camera_json, save_camera_json
from k4d_viewer.errors import InputError
from k4d_viewer.rig import load_rig


def project(camera: Camera, point: np.ndarray) -> np.ndarray:
    x = camera.R @ point + camera.T
    return (camera.K @ (x / x[2]))[:2]


def test_look_at_puts_the_target_in_the_centre_with_up_up():
    cam = Camera.look_at(np.array([3.0, 1.0, 2.0]), np.array([0.0, 1.0, 0.0]), np.array([0, 1.0, 0]), 200, 100)
    np.testing.assert_allclose(project(cam, np.array([0.0, 1.0, 0.0])), [100, 50], atol=1e-9)
    assert project(cam, np.array([0.0, 1.5, 0.0]))[1] < 50  # higher in the world = smaller row
    np.testing.assert_allclose(cam.centre, [3.0, 1.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-12)


def test_json_round_trip_and_clipboard_fields(tmp_path):
    cam = Camera.look_at(np.array([1.0, -2.0, 0.5]), np.zeros(3), np.array([0, 0, 1.0]), 640, 480, near=0.2,
                         far=30)
    path = tmp_path / "cam.json"
    save_camera_json(cam, path)
    data = json.loads(path.read_text())
    assert set(data) == {"H", "W", "K", "R", "T", "n", "f"} and np.shape(data["T"]) == (3, 1)
    again = load_camera_json(path)
    np.testing.assert_allclose(again.K, cam.K)
    np.testing.assert_allclose(again.R, cam.R)
    np.testing.assert_allclose(again.T, cam.T)
    assert (again.width, again.height, again.near, again.far) == (640, 480, 0.2, 30)
    data.update({"T": [0, 0, 1], "t": 0.5, "bounds": [[0, 0, 0], [1, 1, 1]]})  # flat T; extra clipboard keys
    path.write_text(json.dumps(data))
    assert load_camera_json(path).T.tolist() == [0, 0, 1]


def test_resized_scales_intrinsics():
    cam = Camera(K=np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]), R=np.eye(3), T=np.zeros(3),
                 width=640, height=480)
    big = cam.resized(1280, 960)
    np.testing.assert_allclose(big.K, [[1000, 0, 640], [0, 1000, 480], [0, 0, 1]])
    point = np.array([0.1, -0.2, 2.0])
    np.testing.assert_allclose(project(big, point), project(cam, point) * 2)


@pytest.mark.parametrize("up, lo, hi", [
    ("+z", (-0.4, -0.3, 0.0), (0.4, 0.3, 1.8)),
    ("+y", (-0.4, 0.0, -0.3), (0.4, 1.8, 0.3)),
    ("-y", (-0.4, -1.8, -0.3), (0.4, 0.0, 0.3)),
])
def test_default_camera_frames_the_bounds(up, lo, hi):
    lo, hi = np.array(lo), np.array(hi)
    cam = default_camera(lo, hi, up, 320, 240)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    pixels = np.array([project(cam, c) for c in corners])
    assert np.all(pixels >= 0) and np.all(pixels[:, 0] <= 320) and np.all(pixels[:, 1] <= 240)
    assert pixels[:, 1].max() - pixels[:, 1].min() > 0.6 * 240  # fills most of the image height


def test_zju_mocap_rig(shared_data):
    cams = load_rig(shared_data / "cameras" / "zju-mocap-23")
    assert len(cams) == 23
    assert cams[0].name == "Camera_B12"  # order of names: in intri.yml, 'none' placeholders skipped
    radii = [np.linalg.norm(c.centre[:2] - np.mean([d.centre[:2] for d in cams], 0)) for c in cams]
    assert 2.0 < np.median(radii) < 3.5  # a ring of radius about 2.8 m
    for cam in cams:
        np.testing.assert_allclose(cam.R @ cam.R.T, np.eye(3), atol=1e-6)
        assert 900 < cam.width < 1200 and 900 < cam.height < 1200


def test_rig_errors(tmp_path):
    with pytest.raises(InputError, match="intri.yml: missing"):
        load_rig(tmp_path)
    (tmp_path / "intri.yml").write_text("%YAML:1.0\n---\nnames: [a]\nK_a: !!opencv-matrix\n   rows: 3\n"
                                        "   cols: 3\n   dt: d\n   data: [1, 0, 0, 0, 1, 0, 0, 0, 1]\n")
    (tmp_path / "extri.yml").write_text("%YAML:1.0\n---\nT_a: [0, 0, 0]\n")
    with pytest.raises(InputError, match="neither R_a nor Rot_a"):
        load_rig(tmp_path)
    (tmp_path / "extri.yml").write_text("%YAML:1.0\n---\nR_a: : :\n")
    with pytest.raises(InputError, match="not a valid OpenCV YAML file"):
        load_rig(tmp_path)
