"""What the Path panel's commands do to the viewer: keyframes from the current view, jumping to a keyframe,
playing the path in the window, saving, loading and exporting."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .camera_control import CameraState
from .controls import Command
from .exporter import start_export

PATH_COMMANDS = ("path_add", "path_replace", "path_delete", "path_move", "path_jump", "path_play", "path_save",
                 "path_load", "path_export", "path_cancel", "path_clear")


def handle(app, command: Command) -> None:
    """Carry out one path command on ``app`` (a ViewerApp); problems go to the status line."""
    editor, name, arg = app.path_editor, command.name, command.arg
    size = app.render_size()
    try:
        if name == "path_add":
            index = editor.add(app.camera_state.to_camera(*size), app.timeline.frame)
            app.session.notify(f"keyframe {index} added at frame {app.timeline.frame} ({len(editor.keyframes)} in all)")
        elif name == "path_replace" and 0 <= arg < len(editor.keyframes):
            editor.replace(arg, app.camera_state.to_camera(*size), app.timeline.frame)
            app.session.notify(f"keyframe {arg} set to the current view and frame")
        elif name == "path_delete" and 0 <= arg < len(editor.keyframes):
            editor.delete(arg)
        elif name == "path_move":
            editor.move(*arg)
        elif name == "path_jump" and 0 <= arg < len(editor.keyframes):
            jump(app, arg)
        elif name == "path_play":
            editor.toggle_play()
        elif name == "path_clear":
            editor.clear()
        elif name == "path_save":
            saved = editor.save(arg, size)
            app.session.notify(f"path saved: {saved.resolve()}")
        elif name == "path_load":
            editor.load(arg, app.info.n_frames, app.timeline.frame)
            app.session.notify(f"path loaded: {len(editor.keyframes)} keyframes from {arg}")
            jump(app, 0)
        elif name == "path_export":
            export(app, Path(arg).expanduser())
        elif name == "path_cancel" and editor.export is not None:
            editor.export.cancel.set()
    except InputError as exc:
        app.session.notify(f"path: {exc}", "error")


def jump(app, index: int) -> None:
    editor = app.path_editor
    key = editor.keyframes[index]
    app.camera_state = CameraState.from_camera(key.camera, app.info.up, app._pivot_distance(key.camera))
    app.timeline.seek(min(max(int(round(key.t)), 0), app.info.n_frames - 1))
    editor.selected, editor.playing = index, False
    editor.play_time = editor.key_times()[index]


def export(app, output: Path) -> None:
    editor = app.path_editor
    if editor.export is not None and editor.export.running:
        app.session.notify("an export is already running")
        return
    path = editor.path(app.render_size())
    if path is None:
        raise InputError(output, "add keyframes (K) before exporting")
    session = app.session
    editor.export = start_export(app.model, path, output, session.colour_settings(), session.settings.raster(),
                                 session.settings.mode)
    session.notify(f"exporting {editor.export.total} frames to {output}")
