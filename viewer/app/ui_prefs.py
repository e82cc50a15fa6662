"""UI preferences kept between runs in the config folder: the UI scale, the models opened lately, and the font
the panels use."""

from __future__ import annotations

import json
from pathlib import Path

from imgui_bundle import imgui

from .window import config_dir

PREFS_FILE = "ui.json"
FONT_SIZE = 16.0  # pixels at UI scale 1: readable on a normal screen, scaled on HiDPI ones
RECENT_MODELS = 8  # models listed under File > Open recent


def _prefs_path() -> Path:
    return config_dir() / PREFS_FILE


def _read_prefs() -> dict:
    """The saved preferences; an unreadable or damaged file counts as none saved."""
    try:
        data = json.loads(_prefs_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_prefs(**changes) -> None:
    try:
        _prefs_path().write_text(json.dumps({**_read_prefs(), **changes}))
    except OSError:
        pass  # a read-only config folder only loses the preference


def load_ui_scale(content_scale: float) -> float:
    """The scale the user chose last time, else the screen's own (HiDPI) scale."""
    try:
        scale = float(_read_prefs()["ui_scale"])
        if 0.5 <= scale <= 4.0:
            return scale
    except (ValueError, KeyError, TypeError):
        pass
    return float(min(max(content_scale, 1.0), 4.0))


def save_ui_scale(scale: float, content_scale: float) -> None:
    _save_prefs(ui_scale=scale, screen_scale=content_scale)


def recent_models() -> list[str]:
    """Models opened lately, newest first (as absolute paths; ones that no longer exist are left out)."""
    saved = _read_prefs().get("recent_models")
    if not isinstance(saved, list):
        return []
    return [path for path in saved if isinstance(path, str) and _still_there(path)][:RECENT_MODELS]


def _still_there(path: str) -> bool:
    """A saved model path still names something: the file or folder exists, or a glob's folder does."""
    if any(char in path for char in "*?["):
        return Path(path).parent.is_dir()
    return Path(path).exists()


def remember_model(path: Path) -> None:
    """Put ``path`` first in the recent models."""
    entry = str(path.resolve())
    _save_prefs(recent_models=[entry, *(p for p in recent_models() if p != entry)][:RECENT_MODELS])


def load_ui_font() -> None:
    """A proportional TrueType font (shipped with imgui-bundle) instead of ImGui's 13 px bitmap font, so text
    stays sharp at any UI scale; ImGui's own font when it is missing."""
    import imgui_bundle

    path = Path(imgui_bundle.__file__).parent / "assets" / "fonts" / "DroidSans.ttf"
    if path.is_file():
        imgui.get_io().fonts.add_font_from_file_ttf(str(path), FONT_SIZE)
