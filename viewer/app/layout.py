"""The docked window layout: a menu bar, a status bar, and a dock space whose central region shows the render.

Panels are ordinary ImGui windows docked around the render (tabs on the right, the timeline along the bottom);
users drag them anywhere, and ImGui remembers the arrangement in ``imgui.ini`` in the config folder. The render
never sits under a panel: the viewer renders at the size of the central region and draws into it.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgui_bundle import imgui

DOCKSPACE = "k4d-dockspace"
TIMELINE = "Timeline"
SIDE_TOP = ("Scene", "Path", "Compare")              # tabs in the upper right
SIDE_BOTTOM = ("Quality", "Inspect", "Stats", "Cache")  # tabs in the lower right
PANELS = (TIMELINE, *SIDE_TOP, *SIDE_BOTTOM)
SIDE_WIDTH = 0.3             # of the window's width, for the default arrangement
TIMELINE_HEIGHT = 150        # pixels at UI scale 1
UI_SCALES = (0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)


@dataclass(frozen=True)
class Region:
    """A rectangle of the window in ImGui coordinates (pixels of the window, top-left origin)."""

    x: float
    y: float
    width: float
    height: float

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height


class DockLayout:
    """Submits the dock space each frame and says where the render goes; builds the default arrangement on
    first use (or when asked to reset it)."""

    def __init__(self) -> None:
        self._reset = False
        self.settled = False  # False in a frame where the arrangement was (re)built
        self.focus: list[str] = []  # panels whose tab to bring to the front (after a rebuild)


    def reset(self) -> None:
        """Put every panel back where it starts (next frame)."""
        self._reset = True

    def begin(self, docked: bool, ui_scale: float) -> Region:
        """The region the render fills. ``docked`` False (panels hidden): the whole work area."""
        viewport = imgui.get_main_viewport()
        self.settled = True
        if not docked:
            return Region(viewport.work_pos.x, viewport.work_pos.y, viewport.work_size.x, viewport.work_size.y)
        dock_id = imgui.get_id(DOCKSPACE)
        if self._reset or imgui.internal.dock_builder_get_node(dock_id) is None:
            self._build(dock_id, viewport, ui_scale)
            self._reset, self.settled = False, False
            self.focus = [SIDE_TOP[0], SIDE_BOTTOM[0]]
        imgui.dock_space_over_viewport(dock_id, viewport, imgui.DockNodeFlags_.passthru_central_node)
        central = imgui.internal.dock_builder_get_central_node(dock_id)
        if central is None:  # everything undocked into one node: the render takes the work area
            return Region(viewport.work_pos.x, viewport.work_pos.y, viewport.work_size.x, viewport.work_size.y)
        return Region(central.pos.x, central.pos.y, max(central.size.x, 1.0), max(central.size.y, 1.0))

    @staticmethod
    def _build(dock_id: int, viewport, ui_scale: float) -> None:
        internal = imgui.internal
        internal.dock_builder_remove_node(dock_id)
        internal.dock_builder_add_node(dock_id, imgui.DockNodeFlags_.passthru_central_node
                                       | internal.DockNodeFlagsPrivate_.dock_space)
        internal.dock_builder_set_node_size(dock_id, viewport.work_size)
        internal.dock_builder_set_node_pos(dock_id, viewport.work_pos)
        side, main = internal.dock_builder_split_node_py(dock_id, imgui.Dir.right, SIDE_WIDTH)[1:]
        height = min(0.4, TIMELINE_HEIGHT * ui_scale / max(viewport.work_size.y, 1.0))
        bottom, _ = internal.dock_builder_split_node_py(main, imgui.Dir.down, height)[1:]
        side_top, side_bottom = internal.dock_builder_split_node_py(side, imgui.Dir.up, 0.45)[1:]
        internal.dock_builder_dock_window(TIMELINE, bottom)
        for name in SIDE_TOP:
            internal.dock_builder_dock_window(name, side_top)
        for name in SIDE_BOTTOM:
            internal.dock_builder_dock_window(name, side_bottom)
        internal.dock_builder_finish(dock_id)


def apply_ui_scale(scale: float) -> None:
    """Text and widget sizes for HiDPI screens and readability: a 16 px base font times ``scale``."""
    style = imgui.get_style()
    style.font_size_base = 16.0
    style.font_scale_main = scale


def status_bar_height() -> float:
    return imgui.get_frame_height() + 6
