"""The torch reference rasterizer against pixels computed by hand from reference §4."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from k4d_viewer.camera import Camera
from k4d_viewer.render import RasterSettings, TorchRasterizer

F, W, H = 100.0, 16, 16


def camera(near: float = 0.1, far: float = 50.0) -> Camera:
    K = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1.0]])
    return Camera(K=K, R=np.eye(3), T=np.zeros(3), width=W, height=H, near=near, far=far)


def render(points, settings=RasterSettings(), cam=None, rasterizer=None):
    """points: list of (x, y, z, radius, alpha, (r, g, b))."""
    xyz = torch.tensor([p[:3] for p in points], dtype=torch.float32)
    radius = torch.tensor([p[3] for p in points], dtype=torch.float32)
    alpha = torch.tensor([p[4] for p in points], dtype=torch.float32)
    rgb = torch.tensor([p[5] for p in points], dtype=torch.float32)
    out = (rasterizer or TorchRasterizer()).rasterize(xyz, rgb, radius, alpha, cam or camera(), settings)
    return out.rgb.numpy(), out.alpha.numpy(), out.depth.numpy()


def disc_weight(u: float, v: float, pixel_radius: float, alpha: float) -> np.ndarray:
    """alpha·(1 − (d/R)²) at every pixel centre inside the disc, 0 outside."""
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    ratio = ((xs - u) ** 2 + (ys - v) ** 2) / pixel_radius ** 2
    return np.where(ratio < 1, alpha * (1 - ratio), 0.0)


def test_one_point_matches_the_disc_formula():
    rgb, alpha, depth = render([(0.0, 0.0, 2.0, 0.1, 0.6, (1.0, 0.5, 0.25))])
    expected = disc_weight(8.0, 8.0, F * 0.1 / 2.0, 0.6)  # R = f·r/z = 5 px
    np.testing.assert_allclose(alpha, expected, atol=1e-6)
    np.testing.assert_allclose(rgb, expected[..., None] * [1.0, 0.5, 0.25], atol=1e-6)
    assert np.all(depth[expected > 0] == 2.0) and np.all(depth[expected == 0] == 50.0)
    assert alpha[8, 3] > 0 and alpha[8, 2] == 0  # col 3: 4.5² + 0.5² < 25 inside; col 2: 5.5² > 25 outside


def test_off_centre_point_and_row_zero_is_top():
    # y = −0.05 at z = 1 → v = 8 − 5 = 3: the disc sits in the upper part of the image
    rgb, alpha, _ = render([(0.02, -0.05, 1.0, 0.03, 1.0, (1, 1, 1))])
    expected = disc_weight(10.0, 3.0, 3.0, 1.0)
    np.testing.assert_allclose(alpha, expected, atol=1e-6)
    assert alpha[:8].sum() > 0 and alpha[8:].sum() == 0


@pytest.mark.parametrize("swap_input_order", [False, True])
def test_two_overlapping_points_composite_front_to_back(swap_input_order):
    red = (0.0, 0.0, 2.0, 0.1, 0.5, (1.0, 0.0, 0.0))    # R = 5 px, in front
    green = (0.0, 0.0, 4.0, 0.2, 0.8, (0.0, 1.0, 0.0))  # R = 5 px, behind
    points = [green, red] if swap_input_order else [red, green]
    rgb, alpha, depth = render(points)
    a_red, a_green = disc_weight(8, 8, 5, 0.5), disc_weight(8, 8, 5, 0.8)
    np.testing.assert_allclose(rgb[..., 0], a_red, atol=1e-6)
    np.testing.assert_allclose(rgb[..., 1], a_green * (1 - a_red), atol=1e-6)
    np.testing.assert_allclose(alpha, 1 - (1 - a_red) * (1 - a_green), atol=1e-6)
    assert depth[8, 8] == 4.0  # depth of the last composited layer


def test_depth_order_decides_which_point_is_in_front():
    red_behind = (0.0, 0.0, 4.0, 0.2, 0.5, (1.0, 0.0, 0.0))
    green_front = (0.0, 0.0, 2.0, 0.1, 0.8, (0.0, 1.0, 0.0))
    rgb, _, _ = render([red_behind, green_front])
    a_red, a_green = disc_weight(8, 8, 5, 0.5), disc_weight(8, 8, 5, 0.8)
    np.testing.assert_allclose(rgb[..., 1], a_green, atol=1e-6)
    np.testing.assert_allclose(rgb[..., 0], a_red * (1 - a_green), atol=1e-6)


def test_layer_cap_composites_only_the_nearest_k():
    colours = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1)]
    points = [(0.0, 0.0, z, 0.05 * z, 0.5, c) for z, c in zip([5.0, 1.0, 3.0, 2.0, 4.0], colours)]
    rgb, alpha, depth = render(points, RasterSettings(layers=3))
    # nearest three: z=1 (green), z=2 (yellow), z=3 (blue); each has R = 5 px at the centre pixel
    w = disc_weight(8, 8, 5, 0.5)[8, 8]
    t = 1.0
    expected = np.zeros(3)
    for c in [(0, 1, 0), (1, 1, 0), (0, 0, 1)]:
        expected += np.array(c) * w * t
        t *= 1 - w
    np.testing.assert_allclose(rgb[8, 8], expected, atol=1e-6)
    np.testing.assert_allclose(alpha[8, 8], 1 - t, atol=1e-6)
    assert depth[8, 8] == 3.0
    full_rgb, _, _ = render(points, RasterSettings(layers=5))
    assert not np.allclose(full_rgb[8, 8], rgb[8, 8])


def test_alpha_threshold_drops_points_before_they_take_a_layer():
    faint = (0.0, 0.0, 1.0, 0.05, 1e-4, (1.0, 0.0, 0.0))   # alpha <= 1e-4: dropped
    solid = (0.0, 0.0, 3.0, 0.15, 1.0, (0.0, 1.0, 0.0))
    rgb, _, depth = render([faint, solid], RasterSettings(layers=1))
    assert rgb[8, 8, 0] == 0 and rgb[8, 8, 1] == pytest.approx(disc_weight(8, 8, 5, 1.0)[8, 8])
    assert depth[8, 8] == 3.0
    kept = (0.0, 0.0, 1.0, 0.05, 2e-4, (1.0, 0.0, 0.0))      # just above: takes the only layer
    rgb, _, depth = render([kept, solid], RasterSettings(layers=1))
    assert rgb[8, 8, 1] == 0 and depth[8, 8] == 1.0


def test_near_and_far_planes_cull_whole_points():
    cam = camera(near=1.0, far=10.0)
    assert render([(0, 0, 0.99, 0.05, 1.0, (1, 1, 1))], cam=cam)[1].sum() == 0
    assert render([(0, 0, 1.01, 0.05, 1.0, (1, 1, 1))], cam=cam)[1].sum() > 0
    assert render([(0, 0, 10.5, 0.5, 1.0, (1, 1, 1))], cam=cam)[1].sum() == 0
    assert render([(0, 0, -2.0, 0.05, 1.0, (1, 1, 1))], cam=cam)[1].sum() == 0  # behind the camera


def test_points_whose_centre_is_off_screen_are_clipped_whole():
    # centre at u = −1 (x = −0.09 at z = 1) with a 10 px disc that would reach into the image
    assert render([(-0.09, 0.0, 1.0, 0.1, 1.0, (1, 1, 1))])[1].sum() == 0
    assert render([(0.0, 0.09, 1.0, 0.1, 1.0, (1, 1, 1))])[1].sum() == 0   # below the bottom edge
    # centre just inside the left edge (u = 1): the disc is drawn, cut by the image border
    _, alpha, _ = render([(-0.07, 0.0, 1.0, 0.1, 1.0, (1, 1, 1))])
    np.testing.assert_allclose(alpha, disc_weight(1.0, 8.0, 10.0, 1.0), atol=1e-6)


def test_subpixel_points_are_at_least_one_pixel_wide():
    _, alpha, _ = render([(0.005, 0.005, 1.0, 1e-5, 0.7, (1, 1, 1))])  # centre at pixel (8, 8)'s centre
    assert alpha[8, 8] == pytest.approx(0.7) and alpha.sum() == pytest.approx(0.7)


def test_exact_depth_ties_are_one_layer():
    first = (0.0, 0.0, 2.0, 0.1, 0.5, (1.0, 0.0, 0.0))
    second = (0.0, 0.0, 2.0, 0.1, 0.5, (0.0, 1.0, 0.0))
    rgb, alpha, _ = render([first, second])
    np.testing.assert_allclose(alpha, disc_weight(8, 8, 5, 0.5), atol=1e-6)
    assert rgb[..., 1].sum() == 0  # the peel keeps only the first drawn of equal depths


def test_background_fills_the_remaining_transmittance():
    settings = RasterSettings(background=(0.2, 0.4, 0.6))
    rgb, alpha, _ = render([(0.0, 0.0, 2.0, 0.1, 0.5, (1.0, 1.0, 1.0))], settings)
    np.testing.assert_allclose(rgb, alpha[..., None] + (1 - alpha[..., None]) * [0.2, 0.4, 0.6], atol=1e-6)
    assert np.allclose(rgb[0, 0], [0.2, 0.4, 0.6])


def test_solid_mode_nearest_point_wins_unblended():
    front = (0.0, 0.0, 2.0, 0.1, 0.5, (1.0, 0.0, 0.0))
    back = (0.0, 0.0, 4.0, 0.2, 0.8, (0.0, 1.0, 0.0))
    rgb, alpha, _ = render([back, front], RasterSettings(solid=True, radius_scale=1.0))
    covered = disc_weight(8, 8, 5, 1.0) > 0
    assert np.allclose(rgb[covered], [1.0, 0.0, 0.0]) and np.allclose(alpha[covered], 0.5)


def test_tiling_and_chunking_do_not_change_the_image():
    rng = np.random.default_rng(3)
    n = 2000
    xyz = torch.tensor(rng.normal(size=(n, 3)) * [0.5, 0.5, 0.3] + [0, 0, 3], dtype=torch.float32)
    rgb = torch.rand(n, 3, generator=torch.Generator().manual_seed(0))
    radius = torch.tensor(rng.uniform(0.005, 0.05, n), dtype=torch.float32)
    alpha = torch.tensor(rng.uniform(0, 1, n), dtype=torch.float32)
    cam = Camera(K=np.array([[150.0, 0, 80], [0, 150, 60], [0, 0, 1]]), R=np.eye(3), T=np.zeros(3),
                 width=160, height=120)
    big = TorchRasterizer(tile=256).rasterize(xyz, rgb, radius, alpha, cam, RasterSettings())
    small = TorchRasterizer(tile=16, max_fragments=97).rasterize(xyz, rgb, radius, alpha, cam, RasterSettings())
    for a, b in ((big.rgb, small.rgb), (big.alpha, small.alpha), (big.depth, small.depth)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_renders_4k_with_bounded_fragment_memory():
    rng = np.random.default_rng(5)
    n = 3000
    xyz = torch.tensor(rng.normal(size=(n, 3)) * [0.4, 0.8, 0.2] + [0, 0, 3], dtype=torch.float32)
    cam = Camera(K=np.array([[2000.0, 0, 1920], [0, 2000, 1080], [0, 0, 1]]), R=np.eye(3), T=np.zeros(3),
                 width=3840, height=2160)
    out = TorchRasterizer(max_fragments=1 << 16).rasterize(
        xyz, torch.ones(n, 3), torch.full((n,), 0.01), torch.full((n,), 0.9), cam, RasterSettings())
    assert out.rgb.shape == (2160, 3840, 3) and 0 < float(out.alpha.mean()) < 1
