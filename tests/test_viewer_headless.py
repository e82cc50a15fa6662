"""The desktop viewer in-process on its headless window (EGL offscreen), driven through ImGui's input queue:
the same app, panels and session as the real window, no display server needed."""

from __future__ import annotations

import numpy as np
import pytest
from gl_support import gl_rasterizer
from imgui_bundle import imgui
from k4d_viewer.assets import DEMO_MODEL
from k4d_viewer.model import open_model


@pytest.fixture
def app(tmp_path, monkeypatch):
    gl_rasterizer()  # skips where no OpenGL context can be made (fails in CI)
    from k4d_viewer.app.viewer import ViewerApp, ViewerOptions

    monkeypatch.setenv("K4D_VIEWER_CONFIG_DIR", str(tmp_path / "config"))
    model = open_model(DEMO_MODEL)
    app = ViewerApp(model, ViewerOptions(backend="gl", window_size=(800, 600), headless=True,
                                         screenshot_dir=tmp_path))
    app.render_options.render_scale = 0.5
    yield app
    app.shutdown()
    model.close()


def press(app, *keys):
    app.frame(lambda io: [io.add_key_event(k, True) for k in keys])
    app.frame(lambda io: [io.add_key_event(k, False) for k in reversed(keys)])


def centre(app):
    region = app.region
    return region.x + region.width / 2, region.y + region.height / 2


def drag(app, dx):
    x, y = centre(app)
    app.frame(lambda io: (io.add_mouse_pos_event(x, y), io.add_mouse_button_event(0, True)))
    for step in range(1, 6):
        app.frame(lambda io, step=step: io.add_mouse_pos_event(x + dx * step, y))
    app.frame(lambda io: io.add_mouse_button_event(0, False))


def wait_frame(app, index):
    for _ in range(300):
        app.frame()
        if app.frame_index == index:
            return
    raise AssertionError(f"frame {index} never shown")


def test_headless_viewer_scrub_orbit_keys_and_screenshot(app):
    for _ in range(3):
        app.frame()
    start = app.read_window()
    assert start.shape == (600, 800, 3) and start[:, :450].max() > 100  # the render beside the panels
    press(app, imgui.Key.right_arrow)
    wait_frame(app, 1)
    eye = app.camera_state.eye.copy()
    drag(app, 30)
    assert np.linalg.norm(app.camera_state.eye - eye) > 0.1
    app.frame()
    assert np.abs(app.read_window().astype(int) - start.astype(int)).mean() > 0.5
    press(app, imgui.Key.k)
    assert len(app.path_editor.keyframes) == 1 and app.path_editor.keyframes[0].t == 1
    press(app, imgui.Key.left_ctrl, imgui.Key.mod_ctrl, imgui.Key._2)
    assert app.snapped == 2 and "ring02" in app.ui.status
    press(app, imgui.Key.left_ctrl, imgui.Key.mod_ctrl, imgui.Key.s)
    assert app.last_screenshot is not None and app.last_screenshot.exists()
    press(app, imgui.Key.tab)
    assert not app.ui.show_panel
    app.frame()
    assert app.region.width == 800  # the panels are gone: the render takes the whole width
    app.session.set_setting("layers", 1)
    app.frame()
    assert app.stats.layers_drawn <= 1


def test_headless_viewer_torch_backend_and_resize(app):
    app.execute(__import__("k4d_viewer.app.controls", fromlist=["Command"]).Command("backend", "torch"))
    app.render_options.render_scale = 0.25
    app.frame()  # the first frame lays the panels out; the view renders from the next one
    app.frame()
    assert app.session.backend == "torch" and app.image is not None
    app.window.resize(640, 360)
    app.frame()
    assert app.read_window().shape == (360, 640, 3)


def test_status_bar_keeps_the_latest_message_and_images_per_second(app):
    app.session.notify("a message at the bottom", "warning")
    for _ in range(3):
        app.frame()
    bar = app.read_window()[-24:, :]
    assert bar.max() > 150  # the status bar's text is drawn along the bottom, over the render
    assert app.stats.images_per_second(__import__("time").monotonic()) > 0
    disabled = [name for name in ("n_srcs", "sh_degree") if not __import__(
        "k4d_viewer.app.settings_widgets", fromlist=["applies"]).applies(name, app.info)]
    assert disabled == []  # the demo is image-based with an SH residual: every control applies


def test_axes_grid_and_box_are_drawn_over_the_view(app):
    for _ in range(3):
        app.frame()
    plain = app.read_window().astype(int)
    app.render_options.show_axes = app.render_options.show_grid = app.render_options.show_box = True
    app.frame()
    aids = app.read_window().astype(int)
    assert (np.abs(aids - plain).max(-1) > 40).sum() > 500  # lines appeared over the view
    app.render_options.show_axes = app.render_options.show_grid = app.render_options.show_box = False
    app.frame()
    assert np.abs(app.read_window().astype(int) - plain).max(-1).mean() < 1  # and are gone again
