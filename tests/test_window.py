"""The real viewer window on Mesa under Xvfb, driven through its input path, in a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import run_window_driver
from k4d_viewer.assets import DEMO_VERSION


def run_driver(display, tmp_path, *args):
    out = tmp_path / "out"
    out.mkdir()
    return run_window_driver(display, out, *args), out


def test_window_scrub_orbit_layers_screenshot(xvfb_display, tmp_path):
    results, out = run_driver(xvfb_display, tmp_path)
    assert results["frame_after_right"] == 1 and results["frame_after_seek"] == 12
    assert results["title_after_seek"].endswith("frame 12 / 49") and f"demo-v{DEMO_VERSION}" in results["title_start"]
    assert results["scrub_changed"] > 0.5       # another frame is shown
    assert results["orbit_moved_eye"] > 0.1 and results["orbit_changed"] > 0.5
    assert results["k_changed"] > 0.1           # K = 1 versus K = 11
    shot = Path(results["screenshot"])
    assert shot.exists() and shot.parent == out and results["screenshot_size"] == [1280, 720]
    assert str(shot.resolve()) in results["status"]
    assert results["snapped"] == 2 and "ring02" in results["camera_label"]
    assert results["panel_hidden"]
    # the layout and window size are remembered in the config folder, never in the working directory
    assert (out / "config" / "window.json").exists() and (out / "config" / "imgui.ini").exists()
    assert not (tmp_path / "imgui.ini").exists()


def test_window_torch_backend(xvfb_display, tmp_path):
    results, _ = run_driver(xvfb_display, tmp_path, "--backend", "torch")
    assert results["frame_after_seek"] == 12 and results["orbit_changed"] > 0.5


def test_path_made_in_the_viewer_renders_headless_to_the_same_frames(xvfb_display, tmp_path):
    import numpy as np
    from k4d_viewer.cli import main
    from PIL import Image

    results, out = run_driver(xvfb_display, tmp_path, "--path")
    assert results["keyframes"] == [5, 20, 35]
    assert results["jump_frame"] == 20 and results["jump_matches"]
    assert results["play_moved"] > 0.1 and len(results["play_frames"]) > 3  # the camera and time follow the path
    assert results["export_error"] == "" and results["export_total"] == 13  # 2 s at 6 fps, plus the last key
    assert main(["render", "--path", str(out / "made.json"), "-o", str(out / "cli.png")]) == 0
    for index in range(13):
        ui = np.asarray(Image.open(out / f"ui_{index:04d}.png"))
        cli = np.asarray(Image.open(out / f"cli_{index:04d}.png"))
        assert np.array_equal(ui, cli), index


def test_no_display_gives_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "k4d_viewer.cli"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "k4d-viewer render" in result.stderr
    assert "Traceback" not in result.stderr
