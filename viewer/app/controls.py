"""Mouse and keyboard, as ImGui sees them, turned into camera moves and app commands.

Reading input through ImGui (rather than raw window callbacks) gives one input path for the window and for
tests, and lets the UI take the mouse and keyboard when it has focus.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgui_bundle import imgui

from .camera_control import CameraState

ORBIT_SPEED = 0.006      # radians per pixel of drag
PAN_SPEED = 0.0015       # pivot distances per pixel of drag
DOLLY_STEP = 0.9         # distance factor per wheel notch
ZOOM_STEP = 0.93         # field-of-view factor per wheel notch (Ctrl + wheel)
FLY_SPEED = 0.6          # pivot distances per second (Shift: ×4)
ROLL_SPEED = 1.0         # radians per second
POINT_STEP = 1.1         # point-size factor per press of + or -

SHORTCUTS = [
    ("Left drag", "orbit around the pivot (look around in fly mode)"),
    ("Right drag", "look around in place"),
    ("Middle drag / Shift+Left drag", "pan"),
    ("Wheel / Ctrl+Wheel", "dolly / zoom (field of view)"),
    ("W A S D, Q E", "fly forward, left, back, right, down, up (Shift: faster)"),
    ("Z / C", "roll the view"),
    ("+ / -", "bigger / smaller points (the Radius scale setting)"),
    ("F", "toggle fly mode"),
    ("R", "reset the view to frame the model"),
    ("Left / Right", "previous / next frame"),
    ("Home / End", "first / last frame"),
    ("Space", "play / pause"),
    ("I / O", "set the in / out point of playback at this frame (again on the same frame: clear it)"),
    ("Double-click", "inspect the point under the cursor (Inspect panel)"),
    ("B", "compare: flip between A and B (Compare panel)"),
    ("Ctrl+Left / Ctrl+Right", "snap to the previous / next capture camera"),
    ("Ctrl+0 .. Ctrl+9", "snap to capture camera 0 .. 9"),
    ("Ctrl+C / Ctrl+V", "copy / paste the camera as JSON"),
    ("Ctrl+S", "save a screenshot at render resolution"),
    ("Ctrl+O", "open another model (or drop a file or folder on the window)"),
    ("K", "add a camera-path keyframe at the current view and frame (Path panel)"),
    ("Tab", "show / hide the panels"),
    ("F11", "fullscreen"),
    ("F1", "show / hide this help"),
    ("Ctrl+Q", "quit"),
]

_DIGITS = [getattr(imgui.Key, f"_{i}") for i in range(10)]


@dataclass(frozen=True)
class Command:
    """Something the user asked the app to do (from a key or a UI button)."""

    name: str
    arg: object = None


class InputController:
    """Applies this frame's mouse and keyboard input to the camera; returns the commands it saw."""

    def __init__(self) -> None:
        self.fly_mode = False

    def update(self, camera: CameraState, dt: float) -> tuple[CameraState, list[Command]]:
        io = imgui.get_io()
        commands: list[Command] = []
        if not io.want_capture_mouse:
            camera = self._mouse(io, camera)
            if imgui.is_mouse_double_clicked(imgui.MouseButton_.left):
                commands.append(Command("pick", (io.mouse_pos.x, io.mouse_pos.y)))
        if not io.want_capture_keyboard:
            camera = self._movement(io, camera, dt)
            commands += self._keys(io)
        return camera, commands

    def _mouse(self, io, camera: CameraState) -> CameraState:
        dx, dy = io.mouse_delta.x, io.mouse_delta.y
        if abs(dx) > 1e5 or abs(dy) > 1e5:  # no previous position yet
            dx = dy = 0.0
        if imgui.is_mouse_down(imgui.MouseButton_.middle) or (
                imgui.is_mouse_down(imgui.MouseButton_.left) and io.key_shift):
            camera = camera.pan(dx * PAN_SPEED, dy * PAN_SPEED) if dx or dy else camera
        elif imgui.is_mouse_down(imgui.MouseButton_.left) and (dx or dy):
            if self.fly_mode:
                camera = camera.look(dx * ORBIT_SPEED, dy * ORBIT_SPEED)
            else:
                camera = camera.orbit(dx * ORBIT_SPEED, dy * ORBIT_SPEED)
        elif imgui.is_mouse_down(imgui.MouseButton_.right) and (dx or dy):
            camera = camera.look(dx * ORBIT_SPEED, dy * ORBIT_SPEED)
        if io.mouse_wheel:
            if io.key_ctrl:
                camera = camera.zoom(ZOOM_STEP ** io.mouse_wheel)
            else:
                camera = camera.dolly(DOLLY_STEP ** io.mouse_wheel)
        return camera

    def _movement(self, io, camera: CameraState, dt: float) -> CameraState:
        if io.key_ctrl:
            return camera
        speed = FLY_SPEED * camera.distance * dt * (4.0 if io.key_shift else 1.0)
        axes = {imgui.Key.w: (1, 0, 0), imgui.Key.s: (-1, 0, 0), imgui.Key.d: (0, 1, 0), imgui.Key.a: (0, -1, 0),
                imgui.Key.e: (0, 0, 1), imgui.Key.q: (0, 0, -1)}
        move = [0.0, 0.0, 0.0]
        for key, axis in axes.items():
            if imgui.is_key_down(key):
                move = [m + a for m, a in zip(move, axis)]
        if any(move):
            camera = camera.fly(*(m * speed for m in move))
        roll = imgui.is_key_down(imgui.Key.c) - imgui.is_key_down(imgui.Key.z)
        if roll:
            camera = camera.roll(roll * ROLL_SPEED * dt)
        return camera

    def _keys(self, io) -> list[Command]:
        pressed = imgui.is_key_pressed
        out = []
        if io.key_ctrl:
            for key, command in ((imgui.Key.left_arrow, Command("snap_step", -1)),
                                 (imgui.Key.right_arrow, Command("snap_step", 1)),
                                 (imgui.Key.c, Command("copy_camera")), (imgui.Key.v, Command("paste_camera")),
                                 (imgui.Key.s, Command("screenshot")), (imgui.Key.q, Command("quit")),
                                 (imgui.Key.o, Command("open_dialog"))):
                if pressed(key, repeat=False):
                    out.append(command)
            for index, key in enumerate(_DIGITS):
                if pressed(key, repeat=False):
                    out.append(Command("snap", index))
        else:
            for key, command in ((imgui.Key.left_arrow, Command("step", -1)),
                                 (imgui.Key.right_arrow, Command("step", 1)),
                                 (imgui.Key.home, Command("seek", 0)), (imgui.Key.end, Command("seek", -1))):
                if pressed(key):  # held arrows repeat
                    out.append(command)
            for key, command in ((imgui.Key.space, Command("play")), (imgui.Key.r, Command("reset_view")),
                                 (imgui.Key.f, Command("fly_mode")), (imgui.Key.k, Command("path_add")),
                                 (imgui.Key.i, Command("mark_in")), (imgui.Key.o, Command("mark_out")),
                                 (imgui.Key.b, Command("compare_flip"))):
                if pressed(key, repeat=False):
                    out.append(command)
            for key, factor in ((imgui.Key.equal, POINT_STEP), (imgui.Key.keypad_add, POINT_STEP),
                                (imgui.Key.minus, 1 / POINT_STEP), (imgui.Key.keypad_subtract, 1 / POINT_STEP)):
                if pressed(key):  # held keys repeat
                    out.append(Command("point_size", factor))
        for key, command in ((imgui.Key.f11, Command("fullscreen")), (imgui.Key.f1, Command("help")),
                             (imgui.Key.tab, Command("toggle_panel"))):
            if pressed(key, repeat=False):
                out.append(command)
        return out
