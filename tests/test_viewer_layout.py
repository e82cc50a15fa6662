"""The docked layout, the bottom timeline, point picking, A/B compare and UI scaling, driven through the
headless window with ImGui's input queue (the same app and panels as the real window)."""

from __future__ import annotations

import numpy as np
import pytest
from imgui_bundle import imgui
from k4d_viewer.app.controls import Command
from test_viewer_headless import centre, press


def windows_overlapping(region) -> list[str]:
    """Names of the panels (visible ImGui windows) that overlap the render region."""
    from k4d_viewer.app.layout import PANELS

    names = []
    for name in PANELS:
        window = imgui.internal.find_window_by_name(name)
        if window is None or not window.active or window.hidden:
            continue
        x0, y0 = window.pos.x, window.pos.y
        x1, y1 = x0 + window.size.x, y0 + window.size.y
        if x0 < region.x + region.width - 1 and region.x + 1 < x1 and y0 < region.y + region.height - 1 \
                and region.y + 1 < y1:
            names.append(name)
    return names


def test_docked_layout_keeps_the_whole_render_visible_at_1000x700(make_app):
    app = make_app((1000, 700))
    region = app.region
    assert region.width >= 600 and region.height >= 450  # most of the window is the view
    assert windows_overlapping(region) == []              # no panel floats over it
    # the model is framed to the region: its projected bounding box lies inside the region, and it is drawn there
    lo, hi = app.session.bounds
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    screen, visible = app.view.projector(region).to_screen(corners)
    assert visible.all()
    assert (screen[:, 0] >= region.x).all() and (screen[:, 0] <= region.x + region.width).all()
    assert (screen[:, 1] >= region.y).all() and (screen[:, 1] <= region.y + region.height).all()
    window = app.read_window()
    inside = window[int(region.y):int(region.y + region.height), int(region.x):int(region.x + region.width)]
    assert inside.max() > 100 and app.render_size() == (int(region.width), int(region.height))


def test_layout_is_remembered_and_can_be_reset(make_app, tmp_path):
    app = make_app((1000, 700))
    app.ui.panels["Stats"] = False
    app.execute(Command("reset_layout"))
    app.frame()
    app.frame()
    assert app.ui.panels["Stats"] and windows_overlapping(app.region) == []
    app.shutdown()
    ini = (tmp_path / "config" / "imgui.ini").read_text()
    assert "DockSpace" in ini and "[Window][Timeline]" in ini


def test_timeline_click_seeks_and_in_out_points_bound_playback(make_app):
    app = make_app((1000, 700))
    timeline = app.timeline
    # click on the ruler three quarters along: seek there
    window = imgui.internal.find_window_by_name("Timeline")
    x = window.content_region_rect.min.x + 0.75 * (window.content_region_rect.max.x - window.content_region_rect.min.x)
    y = window.content_region_rect.min.y + 10
    app.frame(lambda io: (io.add_mouse_pos_event(x, y), io.add_mouse_button_event(0, True)))
    app.frame(lambda io: io.add_mouse_button_event(0, False))
    assert abs(timeline.frame - 0.75 * timeline.n_frames) <= 1.5
    # in at 10, out at 14 (keys I and O), then play: frames stay within 10..14 and wrap
    app.execute(Command("seek", 10))
    press(app, imgui.Key.i)
    app.execute(Command("seek", 14))
    press(app, imgui.Key.o)
    assert (timeline.in_frame, timeline.out_frame) == (10, 14)
    timeline.every_frame = True
    press(app, imgui.Key.space)
    seen, extra = set(), 0
    for _ in range(3000):  # frames load in the background; playback waits for each
        app.frame()
        seen.add(app.frame_index)
        extra += len(seen - {0}) >= 5
        if extra > 30:  # all five shown, and a while longer: playback has wrapped within the range
            break
    assert seen - {0} == set(range(10, 15))
    app.execute(Command("clear_marks"))
    assert timeline.in_frame == 0 and timeline.out_frame is None


def test_double_click_picks_the_point_under_the_cursor(make_app):
    app = make_app((1000, 700))
    x, y = centre(app)
    window = app.read_window()
    for _ in range(2):  # two clicks: a double click
        app.frame(lambda io: (io.add_mouse_pos_event(x, y), io.add_mouse_button_event(0, True)))
        app.frame(lambda io: io.add_mouse_button_event(0, False))
    picked = app.session.picked
    assert picked is not None, app.session.status
    lo, hi = app.session.bounds
    assert (picked.position >= lo - 1e-3).all() and (picked.position <= hi + 1e-3).all()
    assert picked.radius > 0 and 0 < picked.alpha <= 1 and picked.covering >= 1
    # the colour it reports is the colour the view shows there (front-most point, K-layer blend aside)
    shown = window[int(y), int(x)] / 255.0
    assert np.abs(shown - picked.colour).max() < 0.25
    # a double click on empty background picks nothing and says so
    corner = (app.region.x + 5, app.region.y + 5)
    for _ in range(2):
        app.frame(lambda io: (io.add_mouse_pos_event(*corner), io.add_mouse_button_event(0, True)))
        app.frame(lambda io: io.add_mouse_button_event(0, False))
    assert app.session.picked is None and "no point" in app.session.status


