"""Make docs/images/viewer.png: the desktop viewer on the built-in demo, in its headless window (EGL).

    python docs/images/make_viewer_screenshot.py [--compare]   # --compare: docs/images/compare.png
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compare", action="store_true", help="A/B side by side (skip SH on the right)")
    args = parser.parse_args()
    os.environ["K4D_VIEWER_CONFIG_DIR"] = tempfile.mkdtemp()  # the default layout, not the user's
    from k4d_viewer.app.controls import Command
    from k4d_viewer.app.viewer import ViewerApp, ViewerOptions
    from k4d_viewer.assets import demo_model
    from k4d_viewer.model import open_model

    app = ViewerApp(open_model(demo_model()), ViewerOptions(backend="gl", window_size=(1400, 860), headless=True))
    for _ in range(3):
        app.frame()
    app.execute(Command("seek", 12))
    for _ in range(200):
        app.frame()
        if app.frame_index == 12:
            break
    timeline = app.timeline
    timeline.set_in(5)
    timeline.set_out(40)
    for index in range(50):
        app.session.loader.wait(index)
    if args.compare:
        app.compare.start(app.session.settings, app.session.backend)
        app.compare.mode, app.compare.settings = "split", app.session.settings.with_value("skip_sh", True)
        app.compare.settings = app.compare.settings.with_value("layers", 1)
        name = "compare.png"
    else:
        x = app.region.x + app.region.width * 0.5
        y = app.region.y + app.region.height * 0.42
        for _ in range(2):
            app.frame(lambda io: (io.add_mouse_pos_event(x, y), io.add_mouse_button_event(0, True)))
            app.frame(lambda io: io.add_mouse_button_event(0, False))
        app.ui.focus = ["Inspect"]
        name = "viewer.png"
    for _ in range(4):
        app.frame()
    out = Path(__file__).with_name(name)
    Image.fromarray(app.read_window()).save(out, optimize=True)
    app.shutdown()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
