"""The window's chrome: the menu bar, the status bar with its message log, and the shortcuts window."""

from __future__ import annotations

from imgui_bundle import imgui

from .controls import SHORTCUTS, Command
from .layout import PANELS, UI_SCALES, status_bar_height


def draw_menu_bar(view) -> list[Command]:
    """File, View and Help menus; every action also has a key or a panel button."""
    commands: list[Command] = []
    if not imgui.begin_main_menu_bar():
        return commands
    if imgui.begin_menu("File"):
        if imgui.menu_item("Open model...", "Ctrl+O", False)[0]:
            commands.append(Command("open_dialog"))
        recent = view.open_dialog.recent
        if imgui.begin_menu("Open recent", bool(recent)):
            for path in recent:
                if imgui.menu_item(path, "", False)[0]:
                    commands.append(Command("open_model", path))
            imgui.end_menu()
        imgui.separator()
        if imgui.menu_item("Save screenshot", "Ctrl+S", False)[0]:
            commands.append(Command("screenshot"))
        if imgui.menu_item("Copy camera as JSON", "Ctrl+C", False)[0]:
            commands.append(Command("copy_camera"))
        if imgui.menu_item("Paste camera", "Ctrl+V", False)[0]:
            commands.append(Command("paste_camera"))
        imgui.separator()
        if imgui.menu_item("Quit", "Ctrl+Q", False)[0]:
            commands.append(Command("quit"))
        imgui.end_menu()
    if imgui.begin_menu("View"):
        if imgui.menu_item("Panels", "Tab", view.show_panel)[0]:
            commands.append(Command("toggle_panel"))
        for name in PANELS:
            clicked, shown = imgui.menu_item(f"  {name}", "", view.panels.get(name, True), view.show_panel)
            if clicked:
                view.panels[name] = shown
        if imgui.menu_item("Reset layout", "", False)[0]:
            commands.append(Command("reset_layout"))
        imgui.separator()
        options = view.options
        options.show_axes = imgui.menu_item("World axes", "", options.show_axes)[1]
        options.show_grid = imgui.menu_item("Floor grid", "", options.show_grid)[1]
        options.show_box = imgui.menu_item("Bounding box", "", options.show_box)[1]
        if imgui.menu_item("Fullscreen", "F11", False)[0]:
            commands.append(Command("fullscreen"))
        if imgui.begin_menu("UI scale"):
            for scale in UI_SCALES:
                if imgui.menu_item(f"{scale:g}x", "", abs(view.ui_scale - scale) < 1e-3)[0]:
                    commands.append(Command("ui_scale", scale))
            imgui.end_menu()
        imgui.end_menu()
    if imgui.begin_menu("Help"):
        if imgui.menu_item("Shortcuts", "F1", view.show_help)[0]:
            commands.append(Command("help"))
        imgui.end_menu()
    imgui.text_disabled(f"   {view.info.path.name}   {view.info.kind} | {view.info.colour.value} | "
                        f"{view.info.n_frames} frames")
    imgui.end_main_menu_bar()
    return commands


def draw_status_bar(view) -> None:
    """The latest message, always visible along the bottom of the window; click it for the message log."""
    flags = (imgui.WindowFlags_.no_decoration | imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_saved_settings
             | imgui.WindowFlags_.no_focus_on_appearing | imgui.WindowFlags_.no_docking)
    viewport = imgui.get_main_viewport()
    if imgui.internal.begin_viewport_side_bar("##status", viewport, imgui.Dir.down, status_bar_height(), flags):
        session = view.session
        latest = session.notifications[-1] if session.notifications else None
        colour = {"error": imgui.ImVec4(1, 0.45, 0.4, 1), "warning": imgui.ImVec4(1, 0.8, 0.4, 1)}.get(
            latest.level if latest else "", imgui.ImVec4(0.85, 0.85, 0.85, 1))
        imgui.push_style_color(imgui.Col_.text, colour)
        if imgui.selectable(f"{latest.text if latest else 'ready'}##latest", False)[0]:
            view.show_log = not view.show_log
        imgui.pop_style_color()
        if latest is not None and imgui.is_item_hovered():
            imgui.set_tooltip(f"{latest.text}\n(click for all messages)")
    imgui.end()
    if view.show_log:
        imgui.set_next_window_size(imgui.ImVec2(560, 240), imgui.Cond_.first_use_ever)
        opened, keep = imgui.begin("Messages", True)
        if opened:
            for note in reversed(view.session.notifications):
                imgui.text_wrapped(f"[{note.level}] {note.text}")
        imgui.end()
        view.show_log = keep


def draw_help() -> list[Command]:
    """The shortcuts table, sized to fit (no column cut off); closing it sends 'help'."""
    viewport = imgui.get_main_viewport()
    imgui.set_next_window_pos(imgui.ImVec2(viewport.work_pos.x + viewport.work_size.x / 2,
                                           viewport.work_pos.y + viewport.work_size.y / 2),
                              imgui.Cond_.first_use_ever, imgui.ImVec2(0.5, 0.5))
    imgui.set_next_window_size(imgui.ImVec2(0, 0), imgui.Cond_.always)
    opened, keep = imgui.begin("Help: shortcuts", True, imgui.WindowFlags_.no_docking)
    if opened and imgui.begin_table("shortcuts", 2, imgui.TableFlags_.row_bg | imgui.TableFlags_.sizing_fixed_fit):
        for key, what in SHORTCUTS:
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.text(key)
            imgui.table_next_column()
            imgui.text(what)
        imgui.end_table()
    imgui.end()
    return [] if keep else [Command("help")]
