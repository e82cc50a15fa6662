"""Camera paths: interpolation, the viewer's path files, nerfstudio and EasyVolcap interchange, presets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from k4d_viewer.camera import Camera
from k4d_viewer.cli import main
from k4d_viewer.errors import InputError
from k4d_viewer.paths import CameraPath, Keyframe, rescale
from k4d_viewer.paths.easyvolcap import load_easyvolcap_path, save_easyvolcap
from k4d_viewer.paths.nerfstudio import nerfstudio_json, path_from_nerfstudio
from k4d_viewer.paths.pathfile import load_path, path_to_json, save_path
from k4d_viewer.paths.presets import Timing, orbit, spiral, through_cameras
from scipy.spatial.transform import Rotation


def look(eye, target=(0, 0, 0), size=(64, 48), fov=40.0) -> Camera:
    return Camera.look_at(np.asarray(eye, float), np.asarray(target, float), np.array([0, 0, 1.0]), *size,
                          fov_y_deg=fov, near=0.1, far=50.0)


def three_keys(**kwargs) -> CameraPath:
    keys = (Keyframe(look([3, 0, 1]), 0.0, 1.0), Keyframe(look([0, 3, 1.5], fov=30), 10.0, 2.0),
            Keyframe(look([-3, 0, 0.5]), 20.0))
    return CameraPath(keys, fps=10.0, **kwargs)


def project(camera: Camera, point) -> np.ndarray:
    x = camera.K @ (camera.R @ np.asarray(point, float) + camera.T)
    return x[:2] / x[2]


def test_path_passes_through_its_keyframes_at_their_times():
    path = three_keys()
    samples = path.sample()
    assert len(samples) == 31  # 3 s at 10 fps, plus the last keyframe
    for index, key in ((0, path.keyframes[0]), (10, path.keyframes[1]), (30, path.keyframes[2])):
        camera = samples[index].camera
        assert np.allclose(camera.centre, key.camera.centre, atol=1e-9)
        assert np.allclose(camera.R, key.camera.R, atol=1e-9)
        assert np.allclose(camera.K, key.camera.K, atol=1e-9)
        assert samples[index].time == pytest.approx(key.t)
    assert samples[5].time == pytest.approx(5.0) and samples[20].time == pytest.approx(15.0)  # linear time


def test_motion_is_smooth_and_rotations_never_flip():
    # keyframes whose quaternions come out with opposite signs, and a half-turn-plus between neighbours
    keys = tuple(Keyframe(look([3 * math.cos(a), 3 * math.sin(a), 1.0])) for a in np.radians([0, 100, 200, 300]))
    path = CameraPath(keys, fps=60.0, tension=0.0)
    cameras = [s.camera for s in path.sample()]
    steps = [np.degrees(Rotation.from_matrix(b.R @ a.R.T).magnitude()) for a, b in zip(cameras, cameras[1:])]
    assert max(steps) < 3.0  # 100° per second at 60 fps: ~1.7° a frame, never a jump
    speeds = np.linalg.norm(np.diff([c.centre for c in cameras], axis=0), axis=1)
    assert np.all(np.abs(np.diff(speeds)) < 0.01)  # no kinks in the speed (C1 through keyframes)


def test_tension_tightens_the_curve():
    loose, tight = three_keys(tension=-0.5), three_keys(tension=0.9)
    chord_mid = (loose.keyframes[0].camera.centre + loose.keyframes[1].camera.centre) / 2
    d_loose = np.linalg.norm(loose.at(0.5, 64, 48).camera.centre - chord_mid)
    d_tight = np.linalg.norm(tight.at(0.5, 64, 48).camera.centre - chord_mid)
    assert d_tight < d_loose


def test_another_output_size_keeps_the_framing():
    path = three_keys()
    small, large = path.sample((64, 48)), path.sample((640, 480))
    wide = path.sample((128, 48))
    for a, b, c in zip(small, large, wide):
        for point in ([0, 0, 0], [0.3, -0.2, 0.5]):
            assert np.allclose(project(a.camera, point) / [64, 48], project(b.camera, point) / [640, 480], atol=1e-9)
            # a wider image shows more at the sides: same vertical framing, same centre
            assert project(a.camera, point)[1] == pytest.approx(project(c.camera, point)[1])


def test_loop_closes_and_viewer_json_round_trips(tmp_path):
    path = three_keys(loop=True)
    assert path.n_frames() == 40  # 1 + 2 + 1 (default) seconds, no repeated first frame
    assert np.allclose(path.at(path.seconds - 1e-9, 64, 48).camera.centre, path.keyframes[0].camera.centre,
                       atol=1e-6)
    save_path(path, tmp_path / "p.json")
    again = load_path(tmp_path / "p.json")
    assert (again.fps, again.loop, again.tension, again.size, len(again.keyframes)) == \
        (path.fps, path.loop, path.tension, path.output_size, 3)
    for a, b in zip(path.sample(), again.sample()):
        assert np.allclose(a.camera.K, b.camera.K) and np.allclose(a.camera.R, b.camera.R)


@pytest.mark.parametrize("mutate, problem", [
    (lambda d: d.pop("keyframes"), "'keyframes' must be a non-empty list"),
    (lambda d: d.__setitem__("keyframes", []), "non-empty"),
    (lambda d: d["keyframes"][1].pop("camera"), "keyframe 1: must be an object with a 'camera'"),
    (lambda d: d["keyframes"][2]["camera"].__setitem__("R", [[2, 0, 0], [0, 1, 0], [0, 0, 1]]),
     "keyframe 2: camera field 'R' is not a rotation"),
    (lambda d: d["keyframes"][0]["camera"].__setitem__("K", [[1, 0], [0, 1]]), "keyframe 0: camera field 'K'"),
    (lambda d: d["keyframes"][0].__setitem__("t", float("nan")), "keyframe 0: field 't'"),
    (lambda d: d["keyframes"][0].__setitem__("duration", -1), "field 'duration'"),
    (lambda d: d.__setitem__("fps", 0), "field 'fps'"),
    (lambda d: d.__setitem__("size", [0, 10]), "field 'size'"),
    (lambda d: d.__setitem__("version", 7), "version 7"),
    (lambda d: d.__setitem__("tension", "tight"), "field 'tension'"),
])
def test_malformed_path_files_are_one_line_errors(tmp_path, capsys, mutate, problem):
    data = path_to_json(three_keys())
    mutate(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    out = tmp_path / "o.mp4"
    code = main(["render", "--path", str(bad), "-o", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "bad.json" in err and problem in err, err
    assert not out.exists() and not list(tmp_path.glob("o.mp4*"))


def test_nerfstudio_conventions_and_round_trip():
    # a camera 2 m along +x, looking back at the origin, z up: in OpenGL axes its -z points along -x world
    c2w = np.eye(4)
    c2w[:3, :3] = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], float)  # columns: right=+y, up=+z, back=+x
    c2w[:3, 3] = [2, 0, 0]
    data = {"render_width": 320, "render_height": 240, "fps": 24, "camera_path": [
        {"camera_to_world": c2w.reshape(-1).tolist(), "fov": 60, "aspect": 4 / 3, "render_time": 0.5}]}
    path = path_from_nerfstudio(data, "cam.json", n_model_frames=11)
    camera = path.samples[0].camera
    assert np.allclose(camera.centre, [2, 0, 0])
    assert np.allclose(camera.R[2], [-1, 0, 0])  # OpenCV +z (forward) looks toward the origin
    assert np.allclose(project(camera, [0, 0, 0]), [160, 120])
    assert camera.K[1, 1] == pytest.approx(120 / math.tan(math.radians(30)))
    assert path.samples[0].frame == 5 and path.fps == 24
    assert project(camera, [0, 0, 0.1])[1] < 120 and project(camera, [0, 0.1, 0])[0] > 160  # +z up, +y right
    # read -> write -> read gives the same cameras and times
    original = path_from_nerfstudio(nerfstudio_json(three_keys(), 21), "a.json", 21)
    again = path_from_nerfstudio(json.loads(json.dumps(nerfstudio_json(original, 21))), "b.json", 21)
    assert len(original.samples) == len(again.samples) == 31
    for a, b in zip(original.samples, again.samples):
        assert np.allclose(a.camera.K, b.camera.K) and np.allclose(a.camera.R, b.camera.R, atol=1e-12)
        assert np.allclose(a.camera.T, b.camera.T) and a.frame == b.frame


def test_nerfstudio_without_render_time_and_bad_entries():
    camera_path = nerfstudio_json(three_keys(), 1)
    assert all("render_time" not in e for e in camera_path["camera_path"])
    path = path_from_nerfstudio(camera_path, "x.json", n_model_frames=50, start_frame=7)
    assert {s.frame for s in path.samples} == {7}
    camera_path["camera_path"][3]["fov"] = 0
    with pytest.raises(InputError, match=r"camera_path\[3\].*'fov'"):
        path_from_nerfstudio(camera_path, "x.json")
    camera_path["camera_path"][3]["fov"] = 40
    camera_path["camera_path"][4]["camera_to_world"] = [1.0] * 16
    with pytest.raises(InputError, match=r"camera_path\[4\].*not a rotation"):
        path_from_nerfstudio(camera_path, "x.json")


def test_easyvolcap_folder_round_trip(tmp_path):
    cameras = [s.camera for s in three_keys().sample()][:7]
    save_easyvolcap(cameras, tmp_path / "path")
    path = load_easyvolcap_path(tmp_path / "path", fps=25.0, start_frame=3)
    assert len(path.samples) == 7 and path.fps == 25.0
    for a, b in zip(cameras, path.samples):
        assert np.allclose(a.K, b.camera.K) and np.allclose(a.R, b.camera.R, atol=1e-9)
        assert np.allclose(a.T, b.camera.T) and b.frame == 3


def test_orbit_is_a_circle_at_the_start_views_height_and_distance():
    start = look([0, -3, 1.2], target=(0, 0, 0.8))
    path = orbit(start, np.array([0, 0, 0.8]), "+z", seconds=4, fps=30, timing=Timing(5, 0, 49))
    samples = path.sample()
    assert len(samples) == 120
    radii = [np.linalg.norm(s.camera.centre[:2]) for s in samples]
    heights = [s.camera.centre[2] for s in samples]
    assert max(radii) - min(radii) < 1e-3 * 3 and np.allclose(heights, 1.2)
    angles = np.unwrap([math.atan2(s.camera.centre[1], s.camera.centre[0]) for s in samples])
    assert abs(abs(angles[-1] - angles[0]) + abs(angles[1] - angles[0]) - 2 * math.pi) < 1e-2  # one turn
    for s in samples:  # keeps looking at the subject
        assert np.linalg.norm(project(s.camera, [0, 0, 0.8]) - [32, 24]) < 0.5
    assert {s.frame for s in samples} == {5}  # bullet time: frozen
    playing = orbit(start, np.array([0, 0, 0.8]), "+z", seconds=4, fps=30, timing=Timing(5, 10, 30)).sample()
    assert playing[0].frame == 5 and playing[30].frame == 15 and playing[-1].frame == 30  # stops at the end


def test_spiral_rises_and_sinks_and_through_cameras_visits_every_camera_in_order():
    start = look([0, -3, 1.0])
    samples = spiral(start, np.zeros(3), "+z", 2.0, 4, 30, Timing()).sample()
    heights = [s.camera.centre[2] for s in samples]
    assert max(heights) == pytest.approx(1.5, abs=0.02) and min(heights) == pytest.approx(0.5, abs=0.02)
    rig = [look([3 * math.cos(a), 3 * math.sin(a), 1.0]) for a in np.radians([200, 20, 290, 110])]
    path = through_cameras(rig, np.zeros(3), "+z", seconds=4, fps=10, timing=Timing())
    samples = path.sample()
    visited = [i for i in range(0, 40, 10)]
    order = [min(range(4), key=lambda k: np.linalg.norm(samples[i].camera.centre - rig[k].centre)) for i in visited]
    assert order == [0, 2, 1, 3]  # from the first camera round: 200°, 290°, 20°, 110°
    assert all(np.allclose(samples[i].camera.centre, rig[k].centre) for i, k in zip(visited, order))


def test_rescale_keeps_vertical_fov_and_principal_point():
    camera = look([3, 0, 1], size=(640, 480))
    wide = rescale(camera, 1280, 480)
    assert wide.K[1, 1] == camera.K[1, 1] and wide.K[0, 0] == camera.K[0, 0] and wide.K[0, 2] == 640
