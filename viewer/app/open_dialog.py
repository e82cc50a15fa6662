"""File > Open model: a path field that takes what the command line takes, and the models opened lately.

Dropping a file or folder on the window opens it too (the window collects drops; the app turns each into an
``open_model`` command). Which model loads, and what a bad path says, is the app's and the model readers' work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imgui_bundle import imgui

from .controls import Command

TITLE = "Open model"
FIELD_WIDTH = 36.0  # the path field's width, in font heights


@dataclass
class OpenDialog:
    """The dialog's state: shown or not, the path typed so far, the recent models it lists."""

    visible: bool = False
    path: str = ""
    recent: list[str] = field(default_factory=list)
    focus_field: bool = False  # put the keyboard in the path field on the frame the dialog opens

    def show(self) -> None:
        self.visible, self.focus_field = True, True


def draw_open_dialog(dialog: OpenDialog) -> list[Command]:
    """The dialog, when shown; Open (or Enter) and a click on a recent model send ``open_model``."""
    if not dialog.visible:
        return []
    commands: list[Command] = []
    viewport = imgui.get_main_viewport()
    imgui.set_next_window_pos(imgui.ImVec2(viewport.work_pos.x + viewport.work_size.x / 2,
                                           viewport.work_pos.y + viewport.work_size.y / 3),
                              imgui.Cond_.appearing, imgui.ImVec2(0.5, 0.5))
    imgui.set_next_window_size(imgui.ImVec2(0, 0), imgui.Cond_.always)
    flags = imgui.WindowFlags_.no_docking | imgui.WindowFlags_.no_collapse
    opened, keep = imgui.begin(TITLE, True, flags)
    if opened:
        imgui.text("An .npz model, a folder of PLY files, a glob such as frames/*.ply, or one .ply file:")
        imgui.set_next_item_width(FIELD_WIDTH * imgui.get_font_size())
        if dialog.focus_field:
            imgui.set_keyboard_focus_here()
            dialog.focus_field = False
        entered, dialog.path = imgui.input_text("##path", dialog.path, imgui.InputTextFlags_.enter_returns_true)
        chosen = dialog.path.strip()
        imgui.begin_disabled(not chosen)
        if (imgui.button("Open") or entered) and chosen:
            commands.append(Command("open_model", chosen))
        imgui.end_disabled()
        imgui.same_line()
        if imgui.button("Cancel") or imgui.is_key_pressed(imgui.Key.escape, repeat=False):
            keep = False
        if dialog.recent:
            imgui.separator()
            imgui.text_disabled("Recent")
            for path in dialog.recent:
                if imgui.selectable(path, False)[0]:
                    commands.append(Command("open_model", path))
    imgui.end()
    dialog.visible = keep and not commands
    return commands
