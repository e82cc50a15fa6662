"""Drives the real viewer window in its own process (glfw/GLX must not share a process with EGL tests).

Usage: python window_driver.py OUT_DIR [--backend gl | --play MODEL]. Opens the demo at 800x600, feeds mouse and
keyboard events through ImGui's input queue (the path real input takes), and writes window.png, captures of the
render at each step and results.json for the test to check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from imgui_bundle import imgui
from k4d_viewer.app.controls import Command
from k4d_viewer.app.viewer import ViewerApp, ViewerOptions
from k4d_viewer.assets import DEMO_MODEL
from k4d_viewer.model import open_model
from PIL import Image


def play(out: Path, model_path: str) -> None:
    """Open MODEL, press Space and record every frame shown until the timeline has gone round once."""
    app = ViewerApp(open_model(model_path), ViewerOptions(backend="gl", window_size=(640, 480)))
    app.render_options.render_scale = 0.5
    shown = {app.frame_index}
    app.frame(lambda io: io.add_key_event(imgui.Key.space, True))
    app.frame(lambda io: io.add_key_event(imgui.Key.space, False))
    results = {"playing": app.timeline.playing, "n_frames": app.info.n_frames}
    app.timeline.rate = 4.0  # slower than software GL draws, so no frame is skipped to keep time
    for _ in range(5000):
        app.frame()
        shown.add(app.frame_index)
        if len(shown) == app.info.n_frames:
            break
    results["shown"] = sorted(shown)
    results["status"] = app.ui.status
    (out / "results.json").write_text(json.dumps(results, indent=2))
    app.window.close()
    app.shutdown()


def make_path(out: Path) -> None:
    """Build a camera path as a user would (K at three views and frames), play it, save it, export it."""
    app = ViewerApp(open_model(DEMO_MODEL), ViewerOptions(backend="gl", window_size=(800, 600)))
    app.render_options.render_scale = 0.3
    editor = app.path_editor
    editor.fps, editor.show_capture_cameras = 6.0, True
    results: dict = {}

    def press(key):
        app.frame(lambda io: io.add_key_event(key, True))
        app.frame(lambda io: io.add_key_event(key, False))

    def drag(dx):
        app.frame(lambda io: (io.add_mouse_pos_event(280, 250), io.add_mouse_button_event(0, True)))
        for step in range(1, 6):
            app.frame(lambda io, step=step: io.add_mouse_pos_event(280 + dx * step, 250))
        app.frame(lambda io: io.add_mouse_button_event(0, False))

    for frame, dx in ((5, 40), (20, -60), (35, 0)):
        app.execute(Command("seek", frame))
        app.frame()
        press(imgui.Key.k)
        drag(dx)
    results["keyframes"] = [k.t for k in editor.keyframes]
    app.execute(Command("path_jump", 1))
    app.frame()
    results["jump_frame"] = app.timeline.frame
    results["jump_matches"] = bool(np.allclose(app.camera_state.eye, editor.keyframes[1].camera.centre))
    app.execute(Command("path_play"))
    eyes, frames = [], []
    for _ in range(30):
        app.frame()
        eyes.append(app.camera_state.eye.copy())
        frames.append(app.timeline.frame)
    results["play_moved"] = float(np.linalg.norm(eyes[-1] - eyes[0]))
    results["play_frames"] = sorted(set(frames))
    app.execute(Command("path_save", str(out / "made.json")))
    app.execute(Command("path_export", str(out / "ui.png")))
    for _ in range(20000):
        app.frame()  # the window stays responsive while the export runs
        if not editor.export.running:
            break
    results["export_error"] = editor.export.error
    results["export_total"] = editor.export.total
    results["ui_frames_during_export"] = editor.export.done
    window = app.ctx.screen.read(components=3)
    width, height = app.window.framebuffer_size
    Image.fromarray(np.frombuffer(window, np.uint8).reshape(height, width, 3)[::-1]).save(out / "path.png")
    (out / "results.json").write_text(json.dumps(results, indent=2))
    app.window.close()
    app.shutdown()


def main() -> None:
    out = Path(sys.argv[1])
    if len(sys.argv) > 3 and sys.argv[2] == "--play":
        play(out, sys.argv[3])
        return
    if len(sys.argv) > 2 and sys.argv[2] == "--path":
        make_path(out)
        return
    backend = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--backend" else "gl"
    app = ViewerApp(open_model(DEMO_MODEL), ViewerOptions(backend=backend, window_size=(800, 600),
                                                          screenshot_dir=out))
    app.render_options.resolution = "1280x720" if backend == "gl" else "window"
    if backend == "torch":
        app.render_options.render_scale = 0.3
    results: dict = {}

    def run(frames: int = 1, inject=None) -> None:
        for _ in range(frames):
            app.frame(inject)

    def capture(name: str) -> np.ndarray:
        image = app.image.screenshot("color", 100.0)
        Image.fromarray(image).save(out / f"{name}.png")
        return image

    def keys(*names):
        def inject(io):
            for key in names:
                io.add_key_event(key, True)
        return inject

    def release(*names):
        def inject(io):
            for key in names:
                io.add_key_event(key, False)
        return inject

    run(3)
    start = capture("start")
    results["title_start"] = app.window.title

    # scrubbing: Right arrow steps a frame; the new frame loads in the background
    run(1, keys(imgui.Key.right_arrow))
    run(1, release(imgui.Key.right_arrow))
    for _ in range(200):
        run(1)
        if app.frame_index == 1:
            break
    results["frame_after_right"] = app.frame_index
    app.execute(Command("seek", 12))
    for _ in range(200):
        run(1)
        if app.frame_index == 12:
            break
    results["frame_after_seek"] = app.frame_index
    results["title_after_seek"] = app.window.title
    scrubbed = capture("scrubbed")
    results["scrub_changed"] = float(np.abs(scrubbed.astype(int) - start.astype(int)).mean())

    # orbit: drag with the left button in the middle of the window (away from the panel)
    def drag(step):
        def inject(io):
            if step == 0:
                io.add_mouse_pos_event(280, 250)
                io.add_mouse_button_event(0, True)
            elif step < 6:
                io.add_mouse_pos_event(280 + 30 * step, 250)
            else:
                io.add_mouse_button_event(0, False)
        return inject

    before = capture("before_orbit")
    eye_before = app.camera_state.eye.copy()
    for step in range(7):
        run(1, drag(step))
    run(2)
    orbited = capture("orbited")
    results["orbit_moved_eye"] = float(np.linalg.norm(app.camera_state.eye - eye_before))
    results["orbit_changed"] = float(np.abs(orbited.astype(int) - before.astype(int)).mean())

    # K layers: 1 layer versus 11 changes the image
    app.session.set_setting("layers", 1)
    run(2)
    one_layer = capture("k1")
    app.session.set_setting("layers", 11)
    run(2)
    results["k_changed"] = float(np.abs(one_layer.astype(int) - capture("k11").astype(int)).mean())

    # Ctrl+S saves a screenshot at render resolution and reports it
    run(1, keys(imgui.Key.left_ctrl, imgui.Key.mod_ctrl, imgui.Key.s))
    run(1, release(imgui.Key.s, imgui.Key.mod_ctrl, imgui.Key.left_ctrl))
    shot = app.last_screenshot
    results["screenshot"] = str(shot) if shot else None
    results["screenshot_size"] = list(Image.open(shot).size) if shot else None
    results["status"] = app.ui.status

    # snap to capture camera 2 with Ctrl+2, then copy the camera as JSON
    run(1, keys(imgui.Key.left_ctrl, imgui.Key.mod_ctrl, imgui.Key._2))
    run(1, release(imgui.Key._2, imgui.Key.mod_ctrl, imgui.Key.left_ctrl))
    results["snapped"] = app.snapped
    results["camera_label"] = app.ui.camera_label
    run(1, keys(imgui.Key.tab))  # hide the panel
    run(1, release(imgui.Key.tab))
    results["panel_hidden"] = not app.ui.show_panel
    run(1, keys(imgui.Key.tab))
    run(1, release(imgui.Key.tab))
    app.execute(Command("help"))
    run(3)
    window = app.ctx.screen.read(components=3)
    width, height = app.window.framebuffer_size
    Image.fromarray(np.frombuffer(window, np.uint8).reshape(height, width, 3)[::-1]).save(out / "window.png")
    results["fps"] = app.stats.fps
    (out / "results.json").write_text(json.dumps(results, indent=2))
    app.window.close()
    app.shutdown()


if __name__ == "__main__":
    main()
