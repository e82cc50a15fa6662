"""Lines over the 3D view: frusta batched over cameras, polylines broken behind the camera, and the path curve
sampled once per edit (the overlay runs every UI frame)."""

from __future__ import annotations

import math

import numpy as np
from k4d_viewer.app.layout import Region
from k4d_viewer.app.overlay import Projector, frustum_segments
from k4d_viewer.app.path_editor import CURVE_SAMPLES, PathEditor
from k4d_viewer.camera import Camera


def look_from(angle: float, height: float = 0.3, size=(64, 48), focal: float = 60.0) -> Camera:
    """A camera 3 m from the origin at ``angle`` around the vertical axis, looking at the origin."""
    eye = np.array([3 * math.sin(angle), height, 3 * math.cos(angle)])
    forward = -eye / np.linalg.norm(eye)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    K = np.array([[focal, 0.5, size[0] / 2 + 1], [0, focal * 1.1, size[1] / 2], [0, 0, 1.0]])
    return Camera(K=K, R=R, T=-R @ eye, width=size[0], height=size[1])


class Recording(Projector):
    """A Projector that records the lines it would draw instead of drawing them."""

    def __init__(self, camera: Camera) -> None:
        super().__init__(camera, Region(0, 0, camera.width, camera.height))
        self.calls: list[tuple[str, list]] = []

    @property
    def draw(self):
        outer = self

        class Draw:
            def add_line(self, a, b, colour, thickness):
                outer.calls.append(("line", [(a.x, a.y), (b.x, b.y)]))

            def add_polyline(self, points, colour, thickness, flags):
                outer.calls.append(("polyline", [(p.x, p.y) for p in points]))

        return Draw()


def test_frusta_of_many_cameras_end_at_their_image_corners():
    """Batched over cameras (of different sizes and intrinsics), each frustum's 4 rays start at the camera
    centre and end where the camera sees its image corners at the given depth; the rest close the rectangle."""
    views = [look_from(0.3 * i, size=(64 + 8 * i, 48 + 2 * i), focal=50 + 5 * i) for i in range(7)]
    starts, ends = frustum_segments(views, 0.4)
    assert starts.shape == ends.shape == (8 * len(views), 3)
    for index, view in enumerate(views):
        s, e = starts[8 * index:8 * index + 8], ends[8 * index:8 * index + 8]
        np.testing.assert_allclose(s[:4], np.repeat(view.centre[None], 4, 0), atol=1e-12)
        cam = e[:4] @ view.R.T + view.T  # world to camera
        np.testing.assert_allclose(cam[:, 2], 0.4, atol=1e-12)
        pixels = (cam @ view.K.T)[:, :2] / cam[:, 2:]
        np.testing.assert_allclose(pixels, [[0, 0], [view.width, 0], [view.width, view.height],
                                            [0, view.height]], atol=1e-9)
        np.testing.assert_allclose(s[4:], e[:4], atol=1e-12)
        np.testing.assert_allclose(e[4:], np.roll(e[:4], -1, 0), atol=1e-12)


def test_a_polyline_breaks_where_it_passes_behind_the_camera():
    viewer = look_from(0.0)
    projector = Recording(viewer)
    forward = viewer.R[2]
    # five points in front, two behind the camera, three in front again
    depths = [1.0, 1.5, 2.0, 2.5, 3.0, -1.0, -2.0, 2.0, 2.5, 3.0]
    points = np.array([viewer.centre + d * forward + 0.01 * i * viewer.R[0] for i, d in enumerate(depths)])
    projector.polyline(points, 0xFFFFFFFF)
    runs = [len(points) for kind, points in projector.calls]
    assert [kind for kind, _ in projector.calls] == ["polyline", "polyline"] and runs == [5, 3]


def test_the_path_curve_is_sampled_once_per_edit():
    editor = PathEditor()
    for i in range(4):
        editor.add(look_from(0.4 * i), t=i)
    curve = editor.curve()
    assert curve.shape == (CURVE_SAMPLES, 3)
    np.testing.assert_allclose(curve[0], editor.keyframes[0].camera.centre, atol=1e-9)
    np.testing.assert_allclose(curve[-1], editor.keyframes[-1].camera.centre, atol=1e-9)
    assert editor.curve() is curve  # nothing changed: the same samples
    editor.replace(1, look_from(1.5), t=1)  # an edit: sampled again, through the new keyframe
    moved = editor.curve()
    assert moved is not curve and not np.allclose(moved, curve)
    editor.loop = True  # a path setting: sampled again
    assert editor.curve() is not moved
    editor.delete(0)
    editor.delete(0)
    editor.delete(0)
    assert editor.curve() is None  # one keyframe: no curve


def test_straight_lines_in_front_are_drawn_from_their_ends_and_cut_where_they_pass_behind():
    viewer = look_from(0.0)
    projector = Recording(viewer)
    forward, right = viewer.R[2], viewer.R[0]
    along = np.linspace(0, 1, 16)[:, None]
    in_front = viewer.centre + 2 * forward + (along - 0.5) * right  # wholly in front: one line, its two ends
    crossing = viewer.centre + (3 - 5 * along) * forward + 0.2 * right  # from 3 m in front to 2 m behind
    projector.polylines(np.stack([in_front, crossing]), 0xFFFFFFFF, straight=True)
    (kind_a, ends), (kind_b, cut) = projector.calls
    screen, _ = projector.to_screen(in_front[[0, -1]])
    assert kind_a == "line" and np.allclose(ends, screen)
    visible = int(((crossing - viewer.centre) @ forward > viewer.near).sum())
    assert kind_b == "polyline" and len(cut) == visible < 16
