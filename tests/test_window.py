"""The real viewer window on Mesa under Xvfb, driven through its input path, in a separate process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server; skipped where Xvfb is not installed (CI installs it, so there it must work)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is not installed (apt-get install xvfb)")
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read, write = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def run_driver(display, tmp_path, *args):
    env = {**os.environ, "DISPLAY": display, "K4D_VIEWER_CONFIG_DIR": str(tmp_path / "config")}
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run([sys.executable, str(HERE / "window_driver.py"), str(out), *args], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), out


def test_window_scrub_orbit_layers_screenshot(display, tmp_path):
    results, out = run_driver(display, tmp_path)
    assert results["frame_after_right"] == 1 and results["frame_after_seek"] == 12
    assert results["title_after_seek"].endswith("frame 12 / 49") and "demo.npz" in results["title_start"]
    assert results["scrub_changed"] > 0.5       # another frame is shown
    assert results["orbit_moved_eye"] > 0.1 and results["orbit_changed"] > 0.5
    assert results["k_changed"] > 0.1           # K = 1 versus K = 11
    shot = Path(results["screenshot"])
    assert shot.exists() and shot.parent == out and results["screenshot_size"] == [1280, 720]
    assert str(shot.resolve()) in results["status"]
    assert results["snapped"] == 2 and "ring02" in results["camera_label"]
    # the layout and window size are remembered in the config folder, never in the working directory
    assert (tmp_path / "config" / "window.json").exists() and (tmp_path / "config" / "imgui.ini").exists()
    assert not (tmp_path / "imgui.ini").exists()


def test_window_torch_backend(display, tmp_path):
    results, _ = run_driver(display, tmp_path, "--backend", "torch")
    assert results["frame_after_seek"] == 12 and results["orbit_changed"] > 0.5


def test_no_display_gives_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "k4d_viewer.cli"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "k4d-viewer render" in result.stderr
    assert "Traceback" not in result.stderr
