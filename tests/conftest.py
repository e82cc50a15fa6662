from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the builders/oracle helpers beside the tests

# Tests (and the subprocesses they start) share one small built-in demo (8,000 points instead of 60,000: the
# torch reference renders it quickly), made once into a cache folder of their own; test_demo.py checks the
# real one.
os.environ.setdefault("K4D_VIEWER_CACHE_DIR", str(Path(tempfile.gettempdir()) / "k4d-viewer-test-cache"))
os.environ.setdefault("K4D_VIEWER_DEMO_POINTS", "8000")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The real test data beside the checkout (../shared/data); tests skip when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def xvfb_display():
    """A private Xvfb server for window tests; skipped where Xvfb is missing (CI installs it: there it fails)."""
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


def run_window_driver(display: str, out: Path, *args: str) -> dict:
    """Run tests/window_driver.py on ``display`` with a private config folder; returns its results.json."""
    import json

    env = {**os.environ, "DISPLAY": display, "K4D_VIEWER_CONFIG_DIR": str(out / "config")}
    result = subprocess.run([sys.executable, str(Path(__file__).parent / "window_driver.py"), str(out), *args],
                            cwd=out.parent, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """make(size, **options): a ViewerApp on the demo in a headless window (gl backend), three frames drawn."""
    from gl_support import gl_rasterizer
    from k4d_viewer.assets import DEMO_MODEL
    from k4d_viewer.model import open_model

    gl_rasterizer()  # skips where no OpenGL context can be made (fails in CI)
    from k4d_viewer.app.viewer import ViewerApp, ViewerOptions

    monkeypatch.setenv("K4D_VIEWER_CONFIG_DIR", str(tmp_path / "config"))
    apps, models = [], []

    def make(size=(1000, 700), **options):
        model = open_model(DEMO_MODEL)
        app = ViewerApp(model, ViewerOptions(backend="gl", window_size=size, headless=True, screenshot_dir=tmp_path,
                                             **options))
        apps.append(app)
        models.append(model)
        for _ in range(3):
            app.frame()
        return app

    yield make
    for app in apps:
        app.shutdown()
    for model in models:
        model.close()
