"""The Path panel (keyframes, playback, files, export) and the path drawn over the 3D view."""

from __future__ import annotations

from imgui_bundle import imgui

from ..camera import Camera
from .controls import Command
from .overlay import Projector
from .path_editor import PathEditor

PATH_COLOUR, KEY_COLOUR, SELECTED_COLOUR, CAPTURE_COLOUR = 0xFF40C0FF, 0xFF40FFFF, 0xFF4040FF, 0xFFB0B0B0
MAX_KEY_FRUSTA = 60  # keyframe frusta drawn at most (the selected one always)


def draw_path_panel(editor: PathEditor) -> list[Command]:
    commands: list[Command] = []
    if imgui.button("Add keyframe (K)"):
        commands.append(Command("path_add"))
    imgui.same_line()
    if imgui.button("Stop path" if editor.playing else "Play path"):
        commands.append(Command("path_play"))
    imgui.same_line()
    if imgui.button("Clear"):
        commands.append(Command("path_clear"))
    _, editor.loop = imgui.checkbox("Loop", editor.loop)
    imgui.same_line()
    _, editor.show_path = imgui.checkbox("Show path", editor.show_path)
    imgui.same_line()
    _, editor.show_capture_cameras = imgui.checkbox("Capture cameras", editor.show_capture_cameras)
    imgui.set_next_item_width(140)
    _, editor.tension = imgui.slider_float("Tension", editor.tension, -1.0, 1.0, "%.2f")
    imgui.same_line()
    imgui.set_next_item_width(100)
    changed, fps = imgui.drag_float("Video fps", editor.fps, 0.5, 1.0, 240.0, "%.1f")
    if changed:
        editor.fps = min(max(fps, 1.0), 240.0)
    imgui.set_next_item_width(140)
    changed, seconds = imgui.drag_float("Default transition (s)", editor.default_duration, 0.05, 0.05, 600.0, "%.2f")
    if changed:
        editor.default_duration = min(max(seconds, 0.05), 600.0)
    commands += _keyframe_list(editor)
    commands += _files(editor)
    return commands


def _keyframe_list(editor: PathEditor) -> list[Command]:
    commands: list[Command] = []
    if not editor.keyframes:
        imgui.text_disabled("no keyframes: move the view, pick a frame, press K")
        return commands
    height = min(6, len(editor.keyframes)) * imgui.get_text_line_height_with_spacing() + 4
    times = editor.key_times()
    if imgui.begin_list_box("##keyframes", imgui.ImVec2(-1, height)):
        clipper = imgui.ListClipper()  # only the rows in sight are built (a loaded sampled path has hundreds)
        clipper.begin(len(editor.keyframes))
        while clipper.step():
            for index in range(clipper.display_start, clipper.display_end):
                key = editor.keyframes[index]
                clicked, _ = imgui.selectable(f"{index}: at {times[index]:.2f} s, frame {key.t:g}",
                                              index == editor.selected)
                if clicked:
                    editor.selected = index
                if imgui.is_item_hovered() and imgui.is_mouse_double_clicked(imgui.MouseButton_.left):
                    commands.append(Command("path_jump", index))
        imgui.end_list_box()
    index = editor.selected
    if 0 <= index < len(editor.keyframes):
        for label, command in (("Jump", Command("path_jump", index)), ("Replace", Command("path_replace", index)),
                               ("Delete", Command("path_delete", index)), ("Up", Command("path_move", (index, -1))),
                               ("Down", Command("path_move", (index, 1)))):
            if imgui.button(label):
                commands.append(command)
            imgui.same_line()
        imgui.new_line()
        key = editor.keyframes[index]
        imgui.set_next_item_width(120)
        changed, t = imgui.drag_float("Frame (model time)", key.t, 0.1, -1e6, 1e6, "%.2f")
        if changed:
            editor.set_time(index, t)
        own = key.duration is not None
        changed, own = imgui.checkbox("Own transition", own)
        if changed:
            editor.set_duration(index, editor.default_duration if own else None)
        if own:
            imgui.same_line()
            imgui.set_next_item_width(100)
            changed, seconds = imgui.drag_float("s##transition", key.duration, 0.05, 0.0, 600.0, "%.2f")
            if changed:
                editor.set_duration(index, min(max(seconds, 0.0), 600.0))
    return commands


def _files(editor: PathEditor) -> list[Command]:
    commands: list[Command] = []
    imgui.set_next_item_width(-120)
    _, editor.file = imgui.input_text("##pathfile", editor.file)
    imgui.same_line()
    if imgui.button("Save"):
        commands.append(Command("path_save", editor.file))
    imgui.same_line()
    if imgui.button("Load"):
        commands.append(Command("path_load", editor.file))
    job = editor.export
    if job is not None and job.running:
        imgui.progress_bar(job.done / max(job.total, 1), imgui.ImVec2(-80, 0), f"{job.done} / {job.total}")
        imgui.same_line()
        if imgui.button("Cancel"):
            commands.append(Command("path_cancel"))
        return commands
    imgui.set_next_item_width(-120)
    _, editor.export_file = imgui.input_text("##exportfile", editor.export_file)
    imgui.same_line()
    if imgui.button("Export video"):
        commands.append(Command("path_export", editor.export_file))
    if job is not None:
        imgui.text_wrapped(f"export: {job.error}" if job.error else f"exported {job.total} frames to {job.output}")
    return commands


def draw_overlay(editor: PathEditor, projector: Projector, captures: list[Camera], size_hint: float) -> None:
    """The path as a curve with small frusta at its keyframes, and the capture cameras, over the render."""
    if editor.show_capture_cameras:
        projector.frusta(captures, size_hint, CAPTURE_COLOUR)
    if not editor.show_path or not editor.keyframes:
        return
    curve = editor.curve()
    if curve is not None:
        projector.polyline(curve, PATH_COLOUR, 2.0)
    keys = editor.keyframes
    step = -(-len(keys) // MAX_KEY_FRUSTA)  # a sampled path (hundreds of keyframes): every step-th is drawn
    projector.frusta([key.camera for index, key in enumerate(keys) if index % step == 0 and index != editor.selected],
                     size_hint, KEY_COLOUR)
    if 0 <= editor.selected < len(keys):
        projector.frusta([keys[editor.selected].camera], size_hint, SELECTED_COLOUR)


def draw_key_markers(editor: PathEditor | None, n_frames: int, origin, width: float) -> None:
    """Keyframe model times as small triangles on the timeline strip."""
    if editor is None or not editor.keyframes:
        return
    draw = imgui.get_window_draw_list()
    drawn: set[int] = set()  # pixel columns with a marker: a sampled path has many keyframes per column
    for index, key in enumerate(editor.keyframes):
        x = origin.x + (min(max(key.t, 0), n_frames - 1) + 0.5) / max(n_frames, 1) * width
        selected = index == editor.selected
        if round(x) in drawn and not selected:
            continue
        drawn.add(round(x))
        draw.add_triangle_filled(imgui.ImVec2(x, origin.y + 12), imgui.ImVec2(x - 4, origin.y + 5),
                                 imgui.ImVec2(x + 4, origin.y + 5), SELECTED_COLOUR if selected else KEY_COLOUR)
