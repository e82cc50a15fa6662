"""The headless viewer session: viewer behaviour with no window, no GL and no display."""

from __future__ import annotations

import numpy as np
import pytest
from k4d_viewer.assets import DEMO_MODEL
from k4d_viewer.model import open_model
from k4d_viewer.render import DeviceImage
from k4d_viewer.session import ViewerSession
from k4d_viewer.settings import RenderSettings

SIZE = (96, 64)


@pytest.fixture
def session():
    model = open_model(DEMO_MODEL)
    session = ViewerSession(model, backend="torch", gl=False, frame=3)
    yield session
    session.close()
    model.close()


def settle(session, frame: int) -> None:
    for _ in range(400):
        session.update(0.0, SIZE)
        if session.frame_index == frame:
            return
        import time

        time.sleep(0.01)
    raise AssertionError(f"frame {frame} never loaded")


def test_step_renders_only_when_something_changed(session):
    image, changed = session.step(0.0, SIZE)
    assert isinstance(image, DeviceImage) and changed and image.points == session.frame_data.n_points
    assert session.step(0.0, SIZE)[1] is False  # nothing changed: no new render
    assert session.set_setting("layers", 2) and session.step(0.0, SIZE)[1]
    output = image.readback()
    assert output.rgb.shape == (64, 96, 3) and float(output.alpha.max()) > 0.5


def test_timeline_and_playback(session):
    session.seek(10)
    settle(session, 10)
    session.step_frames(-2)
    settle(session, 8)
    session.toggle_play()
    for _ in range(20):
        session.update(0.05, SIZE)  # 1 s at the demo's 20 fps
    assert session.timeline.frame == 28


def test_settings_are_checked_against_the_schema(session):
    before = session.settings
    assert not session.set_setting("layers", 0) and session.settings == before
    assert "--layers" in session.status
    assert not session.set_setting("background", (2, 0, 0)) and not session.set_setting("mode", "normals")
    assert not session.set_setting("no_such_setting", 1)
    assert session.set_setting("background", (1, 0, 1)) and session.settings.background == (1.0, 0.0, 1.0)
    assert session.colour_settings().n_srcs == session.info.n_srcs  # None: the model's own


def test_capture_cameras_and_camera_json(session):
    session.snap_to(2)
    assert session.snapped == 2 and "ring02" in session.status
    camera = session.camera.to_camera(*SIZE)
    assert np.allclose(camera.centre, session.info.cameras[2].centre)
    data = session.camera_json(SIZE)
    session.reset_view(1.5)
    assert session.set_camera_json(data, "test") and np.allclose(session.camera.eye, camera.centre)
    assert not session.set_camera_json({"H": 1}, "clipboard") and "camera not loaded" in session.status
    session.snap_to(99)
    assert "no capture camera 99" in session.status


def test_unavailable_backend_falls_back_visibly():
    model = open_model(DEMO_MODEL)
    session = ViewerSession(model, backend="cuda", gl=False)
    try:
        assert session.backend == "torch" and "not available" in session.status
        session.set_backend("gl")
        assert session.backend == "torch" and "not available" in session.status
    finally:
        session.close()
        model.close()


def test_path_playback_drives_camera_and_time(session):
    session.path_editor.add(session.camera.to_camera(*SIZE), 5)
    session.snap_to(1)
    session.path_editor.add(session.camera.to_camera(*SIZE), 25)
    session.path_editor.toggle_play()
    eyes = []
    for _ in range(10):
        session.update(0.1, SIZE)
        eyes.append(session.camera.eye.copy())
    assert np.linalg.norm(eyes[-1] - eyes[0]) > 0.1 and 5 < session.timeline.frame <= 25


def test_settings_schema_round_trip():
    settings = RenderSettings().with_value("solid", True)
    assert settings.raster().radius_scale == 0.85 and settings.raster().layers == 11
    assert RenderSettings.spec("layers").flag == "--layers"


def test_capture_camera_keeps_its_focal_ratio_at_any_size(session, tmp_path):
    """Snapping to a 768x1024 capture camera in a 16:9 view fits it whole (pillarbox), never stretched, and
    `render --view` at another size does the same."""
    from k4d_viewer.cli import main
    from PIL import Image

    capture = session.info.cameras[2]
    session.snap_to(2)
    wide = session.camera.to_camera(1920, 1080)
    assert wide.K[0, 0] / wide.K[1, 1] == pytest.approx(capture.K[0, 0] / capture.K[1, 1])
    point = capture.centre + capture.R[2] * 3 + capture.R[0] * 0.2  # somewhere in front of the camera
    own = capture.K @ (capture.R @ point + capture.T)
    fitted = wide.K @ (wide.R @ point + wide.T)
    scale = min(1920 / capture.width, 1080 / capture.height)
    offset = np.array([(1920 - capture.width * scale) / 2, (1080 - capture.height * scale) / 2])
    assert np.allclose(fitted[:2] / fitted[2], own[:2] / own[2] * scale + offset)
    assert main(["render", "--view", "2", "--frame", "3", "--size", "480x270", "-o", str(tmp_path / "fit.png"),
                 "--mode", "alpha"]) == 0
    assert main(["render", "--view", "2", "--frame", "3", "-o", str(tmp_path / "own.png"), "--mode", "alpha"]) == 0
    fit = np.asarray(Image.open(tmp_path / "fit.png"))[..., 0] > 127
    own_image = Image.open(tmp_path / "own.png").resize((round(768 * 270 / 1024), 270), Image.BILINEAR)
    own_mask = np.asarray(own_image)[..., 0] > 127
    left = (480 - own_mask.shape[1]) // 2
    inner = fit[:, left:left + own_mask.shape[1]]
    assert not fit[:, :left - 1].any() and not fit[:, left + own_mask.shape[1] + 1:].any()  # pillarbox bars
    assert (inner & own_mask).sum() / (inner | own_mask).sum() > 0.85  # the same silhouette, not stretched


def test_every_frame_playback_never_skips(session):
    session.timeline.every_frame = True
    session.toggle_play()
    shown = []
    for _ in range(60):
        session.update(0.5, SIZE)  # a slow backend: half a second per drawn frame (10 frames at 20 fps)
        shown.append(session.frame_index)
        __import__("time").sleep(0.01)  # the frame loads in the background meanwhile
    steps = {(b - a) % 50 for a, b in zip(shown, shown[1:])}
    assert 1 in steps and steps <= {0, 1}  # every frame in turn (wrapping at the end), none skipped
    session.timeline.every_frame = False
    before = session.timeline.frame
    session.update(0.5, SIZE)
    assert (session.timeline.frame - before) % 50 == 10  # real time: skips what it cannot draw
