"""The ImGui panels: Timeline, Scene (model and camera), Path, Compare, Quality, Inspect, Stats and Cache.

Each is a dockable window (see layout.py for where they start). They edit state and return commands; the app
carries the commands out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from imgui_bundle import imgui

from ..camera import MAX_IMAGE_SIDE
from ..model import ModelInfo
from .compare import CompareState, draw_compare_panel
from .controls import Command
from .layout import PANELS, TIMELINE
from .menus import draw_help
from .open_dialog import OpenDialog, draw_open_dialog
from .path_panel import draw_path_panel
from .settings_widgets import draw_settings, label_room
from .state import MIN_CUSTOM_SIDE, RESOLUTION_PRESETS, FrameStats, RenderOptions
from .timeline_panel import draw_timeline


@dataclass
class UIView:
    """What the panels show and edit."""

    info: ModelInfo
    session: object                    # the ViewerSession: timeline, camera, settings, backends, messages
    options: RenderOptions
    compare: CompareState = field(default_factory=CompareState)
    camera_label: str = "default view"
    fly_mode: bool = False
    status: str = ""
    ui_scale: float = 1.0
    show_help: bool = False
    show_panel: bool = True
    show_log: bool = False
    panels: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(PANELS, True))
    camera_path: list[str] = field(default_factory=lambda: [""])
    focus: list[str] = field(default_factory=list)  # panels to bring to the front this frame
    open_dialog: OpenDialog = field(default_factory=OpenDialog)


def draw_panels(view: UIView) -> list[Command]:
    """Every visible panel (docked where the layout put it, or wherever the user moved it)."""
    commands: list[Command] = []
    if view.show_help:
        commands += draw_help()
    commands += draw_open_dialog(view.open_dialog)
    if not view.show_panel:
        return commands
    session = view.session
    contents = {
        TIMELINE: lambda: draw_timeline(session.timeline, view.info.fps, session.frame_statuses(),
                                        session.path_editor),
        "Scene": lambda: _scene(view),
        "Path": lambda: draw_path_panel(session.path_editor),
        "Compare": lambda: draw_compare_panel(view.compare, session.settings, session.backend, session.backends,
                                              view.info, session.frame_index),
        "Quality": lambda: _quality(view),
        "Inspect": lambda: _inspect(session),
        "Stats": lambda: _stats(session.stats, session.backend),
        "Cache": lambda: _cache(session.loader),
    }
    for name in PANELS:
        if not view.panels.get(name, True):
            continue
        if name in view.focus:
            imgui.set_next_window_focus()
            view.focus.remove(name)
        expanded, keep = imgui.begin(name, True)
        if expanded:
            commands += contents[name]() or []
        imgui.end()
        view.panels[name] = keep
    return commands


def _scene(view: UIView) -> list[Command]:
    commands = []
    info = view.info
    imgui.text(info.path.name)
    imgui.push_style_color(imgui.Col_.text, imgui.get_style_color_vec4(imgui.Col_.text_disabled))
    imgui.text_wrapped(f"{info.kind} | {info.colour.value} | {info.n_frames} frames at {info.fps:g} fps")
    imgui.pop_style_color()
    imgui.separator_text("Camera")
    imgui.text(f"view: {view.camera_label}")
    if imgui.button("Reset (R)"):
        commands.append(Command("reset_view"))
    imgui.same_line()
    if imgui.checkbox("Fly mode (F)", view.fly_mode)[0]:
        commands.append(Command("fly_mode"))
    options = view.options
    _, options.show_axes = imgui.checkbox("Axes", options.show_axes)
    imgui.same_line()
    _, options.show_grid = imgui.checkbox("Grid", options.show_grid)
    imgui.same_line()
    _, options.show_box = imgui.checkbox("Box", options.show_box)
    if imgui.button("Copy (Ctrl+C)"):
        commands.append(Command("copy_camera"))
    imgui.same_line()
    if imgui.button("Paste (Ctrl+V)"):
        commands.append(Command("paste_camera"))
    imgui.set_next_item_width(-imgui.calc_text_size("Load JSON").x - 2 * imgui.get_style().frame_padding.x - 8)
    entered, view.camera_path[0] = imgui.input_text_with_hint("##campath", "camera.json",
                                                              view.camera_path[0],
                                                              imgui.InputTextFlags_.enter_returns_true)
    imgui.same_line()
    if imgui.button("Load JSON") or entered:  # Enter in the field loads too
        commands.append(Command("load_camera", view.camera_path[0]))
    imgui.separator_text(f"Capture cameras ({len(info.cameras)})")
    if info.cameras:
        height = min(8, len(info.cameras)) * imgui.get_text_line_height_with_spacing()
        if imgui.begin_list_box("##cameras", imgui.ImVec2(-1, height)):
            clipper = imgui.ListClipper()  # only the rows in sight are built (rigs have hundreds of cameras)
            clipper.begin(len(info.cameras))
            while clipper.step():
                for index in range(clipper.display_start, clipper.display_end):
                    camera = info.cameras[index]
                    label = f"{index}: {camera.name or 'camera'} ({camera.width}x{camera.height})"
                    if imgui.selectable(label, index == view.session.snapped)[0]:
                        commands.append(Command("snap", index))
            imgui.end_list_box()
    else:
        imgui.text_disabled("no capture cameras in this model")
    return commands


def _quality(view: UIView) -> list[Command]:
    """Backend and render resolution, then every render setting, its widget built from the settings schema."""
    commands = []
    session, options = view.session, view.options
    label_room()
    if len(session.backends) > 1:
        index = session.backends.index(session.backend) if session.backend in session.backends else 0
        changed, index = imgui.combo("Backend", index, session.backends)
        if changed:
            commands.append(Command("backend", session.backends[index]))
    presets = list(RESOLUTION_PRESETS)
    changed, index = imgui.combo("Resolution", presets.index(options.resolution), presets)
    if changed:
        options.resolution = presets[index]
    if options.resolution == "window":
        _, options.render_scale = imgui.slider_float("Render scale", options.render_scale, 0.25, 2.0, "%.2f")
    elif options.resolution == "custom":
        changed, size = imgui.input_int2("Width, height", list(options.custom_size))
        if changed:
            options.custom_size = tuple(min(max(int(s), MIN_CUSTOM_SIDE), MAX_IMAGE_SIDE) for s in size)
    for name, value in draw_settings(session.settings, view.info):
        session.set_setting(name, value)
    changed, options.vsync = imgui.checkbox("V-sync", options.vsync)
    if changed:
        commands.append(Command("vsync"))
    imgui.pop_item_width()
    return commands


def _inspect(session) -> None:
    """The point picked with a double click in the view."""
    picked = session.picked
    if picked is None:
        imgui.text_wrapped("Double-click the model to inspect the point under the cursor: its position, radius, "
                           "opacity and colour from this view.")
        return
    imgui.text(f"frame {picked.frame}, point {picked.index:,}")
    x, y, z = picked.position
    imgui.text(f"position  {x:.4f}  {y:.4f}  {z:.4f}")
    imgui.text(f"radius    {picked.radius:.5g}  ({picked.radius_pixels:.1f} px on screen)")
    imgui.text(f"alpha     {picked.alpha:.4f}")
    imgui.text(f"depth     {picked.depth:.4f}")
    r, g, b = (float(c) for c in picked.colour)
    imgui.color_button("##picked", imgui.ImVec4(r, g, b, 1.0), 0, imgui.ImVec2(18, 18))
    imgui.same_line()
    imgui.text(f"colour  {r:.3f}  {g:.3f}  {b:.3f}   ({int(round(r * 255))}, {int(round(g * 255))}, "
               f"{int(round(b * 255))})")
    imgui.text_disabled(f"pixel {picked.pixel[0]}, {picked.pixel[1]}: {picked.covering} discs cover it")
    if imgui.button("Clear"):
        session.picked = None


def _stats(stats: FrameStats, backend: str) -> None:
    imgui.text(f"{stats.images_per_second(time.monotonic()):5.1f} images/s  (UI {stats.fps:.0f} fps)")
    imgui.text(f"{stats.points:,} points   {stats.layers_drawn} layers   backend {backend}")
    imgui.text(f"load {stats.load_ms:5.1f}  colour {stats.colour_ms:5.1f}  raster {stats.raster_ms:5.1f}  "
               f"display {stats.display_ms:5.1f} ms")
    imgui.text(f"GPU memory (renderer) {stats.gpu_bytes / 2 ** 20:,.1f} MiB")
    values = stats.plot_values()
    if len(values):
        imgui.plot_lines("##frametimes", values, overlay_text=f"frame time {values[-1]:.1f} ms",
                         graph_size=imgui.ImVec2(-1, 50), scale_min=0.0)


def _cache(cache) -> None:
    """Host and GPU cache use against their budgets; the budgets can be changed here."""
    gib = float(1 << 30)
    stats = cache.stats
    imgui.text(f"host  {stats.host_bytes / gib:6.2f} / {cache.host_budget / gib:.2f} GiB")
    if cache.on_gpu:
        imgui.text(f"GPU   {stats.device_bytes / gib:6.2f} / {cache.device_budget / gib:.2f} GiB")
    else:
        imgui.text_disabled("frames stay in host memory: no CUDA device")
    if stats.disk_seconds > 0:
        imgui.text(f"disk reads {stats.disk_reads}, {stats.disk_bytes / stats.disk_seconds / 2 ** 20:,.0f} MiB/s")
    changed, host = imgui.drag_float("Host budget (GiB)", cache.host_budget / gib, 0.1, 0.1, 1024.0, "%.1f")
    if changed:
        cache.host_budget = int(host * gib)
    if cache.on_gpu:
        changed, device = imgui.drag_float("GPU budget (GiB)", cache.device_budget / gib, 0.1, 0.1, 1024.0, "%.1f")
        if changed:
            cache.device_budget = int(device * gib)
