"""A/B compare: the current view against the same camera with other settings, another backend or another
frame, shown by toggling (B key) or side by side with a movable divider."""

from __future__ import annotations

from dataclasses import dataclass, fields

from imgui_bundle import imgui

from ..errors import InputError
from ..model import ModelInfo
from ..settings import RenderSettings
from .controls import Command
from .settings_widgets import draw_settings, label_room

MODES = ("off", "toggle", "split")
MODE_LABELS = ("Off", "A/B toggle (B key)", "Side by side")


@dataclass
class CompareState:
    """What B is and how A and B are shown. B starts as a copy of A's settings and backend."""

    mode: str = "off"                    # one of MODES
    show_b: bool = False                 # toggle mode: B is on screen
    split: float = 0.5                   # side by side: where the divider is (fraction of the image's width)
    settings: RenderSettings | None = None  # B's render settings (None: A's)
    backend: str | None = None           # B's backend (None: A's)
    frame: int | None = None             # B's frame (None: A's current frame)

    @property
    def active(self) -> bool:
        return self.mode != "off"

    def start(self, settings: RenderSettings, backend: str) -> None:
        """Turn comparing on with B = a copy of A (the user then changes what B differs in)."""
        if self.settings is None:
            self.settings, self.backend = settings, backend
        if self.mode == "off":
            self.mode = "toggle"

    def toggle(self, settings: RenderSettings, backend: str) -> None:
        """The B key: swap which side is shown (starting a toggle compare when none is on)."""
        if self.mode == "off":
            self.start(settings, backend)
            self.show_b = True
        elif self.mode == "toggle":
            self.show_b = not self.show_b

    def b_frame(self, current: int) -> int:
        return current if self.frame is None else self.frame

    def label(self, settings: RenderSettings, backend: str, current_frame: int) -> str:
        """What B differs in from A (settings, backend, frame), for the on-screen label."""
        b = self.settings or settings
        changes = [f"{name.replace('_', ' ')} {_shown(getattr(b, name))}" for name in _names(b)
                   if getattr(b, name) != getattr(settings, name)]
        if (self.backend or backend) != backend:
            changes.insert(0, f"{self.backend} backend")
        if self.b_frame(current_frame) != current_frame:
            changes.insert(0, f"frame {self.b_frame(current_frame)}")
        return "B: " + (", ".join(changes) if changes else "same as A")


def _names(settings: RenderSettings) -> list[str]:
    return [item.name for item in fields(settings)]


def _shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def draw_compare_panel(state: CompareState, settings: RenderSettings, backend: str, backends: list[str],
                       info: ModelInfo, current_frame: int) -> list[Command]:
    """The Compare panel: mode, B's backend and frame, and B's settings (the same widgets as Quality)."""
    label_room()
    try:
        return _compare_widgets(state, settings, backend, backends, info, current_frame)
    finally:
        imgui.pop_item_width()


def _compare_widgets(state: CompareState, settings: RenderSettings, backend: str, backends: list[str],
                     info: ModelInfo, current_frame: int) -> list[Command]:
    index = MODES.index(state.mode)
    changed, index = imgui.combo("Compare", index, list(MODE_LABELS))
    if changed:
        if MODES[index] != "off":
            state.start(settings, backend)
        state.mode = MODES[index]
    if not state.active:
        imgui.text_wrapped("Compare the view with other render settings, another backend or another frame of the "
                           "same camera. Press B to flip between A and B.")
        return []
    if state.mode == "toggle":
        imgui.text(f"showing {'B' if state.show_b else 'A'}")
        imgui.same_line()
        if imgui.button("Flip (B)"):
            state.show_b = not state.show_b
    else:
        _, state.split = imgui.slider_float("Divider", state.split, 0.0, 1.0, "%.2f")
    if imgui.button("B = A"):
        state.settings, state.backend, state.frame = settings, backend, None
    if imgui.is_item_hovered():
        imgui.set_tooltip("copy A's settings, backend and frame into B")
    imgui.same_line()
    if imgui.button("Swap A and B"):
        return [Command("compare_swap")]
    if len(backends) > 1:
        index = backends.index(state.backend) if state.backend in backends else 0
        changed, index = imgui.combo("B backend", index, backends)
        if changed:
            state.backend = backends[index]
    other, fixed = imgui.checkbox("B shows another frame", state.frame is not None)
    if other:
        state.frame = current_frame if fixed else None
    if state.frame is not None:
        _, frame = imgui.slider_int("B frame", state.frame, 0, max(0, info.n_frames - 1))
        state.frame = min(max(frame, 0), info.n_frames - 1)
    imgui.separator_text("B settings")
    b_settings = state.settings or settings
    for name, value in draw_settings(b_settings, info, "##b"):
        try:
            b_settings = b_settings.with_value(name, value)
        except InputError:
            continue  # the widgets keep values inside the schema's ranges
    state.settings = b_settings
    return []
