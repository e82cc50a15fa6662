"""Opening another model in the running viewer: File > Open (typed into the dialog), a drop on the window, and
the recent list, driven through the headless window with ImGui's input queue."""

from __future__ import annotations

import json
import threading

import numpy as np
from builders import write_canonical
from capture_quality import write_ply
from imgui_bundle import imgui
from test_viewer_headless import press


def ply_sequence(folder, frames: int = 3):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(frames):
        xyz = rng.normal(size=(2000, 3)).astype(np.float32) * [0.2, 0.5, 0.2] + [0, 0.9, 0]
        write_ply(folder / f"f_{index:03d}.ply", xyz.astype(np.float32),
                  rng.integers(0, 255, (2000, 3), dtype=np.uint8))
    return folder


def type_into_dialog(app, text: str):
    """Ctrl+O, the path typed into the field, Enter."""
    press(app, imgui.Key.left_ctrl, imgui.Key.mod_ctrl, imgui.Key.o)
    app.frame()
    app.frame(lambda io: io.add_input_characters_utf8(text))
    press(app, imgui.Key.enter)
    for _ in range(3):
        app.frame()


def shown(app) -> np.ndarray:
    region = app.region
    pixels = app.read_window()
    return pixels[int(region.y):int(region.y + region.height), int(region.x):int(region.x + region.width)]


def test_a_folder_dropped_on_the_window_opens_and_is_framed(make_app, tmp_path):
    app = make_app((1000, 700))
    folder = ply_sequence(tmp_path / "capture")
    demo = shown(app)
    app.window.dropped.append(str(folder))
    for _ in range(4):
        app.frame()
    assert app.info.path == folder and app.info.n_frames == 3 and app.session.settings.solid  # a capture's rules
    assert "opened" in app.session.status and app.window.title.endswith("frame 0 / 2")
    now = shown(app)
    assert (now.max(-1) > 40).mean() > 0.02 and np.abs(now.astype(int) - demo).mean() > 1  # the capture, framed
    press(app, imgui.Key.right_arrow)
    for _ in range(20):
        app.frame()
        if app.frame_index == 1:
            break
    assert app.frame_index == 1  # the timeline is the new model's
    saved = json.loads((tmp_path / "config" / "ui.json").read_text())
    assert saved["recent_models"][0] == str(folder.resolve()) and app.ui.open_dialog.recent[0] == str(folder)


def test_open_dialog_opens_a_typed_path_and_a_bad_one_keeps_the_model(make_app, tmp_path):
    app = make_app((1000, 700))
    demo_path = app.info.path
    type_into_dialog(app, str(tmp_path / "missing.npz"))
    assert app.info.path == demo_path and app.session.status.startswith("not opened: ")
    assert "missing.npz" in app.session.status and app.ui.open_dialog.visible is False
    arrays = dict(np.load(write_canonical(tmp_path / "good.npz", count=2)))
    arrays["frame.0.xyz"] = arrays["frame.0.xyz"] * np.nan  # the model opens (lazily); its first frame fails
    np.savez(tmp_path / "nan.npz", **arrays)
    threads = threading.active_count()
    app.window.dropped.append(str(tmp_path / "nan.npz"))
    app.frame()
    app.frame()
    assert app.info.path == demo_path and app.session.status.startswith("not opened: ")
    assert "frame.0.xyz" in app.session.status and threading.active_count() == threads  # no loader left behind
    model = write_canonical(tmp_path / "small.npz", count=4)
    app.ui.open_dialog.path = ""
    type_into_dialog(app, str(model))
    assert app.info.path == model and app.info.n_frames == 4
    assert app.ui.open_dialog.recent == [str(model.resolve())]  # the failures are not remembered
    press(app, imgui.Key.left_ctrl, imgui.Key.mod_ctrl, imgui.Key.o)
    assert app.ui.open_dialog.visible  # Escape closes it again
    press(app, imgui.Key.escape)
    assert not app.ui.open_dialog.visible


def test_several_paths_dropped_open_the_first(make_app, tmp_path):
    app = make_app((1000, 700))
    paths = [write_canonical(tmp_path / f"m{index}.npz", count=index + 2) for index in range(2)]
    app.window.dropped.extend(str(path) for path in paths)
    app.frame()
    assert app.info.path == paths[0] and "2 paths dropped: opened the first" in app.session.status
    assert app.ui.open_dialog.recent == [str(paths[0].resolve())]


def test_another_model_waits_for_a_running_video_export(make_app, tmp_path):
    from k4d_viewer.app.path_editor import ExportJob

    app = make_app((1000, 700))
    job = ExportJob(output=tmp_path / "path.mp4", total=10)  # as the Path panel's export, still running
    app.session.path_editor.export = job
    app.window.dropped.append(str(write_canonical(tmp_path / "m.npz", count=2)))
    app.frame()
    assert app.info.path != tmp_path / "m.npz" and "a video export is running" in app.session.status
    job.finished = True
    app.window.dropped.append(str(tmp_path / "m.npz"))
    app.frame()
    assert app.info.path == tmp_path / "m.npz"
