"""The ImGui panels: timeline, camera, quality, stats and help. They edit state and return commands."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from imgui_bundle import imgui

from ..camera import Camera
from ..model import ModelInfo
from ..settings import RenderSettings
from .controls import SHORTCUTS, Command
from .path_editor import PathEditor
from .path_panel import draw_key_markers, draw_path_panel
from .state import RESOLUTION_PRESETS, FrameStats, RenderOptions
from .timeline import Timeline

# ImGui colours are 0xAABBGGRR: on the GPU green, in host memory teal, loading orange, failed red, not loaded grey
STATUS_COLOURS = {"device": 0xFF50C050, "host": 0xFFA0A040, "loading": 0xFF30A0E0, "failed": 0xFF3030E0,
                  "none": 0xFF505050}
PANEL_WIDTH = 420
WIDGET_LABELS = {"layers": "K layers", "n_srcs": "Source views", "solid": "Solid (no blending)",
                 "sh_degree": "SH degree", "sh_limit": "SH limit", "skip_sh": "Skip SH", "skip_base": "Skip base",
                 "mode": "Mode"}


@dataclass
class UIView:
    """What the panels show and edit."""

    info: ModelInfo
    timeline: Timeline
    options: RenderOptions
    stats: FrameStats
    cameras: list[Camera]
    backends: list[str]
    camera_label: str
    fly_mode: bool
    frame_status: callable           # frame index -> 'cached' | 'loading' | 'failed' | 'none'
    session: object = None            # the ViewerSession: render settings and backends
    cache: object = None              # the FrameCache: budgets and usage for the Stats panel
    status: str = ""
    show_help: bool = False
    show_panel: bool = True
    camera_path: list[str] = field(default_factory=lambda: [""])
    path_editor: PathEditor | None = None
    show_log: bool = False


def draw_status_bar(view: UIView) -> None:
    """The latest message, always visible along the bottom of the window; click it for the message log."""
    viewport = imgui.get_main_viewport()
    height = imgui.get_frame_height() + 6
    imgui.set_next_window_pos(imgui.ImVec2(viewport.work_pos.x, viewport.work_pos.y + viewport.work_size.y - height))
    imgui.set_next_window_size(imgui.ImVec2(viewport.work_size.x, height))
    flags = (imgui.WindowFlags_.no_decoration | imgui.WindowFlags_.no_move | imgui.WindowFlags_.no_saved_settings
             | imgui.WindowFlags_.no_focus_on_appearing)
    imgui.begin("##status", None, flags)
    session = view.session
    latest = session.notifications[-1] if session is not None and session.notifications else None
    colour = {"error": imgui.ImVec4(1, 0.45, 0.4, 1), "warning": imgui.ImVec4(1, 0.8, 0.4, 1)}.get(
        latest.level if latest else "", imgui.ImVec4(0.85, 0.85, 0.85, 1))
    imgui.push_style_color(imgui.Col_.text, colour)
    if imgui.selectable(f"{latest.text if latest else 'ready'}##latest", False)[0]:
        view.show_log = not view.show_log
    imgui.pop_style_color()
    if latest is not None and imgui.is_item_hovered():
        imgui.set_tooltip(f"{latest.text}\n(click for all messages)")
    imgui.end()
    if view.show_log and session is not None:
        imgui.set_next_window_size(imgui.ImVec2(560, 240), imgui.Cond_.first_use_ever)
        opened, keep = imgui.begin("Messages", True)
        if opened:
            for note in reversed(session.notifications):
                imgui.text_wrapped(f"[{note.level}] {note.text}")
        imgui.end()
        view.show_log = keep


def draw_panels(view: UIView) -> list[Command]:
    commands: list[Command] = []
    if not view.show_panel:
        commands = _help() if view.show_help else commands
        draw_status_bar(view)
        return commands
    viewport = imgui.get_main_viewport()
    imgui.set_next_window_pos(imgui.ImVec2(viewport.work_pos.x + 8, viewport.work_pos.y + 8),
                              imgui.Cond_.first_use_ever)
    imgui.set_next_window_size(imgui.ImVec2(PANEL_WIDTH, 0), imgui.Cond_.first_use_ever)
    bar = imgui.get_frame_height() + 6
    imgui.set_next_window_size_constraints(imgui.ImVec2(200, 100),
                                           imgui.ImVec2(viewport.work_size.x, viewport.work_size.y - bar - 16))
    imgui.begin("k4d-viewer")
    imgui.text(view.info.path.name)
    imgui.text_disabled(f"{view.info.kind} | {view.info.colour.value} | {view.info.n_frames} frames")
    if imgui.collapsing_header("Timeline", imgui.TreeNodeFlags_.default_open):
        commands += _timeline(view)
    if imgui.collapsing_header("Camera", imgui.TreeNodeFlags_.default_open):
        commands += _camera(view)
    if view.path_editor is not None and imgui.collapsing_header("Path"):
        commands += draw_path_panel(view.path_editor)
    if imgui.collapsing_header("Quality", imgui.TreeNodeFlags_.default_open):
        commands += _quality(view)
    if imgui.collapsing_header("Stats", imgui.TreeNodeFlags_.default_open):
        _stats(view.stats, view.session.backend)
    if view.cache is not None and imgui.collapsing_header("Cache"):
        _cache(view.cache)
    if imgui.button("Screenshot (Ctrl+S)"):
        commands.append(Command("screenshot"))
    imgui.same_line()
    if imgui.button("Help (F1)"):
        commands.append(Command("help"))
    imgui.end()
    if view.show_help:
        commands += _help()
    draw_status_bar(view)
    return commands


def _timeline(view: UIView) -> list[Command]:
    commands = []
    timeline = view.timeline
    imgui.set_next_item_width(-1)
    changed, frame = imgui.slider_int("##frame", timeline.frame, 0, max(0, timeline.n_frames - 1),
                                      f"frame %d / {timeline.n_frames - 1}")
    if changed:
        commands.append(Command("seek", frame))
    _frame_status_bar(view)
    if imgui.button("Pause" if timeline.playing else "Play"):
        commands.append(Command("play"))
    imgui.same_line()
    if imgui.button("<"):
        commands.append(Command("step", -1))
    imgui.same_line()
    if imgui.button(">"):
        commands.append(Command("step", 1))
    imgui.same_line()
    _, timeline.loop = imgui.checkbox("Loop", timeline.loop)
    imgui.same_line()
    _, timeline.every_frame = imgui.checkbox("Every frame", timeline.every_frame)
    if imgui.is_item_hovered():
        imgui.set_tooltip("on: playback waits until each frame is drawn; off: it keeps real time and skips frames "
                          "a slow backend cannot draw")
    imgui.set_next_item_width(120)
    changed, rate = imgui.drag_float("Rate (fps)", timeline.rate, 0.5, 0.5, 240.0, "%.1f")
    if changed:
        timeline.rate = max(0.5, rate)
    return commands


def _frame_status_bar(view: UIView) -> None:
    """Cached / loading / not-loaded frames as a strip of coloured cells under the slider."""
    draw = imgui.get_window_draw_list()
    origin = imgui.get_cursor_screen_pos()
    width = imgui.get_content_region_avail().x
    n = view.timeline.n_frames
    cell = width / max(n, 1)
    for index in range(n):
        x0 = origin.x + index * cell
        draw.add_rect_filled(imgui.ImVec2(x0, origin.y), imgui.ImVec2(x0 + max(cell - 1, 1), origin.y + 4),
                             STATUS_COLOURS[view.frame_status(index)])
    draw_key_markers(view.path_editor, n, origin, width)
    imgui.dummy(imgui.ImVec2(width, 13 if view.path_editor is not None and view.path_editor.keyframes else 6))


def _camera(view: UIView) -> list[Command]:
    commands = []
    imgui.text(f"view: {view.camera_label}")
    if imgui.button("Reset (R)"):
        commands.append(Command("reset_view"))
    imgui.same_line()
    changed, fly = imgui.checkbox("Fly mode (F)", view.fly_mode)
    if changed:
        commands.append(Command("fly_mode"))
    options = view.options
    _, options.show_axes = imgui.checkbox("Axes", options.show_axes)
    imgui.same_line()
    _, options.show_grid = imgui.checkbox("Floor grid", options.show_grid)
    imgui.same_line()
    _, options.show_box = imgui.checkbox("Bounding box", options.show_box)
    if imgui.button("Copy (Ctrl+C)"):
        commands.append(Command("copy_camera"))
    imgui.same_line()
    if imgui.button("Paste (Ctrl+V)"):
        commands.append(Command("paste_camera"))
    imgui.set_next_item_width(PANEL_WIDTH - 110)
    entered, view.camera_path[0] = imgui.input_text("##campath", view.camera_path[0],
                                                    imgui.InputTextFlags_.enter_returns_true)
    imgui.same_line()
    if imgui.button("Load JSON") or entered:  # Enter in the field loads too
        commands.append(Command("load_camera", view.camera_path[0]))
    if view.cameras:
        labels = [f"{i}: {c.name or 'camera'} ({c.width}x{c.height})" for i, c in enumerate(view.cameras)]
        imgui.set_next_item_width(-1)
        list_height = min(6, len(labels)) * imgui.get_text_line_height_with_spacing()
        if imgui.begin_list_box("##cameras", imgui.ImVec2(-1, list_height)):
            for index, label in enumerate(labels):
                if imgui.selectable(label, False)[0]:
                    commands.append(Command("snap", index))
            imgui.end_list_box()
    else:
        imgui.text_disabled("no capture cameras in this model")
    return commands


def _quality(view: UIView) -> list[Command]:
    """Backend and window resolution, then every render setting, its widget built from the settings schema."""
    commands = []
    session, options = view.session, view.options
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
    settings = session.settings
    colour = session.colour_settings()
    for item in fields(RenderSettings):
        name, spec = item.name, item.metadata["spec"]
        value = getattr(settings, name)
        label = WIDGET_LABELS.get(name, name.replace("_", " ").capitalize())
        applies = _applies(name, view.info)
        if not applies:
            imgui.begin_disabled()
        if spec.choices is not None:
            changed, index = imgui.combo(label, spec.choices.index(value), list(spec.choices))
            value = spec.choices[index]
        elif isinstance(item.default, bool):
            changed, value = imgui.checkbox(label, value)
        elif name == "background":
            changed, picked = imgui.color_edit3(label, list(value))
            value = tuple(float(c) for c in picked)
        elif name in ("layers", "sh_degree", "n_srcs"):
            high = int(spec.high) if name != "n_srcs" else max(1, view.info.n_views or 1)
            current = value if value is not None else colour.n_srcs
            changed, value = imgui.slider_int(label, int(current), int(spec.low), high)
        else:
            current = value if value is not None else settings.raster().radius_scale if name == "radius_scale" \
                else colour.sh_limit
            flags = imgui.SliderFlags_.logarithmic if spec.log else 0
            high = min(spec.high, 4.0) if name != "alpha_threshold" else 0.5
            changed, value = imgui.slider_float(label, float(current), float(spec.low), high, "%.4g", flags)
        if imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled):
            imgui.set_tooltip(f"{spec.help} ({spec.flag})" + ("" if applies else " - not used by this model"))
        if not applies:
            imgui.end_disabled()
        if changed and applies:
            session.set_setting(name, value)
    changed, options.vsync = imgui.checkbox("V-sync", options.vsync)
    if changed:
        commands.append(Command("vsync"))
    return commands


def _applies(name: str, info: ModelInfo) -> bool:
    """Whether a setting changes anything for this model (n_srcs needs image-based colour, SH settings an SH
    residual): the others are shown disabled, not silently ignored."""
    from ..model.frame import ColourModel

    if name == "n_srcs":
        return info.colour is ColourModel.IBR
    if name in ("sh_degree", "sh_limit", "skip_sh", "skip_base"):
        return info.sh_degree >= 0 and info.colour in (ColourModel.IBR, ColourModel.SH)
    return True


def _stats(stats: FrameStats, backend: str) -> None:
    import time

    imgui.text(f"{stats.images_per_second(time.monotonic()):5.1f} images/s  (UI {stats.fps:.0f} fps)   "
               f"{stats.points:,} points   {stats.layers_drawn} layers")
    imgui.text(f"load {stats.load_ms:5.1f}  colour {stats.colour_ms:5.1f}  raster {stats.raster_ms:5.1f}  "
               f"display {stats.display_ms:5.1f} ms")
    imgui.text(f"GPU memory (renderer) {stats.gpu_bytes / 2 ** 20:,.1f} MiB   backend {backend}")
    values = stats.plot_values()
    if len(values):
        imgui.plot_lines("##frametimes", values, overlay_text=f"frame time {values[-1]:.1f} ms",
                         graph_size=imgui.ImVec2(-1, 50), scale_min=0.0)


def _cache(cache) -> None:
    """Host and GPU cache use against their budgets; the budgets can be changed here."""
    gib = float(1 << 30)
    stats = cache.stats
    gpu = f"   GPU {stats.device_bytes / gib:6.2f} / {cache.device_budget / gib:.2f} GiB" if cache.on_gpu else \
        "   (frames stay in host memory: no CUDA device)"
    imgui.text(f"host  {stats.host_bytes / gib:6.2f} / {cache.host_budget / gib:.2f} GiB{gpu}")
    if stats.disk_seconds > 0:
        imgui.text(f"disk reads {stats.disk_reads}, {stats.disk_bytes / stats.disk_seconds / 2 ** 20:,.0f} MiB/s")
    changed, host = imgui.drag_float("Host budget (GiB)", cache.host_budget / gib, 0.1, 0.1, 1024.0, "%.1f")
    if changed:
        cache.host_budget = int(host * gib)
    if cache.on_gpu:
        changed, device = imgui.drag_float("GPU budget (GiB)", cache.device_budget / gib, 0.1, 0.1, 1024.0, "%.1f")
        if changed:
            cache.device_budget = int(device * gib)


def _help() -> list[Command]:
    commands = []
    viewport = imgui.get_main_viewport()
    imgui.set_next_window_pos(imgui.ImVec2(viewport.work_pos.x + viewport.work_size.x - 8, viewport.work_pos.y + 8),
                              imgui.Cond_.first_use_ever, imgui.ImVec2(1.0, 0.0))
    imgui.set_next_window_size(imgui.ImVec2(0, 0), imgui.Cond_.always)  # fit the table: no column cut off
    opened, keep = imgui.begin("Help: shortcuts", True)
    if opened:
        if imgui.begin_table("shortcuts", 2, imgui.TableFlags_.row_bg | imgui.TableFlags_.sizing_fixed_fit):
            for key, what in SHORTCUTS:
                imgui.table_next_row()
                imgui.table_next_column()
                imgui.text(key)
                imgui.table_next_column()
                imgui.text(what)
            imgui.end_table()
    imgui.end()
    if not keep:
        commands.append(Command("help"))
    return commands
