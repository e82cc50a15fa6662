"""The bottom timeline: a ruler with frame numbers and time codes, the cache strip with its legend, in/out
points and camera-path keyframes; click or drag anywhere on it to seek."""

from __future__ import annotations

import math

from imgui_bundle import imgui

from .controls import Command
from .path_editor import PathEditor
from .path_panel import draw_key_markers
from .timeline import Timeline

# ImGui colours are 0xAABBGGRR: on the GPU green, in host memory teal, loading orange, failed red, not loaded grey
STATUS_COLOURS = {"device": 0xFF50C050, "host": 0xFFA0A040, "loading": 0xFF30A0E0, "failed": 0xFF3030E0,
                  "none": 0xFF505050, "pending": 0xFF603040}
STATUS_LABELS = {"device": "on GPU", "host": "in memory", "loading": "loading", "failed": "failed",
                 "none": "not loaded", "pending": "not baked yet"}
TICK_COLOUR, LABEL_COLOUR, CURSOR_COLOUR = 0xFF909090, 0xFFC8C8C8, 0xFF40C0FF
RANGE_COLOUR, MARK_COLOUR = 0x3040C0FF, 0xFF40C0FF


def time_code(frame: int, fps: float) -> str:
    """mm:ss.ff (frames within the second) for frame ``frame`` at ``fps``."""
    fps = max(fps, 1e-6)
    seconds = int(frame // fps)
    within = int(round(frame - seconds * fps))
    return f"{seconds // 60:02d}:{seconds % 60:02d}.{within:02d}"


def tick_step(n_frames: int, width: float, min_spacing: float) -> int:
    """The smallest 1-2-5 step in frames whose labels are at least ``min_spacing`` pixels apart."""
    per_frame = width / max(n_frames, 1)
    for power in range(0, 9):
        for base in (1, 2, 5):
            step = base * 10 ** power
            if step * per_frame >= min_spacing:
                return step
    return max(n_frames, 1)


def strip_cells(statuses: list[str], cell: float, min_cell: float = 3.0) -> list[tuple[int, int, str]]:
    """The cache strip as (first frame, last frame, status) rectangles: one per frame while frames are at least
    ``min_cell`` pixels wide, runs of equal status merged below that (a long sequence is a few rectangles, not
    one draw call per frame)."""
    if cell >= min_cell:
        return [(index, index, status) for index, status in enumerate(statuses)]
    cells: list[tuple[int, int, str]] = []
    for index, status in enumerate(statuses):
        if cells and cells[-1][2] == status:
            cells[-1] = (cells[-1][0], index, status)
        else:
            cells.append((index, index, status))
    return cells


def draw_timeline(timeline: Timeline, fps: float, statuses: list[str], editor: PathEditor | None) -> list[Command]:
    """Ruler + strip (seek by clicking or dragging), then the transport controls. ``statuses``: each frame's
    cache status (FrameCache.status, or 'pending')."""
    commands = []
    n = timeline.n_frames
    draw = imgui.get_window_draw_list()
    origin = imgui.get_cursor_screen_pos()
    width = max(imgui.get_content_region_avail().x, 10.0)
    line = imgui.get_text_line_height()
    ruler, strip = line + 8, 8.0
    height = ruler + strip + 14
    imgui.invisible_button("##ruler", imgui.ImVec2(width, height))
    if imgui.is_item_active() or imgui.is_item_clicked():
        x = imgui.get_io().mouse_pos.x
        frame = min(max(int((x - origin.x) / width * n), 0), n - 1)
        if frame != timeline.frame:
            commands.append(Command("seek", frame))
    if imgui.is_item_hovered():
        x = imgui.get_io().mouse_pos.x
        hovered = min(max(int((x - origin.x) / width * n), 0), n - 1)
        imgui.set_tooltip(f"frame {hovered}  {time_code(hovered, fps)}  ({STATUS_LABELS[statuses[hovered]]})")

    def x_of(frame: float) -> float:
        return origin.x + (frame + 0.5) / max(n, 1) * width

    if timeline.in_frame > 0 or timeline.out_frame is not None:  # the playback range, shaded
        draw.add_rect_filled(imgui.ImVec2(x_of(timeline.in_frame - 0.5), origin.y),
                             imgui.ImVec2(x_of(timeline.last + 0.5), origin.y + ruler + strip), RANGE_COLOUR)
    step = tick_step(n, width, imgui.calc_text_size("00000").x + 8)
    minor = max(1, step // 5) if step >= 5 else 1
    for frame in range(0, n, minor):
        major = frame % step == 0
        x = x_of(frame)
        draw.add_line(imgui.ImVec2(x, origin.y + ruler - (7 if major else 3)), imgui.ImVec2(x, origin.y + ruler),
                      TICK_COLOUR)
        if major:
            draw.add_text(imgui.ImVec2(x + 2, origin.y), LABEL_COLOUR, str(frame))
    top = origin.y + ruler
    cell = width / max(n, 1)
    for first, last, status in strip_cells(statuses, cell):
        x0 = origin.x + first * cell
        gap = 1 if first == last else 0  # a frame of its own keeps a gap to the next one
        draw.add_rect_filled(imgui.ImVec2(x0, top), imgui.ImVec2(x0 + max((last - first + 1) * cell - gap, 1),
                                                               top + strip), STATUS_COLOURS[status])
    for mark, label in ((timeline.in_frame if timeline.in_frame > 0 else None, "["), (timeline.out_frame, "]")):
        if mark is not None:
            x = x_of(mark - 0.5) if label == "[" else x_of(mark + 0.5)
            draw.add_line(imgui.ImVec2(x, origin.y), imgui.ImVec2(x, top + strip), MARK_COLOUR, 2.0)
    draw_key_markers(editor, n, imgui.ImVec2(origin.x, top + strip - 4), width)
    cursor = x_of(timeline.frame)
    draw.add_line(imgui.ImVec2(cursor, origin.y), imgui.ImVec2(cursor, top + strip + 2), CURSOR_COLOUR, 2.0)
    commands += _transport(timeline, fps, "pending" in statuses)
    return commands


def _transport(timeline: Timeline, fps: float, baking: bool) -> list[Command]:
    commands = []
    imgui.text(f"{timeline.frame:>5d} / {timeline.n_frames - 1}   {time_code(timeline.frame, fps)}")
    imgui.same_line()
    for label, command in (("|<", Command("seek", timeline.in_frame)), ("<", Command("step", -1)),
                           ("Pause" if timeline.playing else "Play", Command("play")), (">", Command("step", 1)),
                           (">|", Command("seek", timeline.last))):
        if imgui.button(label):
            commands.append(command)
        imgui.same_line()
    _, timeline.loop = imgui.checkbox("Loop", timeline.loop)
    imgui.same_line()
    _, timeline.every_frame = imgui.checkbox("Every frame", timeline.every_frame)
    if imgui.is_item_hovered():
        imgui.set_tooltip("on: playback waits until each frame is drawn; off: it keeps real time and skips frames "
                          "a slow backend cannot draw")
    imgui.same_line()
    imgui.set_next_item_width(imgui.calc_text_size("000.0 fps").x + 16)
    changed, rate = imgui.drag_float("##rate", timeline.rate, 0.5, 0.5, 240.0, "%.1f fps")
    if changed and math.isfinite(rate):
        timeline.rate = max(0.5, rate)
    if imgui.button("In (I)"):
        commands.append(Command("mark_in"))
    imgui.same_line()
    if imgui.button("Out (O)"):
        commands.append(Command("mark_out"))
    if timeline.in_frame > 0 or timeline.out_frame is not None:
        imgui.same_line()
        imgui.text_disabled(f"plays {timeline.in_frame}-{timeline.last}")
        imgui.same_line()
        if imgui.small_button("clear"):
            commands.append(Command("clear_marks"))
    imgui.same_line(spacing=24)
    _legend(baking)
    return commands


def _legend(baking: bool) -> None:
    draw = imgui.get_window_draw_list()
    for status in ("device", "host", "loading", "none") + (("pending",) if baking else ()):
        pos = imgui.get_cursor_screen_pos()
        size = imgui.get_text_line_height() * 0.6
        y = pos.y + imgui.get_text_line_height() * 0.25
        draw.add_rect_filled(imgui.ImVec2(pos.x, y), imgui.ImVec2(pos.x + size, y + size), STATUS_COLOURS[status])
        imgui.dummy(imgui.ImVec2(size + 2, size))
        imgui.same_line()
        imgui.text_disabled(STATUS_LABELS[status])
        imgui.same_line()
    imgui.new_line()
