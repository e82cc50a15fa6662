"""Lines drawn over the 3D view with ImGui (the render stays untouched): world points projected with the
render's camera into the window's render region, where the render is shown letterboxed."""

from __future__ import annotations

import numpy as np
from imgui_bundle import imgui

from ..camera import UP_AXES, Camera
from .layout import Region

AXIS_COLOURS = (0xFF4040E0, 0xFF40D040, 0xFFE06040)  # x red, y green, z blue (ImGui colours are ABGR)
GRID_COLOUR, BOX_COLOUR = 0x60A0A0A0, 0xC000C0FF


class Projector:
    def __init__(self, camera: Camera, region: Region) -> None:
        self.camera = camera
        self.scale, self.offset = image_placement(region, (camera.width, camera.height))

    @property
    def draw(self):
        """ImGui's background draw list (only inside a frame): lines go under the panels, over the render."""
        return imgui.get_background_draw_list()

    def to_image(self, x: float, y: float) -> tuple[int, int] | None:
        """A window position (ImGui coordinates) → the render's pixel under it, or None outside the image."""
        u, v = (np.array([x, y]) - self.offset) / self.scale
        if 0 <= u < self.camera.width and 0 <= v < self.camera.height:
            return int(u), int(v)
        return None

    def to_screen(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        camera = self.camera
        cam = points @ camera.R.T + camera.T
        visible = cam[:, 2] > camera.near
        uv = (cam @ camera.K.T)[:, :2] / np.where(visible, cam[:, 2], 1.0)[:, None]
        return uv * self.scale + self.offset, visible

    def marker(self, point: np.ndarray, colour: int, size: float = 7.0) -> None:
        screen, visible = self.to_screen(np.asarray(point, np.float64)[None])
        if visible[0]:
            x, y = screen[0]
            self.draw.add_circle(imgui.ImVec2(x, y), size, colour, 0, 2.0)
            self.draw.add_line(imgui.ImVec2(x - 2 * size, y), imgui.ImVec2(x - size, y), colour, 2.0)
            self.draw.add_line(imgui.ImVec2(x + size, y), imgui.ImVec2(x + 2 * size, y), colour, 2.0)

    def segments(self, starts: np.ndarray, ends: np.ndarray, colour: int, thickness: float = 1.5) -> None:
        """Lines from each of ``starts`` to the matching one of ``ends`` (world points, (M, 3)): all projected
        in one go, each drawn where both ends are in front of the camera."""
        count = len(starts)
        if count == 0:
            return
        screen, visible = self.to_screen(np.concatenate([np.asarray(starts, np.float64),
                                                         np.asarray(ends, np.float64)]))
        draw, shown = self.draw, (visible[:count] & visible[count:]).tolist()
        for (x0, y0), (x1, y1), keep in zip(screen[:count].tolist(), screen[count:].tolist(), shown, strict=True):
            if keep:
                draw.add_line(imgui.ImVec2(x0, y0), imgui.ImVec2(x1, y1), colour, thickness)

    def polyline(self, points: np.ndarray, colour: int, thickness: float = 1.5) -> None:
        """A connected line through ``points``, broken where a point is behind the camera (one draw call per
        unbroken run)."""
        self.polylines(np.asarray(points, np.float64)[None], colour, thickness)

    def polylines(self, lines: np.ndarray, colour: int, thickness: float = 1.5, straight: bool = False) -> None:
        """Several polylines of the same length, (L, P, 3) world points, projected in one go. ``straight``: each
        is a straight line sampled along its length (so a line partly behind the camera is cut where it
        passes it); one wholly in front is then drawn from its two ends."""
        count, length = lines.shape[:2]
        screen, visible = self.to_screen(np.asarray(lines, np.float64).reshape(-1, 3))
        screen, visible = screen.reshape(count, length, 2), visible.reshape(count, length)
        draw = self.draw
        whole = visible.all(1) if straight else np.zeros(count, bool)
        for (x0, y0), (x1, y1) in zip(screen[whole, 0].tolist(), screen[whole, -1].tolist(), strict=True):
            draw.add_line(imgui.ImVec2(x0, y0), imgui.ImVec2(x1, y1), colour, thickness)
        for points, shown in zip(screen[~whole].tolist(), visible[~whole].tolist(), strict=True):
            run: list = []
            for point, keep in zip(points, shown, strict=True):
                if keep:
                    run.append(imgui.ImVec2(*point))
                    continue
                if len(run) > 1:
                    draw.add_polyline(run, colour, thickness, 0)
                run = []
            if len(run) > 1:
                draw.add_polyline(run, colour, thickness, 0)

    def frusta(self, views: list[Camera], depth: float, colour: int) -> None:
        """Each camera as a small pyramid (its centre to the image corners at ``depth``), all in one batch."""
        if views:
            self.segments(*frustum_segments(views, depth), colour)


def frustum_segments(views: list[Camera], depth: float) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the cameras' frustum edges in world space, 8 per camera: the centre to each image
    corner at ``depth``, and the corners' rectangle. Batched over cameras (numpy per camera costs ~0.1 ms)."""
    K = np.stack([view.K for view in views]).astype(np.float64)
    R = np.stack([view.R for view in views]).astype(np.float64)
    T = np.stack([np.asarray(view.T, np.float64).reshape(3) for view in views])
    sizes = np.array([[view.width, view.height] for view in views], np.float64)
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
    pixels = np.concatenate([unit[None] * sizes[:, None], np.ones((len(views), 4, 1))], -1)  # (M, 4, 3)
    rays = np.linalg.solve(K, pixels.transpose(0, 2, 1)).transpose(0, 2, 1) * depth
    world = (rays - T[:, None]) @ R  # camera to world: R^T (x - T)
    centres = -(T[:, None] @ R)  # (M, 1, 3)
    starts = np.concatenate([np.repeat(centres, 4, 1), world], 1)
    ends = np.concatenate([world, np.roll(world, -1, 1)], 1)
    return starts.reshape(-1, 3), ends.reshape(-1, 3)


def image_placement(region: Region, size: tuple[int, int]) -> tuple[float, np.ndarray]:
    """(scale, top-left offset) of an image of ``size`` shown letterboxed (aspect kept, centred) in ``region``."""
    scale = min(region.width / size[0], region.height / size[1])
    offset = np.array([region.x, region.y]) + (np.array([region.width, region.height]) - scale * np.array(size)) / 2
    return scale, offset


def draw_aids(projector: Projector, bounds: tuple[np.ndarray, np.ndarray], up: str, axes: bool, grid: bool,
              box: bool) -> None:
    """World axes at the origin, a floor grid under the model and its bounding box."""
    if not (axes or grid or box):
        return
    lo, hi = (np.asarray(b, np.float64) for b in bounds)
    size = float(np.max(hi - lo))
    if axes:
        for axis, colour in enumerate(AXIS_COLOURS):
            end = np.zeros(3)
            end[axis] = 0.3 * size
            projector.polyline(np.stack([np.zeros(3), end]), colour, 2.0)
    if box:
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        edges = np.array([(0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 3), (2, 6), (3, 7), (4, 5), (4, 6), (5, 7),
                          (6, 7)])
        projector.segments(corners[edges[:, 0]], corners[edges[:, 1]], BOX_COLOUR)
    if grid:
        up_vec = np.array(UP_AXES[up])
        axis = int(np.argmax(np.abs(up_vec)))
        floor = lo[axis] if up_vec[axis] > 0 else hi[axis]
        u, v = [i for i in range(3) if i != axis]
        centre = (lo + hi) / 2
        half = 1.5 * size
        step = 10 ** np.floor(np.log10(max(size, 1e-6) / 2))
        ticks = np.arange(-half, half + step / 2, step)
        along = np.linspace(-half, half, 16)  # points along each line, so a line partly behind the camera is cut
        lines = np.zeros((2, len(ticks), len(along), 3))
        lines[..., axis] = floor
        for index, (first, second) in enumerate(((u, v), (v, u))):
            lines[index, :, :, first] = centre[first] + ticks[:, None]
            lines[index, :, :, second] = centre[second] + along[None, :]
        projector.polylines(lines.reshape(-1, len(along), 3), GRID_COLOUR, 1.0, straight=True)