def test_compare_toggle_and_side_by_side(make_app):
    app = make_app((1000, 700))
    a = app.read_window()
    press(app, imgui.Key.b)                      # B starts as a copy of A, shown
    assert app.compare.active and app.compare.show_b
    app.compare.settings = app.compare.settings.with_value("background", (1.0, 1.0, 1.0))
    app.frame()
    b = app.read_window()
    region = app.region
    rows = slice(int(region.y) + 30, int(region.y + region.height) - 5)
    cols = slice(int(region.x) + 5, int(region.x + region.width) - 5)
    assert b[rows, cols].mean() > a[rows, cols].mean() + 100  # white background: B is on screen
    press(app, imgui.Key.b)
    assert not app.compare.show_b
    assert np.abs(app.read_window()[rows, cols].astype(int) - a[rows, cols]).mean() < 2
    app.compare.mode, app.compare.split = "split", 0.5
    app.frame()
    split = app.read_window()[rows, cols].astype(int)
    half = split.shape[1] // 2
    assert split[:, half + 20:].mean() > split[:, :half - 20].mean() + 100  # A left (black), B right (white)
    # B can show another frame of the same camera
    app.compare.settings, app.compare.frame = app.session.settings, 30
    app.frame()
    other = app.read_window()[rows, cols].astype(int)
    assert np.abs(other[:, half + 20:] - split[:, half + 20:]).mean() > 1
    app.execute(Command("compare_swap"))
    assert app.session.frame_index == 30 or app.timeline.frame == 30


def test_plus_and_minus_change_the_point_size_live(make_app):
    app = make_app((1000, 700))
    before = app.read_window().astype(int)
    press(app, imgui.Key.equal)
    press(app, imgui.Key.equal)
    assert app.session.settings.radius_scale == pytest.approx(1.21)
    app.frame()
    assert np.abs(app.read_window().astype(int) - before).mean() > 0.1  # bigger discs
    press(app, imgui.Key.minus)
    assert app.session.settings.radius_scale == pytest.approx(1.1)
    assert "point size" in app.session.status


def test_custom_resolution_and_ui_scale(make_app, tmp_path):
    app = make_app((1000, 700))
    app.render_options.resolution, app.render_options.custom_size = "custom", (640, 480)
    app.frame()
    assert app.image.size == (640, 480)
    menu_bar = app.region.y  # the menu bar's height, set by the font size
    app.execute(Command("ui_scale", 1.5))
    app.frame()
    app.frame()
    assert app.region.y == pytest.approx(1.5 * menu_bar, rel=0.15)
    assert '"ui_scale": 1.5' in (tmp_path / "config" / "ui.json").read_text()
    app.shutdown()
    again = make_app((1000, 700))  # the next start keeps the chosen scale
    assert again.ui_scale == 1.5


def test_resolution_from_the_command_line_presets_and_any_size(make_app):
    """`k4d-viewer --resolution WxH` takes the Quality panel's presets and any other size (a custom one)."""
    import argparse

    from k4d_viewer.commands.view import parse_resolution

    assert parse_resolution("window") == "window" and parse_resolution("7680x4320") == "7680x4320"
    assert parse_resolution("1000X500") == (1000, 500)
    for bad in ("8x8", "big", "0x100"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_resolution(bad)
    app = make_app((800, 600), resolution=parse_resolution("640x360"))
    app.frame()
    assert app.render_options.resolution == "custom" and app.image.size == (640, 360)


def test_a_click_in_the_capture_camera_list_snaps_to_that_camera(make_app):
    """The Scene panel's camera list (built row by row only where it is in sight) snaps on a click."""
    app = make_app((1000, 1400))  # tall enough for the Scene panel to show the whole list
    windows = imgui.get_current_context().windows
    listing = next(w for w in windows if w.name.startswith("Scene/") and w.active)  # the list box (a child)
    row = imgui.get_text_line_height_with_spacing()
    x, y = listing.pos.x + 20, listing.pos.y + listing.window_padding.y + 2.5 * row  # the third row: camera 2
    app.frame(lambda io: io.add_mouse_pos_event(x, y))
    app.frame(lambda io: io.add_mouse_button_event(0, True))
    app.frame(lambda io: io.add_mouse_button_event(0, False))
    app.frame()
    assert app.session.snapped == 2 and app.session.camera.source


def test_a_long_keyframe_list_selects_the_row_clicked(make_app):
    """A sampled path of 300 keyframes: the Path panel's list builds only the rows in sight, and a click on the
    third visible row selects that keyframe."""
    app = make_app((1000, 1400))
    editor = app.session.path_editor
    for index in range(300):
        editor.add(app.session.last_camera, index % app.info.n_frames)
    editor.selected = -1
    app.ui.focus.append("Path")  # bring its tab to the front
    for _ in range(3):
        app.frame()
    windows = imgui.get_current_context().windows
    listing = next(w for w in windows if w.name.startswith("Path/") and w.active)  # the list box (a child)
    row = imgui.get_text_line_height_with_spacing()
    x, y = listing.pos.x + 20, listing.pos.y + listing.window_padding.y + 2.5 * row
    app.frame(lambda io: io.add_mouse_pos_event(x, y))
    app.frame(lambda io: io.add_mouse_button_event(0, True))
    app.frame(lambda io: io.add_mouse_button_event(0, False))
    assert editor.selected == 2
