"""UI preferences kept between runs in the config folder: the UI scale, and the font the panels use."""

from __future__ import annotations

import json
from pathlib import Path

from imgui_bundle import imgui

from .window import config_dir

PREFS_FILE = "ui.json"
FONT_SIZE = 16.0  # pixels at UI scale 1: readable on a normal screen, scaled on HiDPI ones


def _prefs_path() -> Path:
    return config_dir() / PREFS_FILE


def load_ui_scale(content_scale: float) -> float:
    """The scale the user chose last time, else the screen's own (HiDPI) scale."""
    try:
        data = json.loads(_prefs_path().read_text())
        scale = float(data["ui_scale"])
        if 0.5 <= scale <= 4.0:
            return scale
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return float(min(max(content_scale, 1.0), 4.0))


def save_ui_scale(scale: float, content_scale: float) -> None:
    try:
        _prefs_path().write_text(json.dumps({"ui_scale": scale, "screen_scale": content_scale}))
    except OSError:
        pass  # a read-only config folder only loses the preference


def load_ui_font() -> None:
    """A proportional TrueType font (shipped with imgui-bundle) instead of ImGui's 13 px bitmap font, so text
    stays sharp at any UI scale; ImGui's own font when it is missing."""
    import imgui_bundle

    path = Path(imgui_bundle.__file__).parent / "assets" / "fonts" / "DroidSans.ttf"
    if path.is_file():
        imgui.get_io().fonts.add_font_from_file_ttf(str(path), FONT_SIZE)
