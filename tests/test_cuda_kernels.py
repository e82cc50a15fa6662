"""The Triton kernels against the torch reference on tiny scenes: on the GPU where there is one, otherwise
on the CPU through the Triton interpreter (how CI runs them)."""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before the kernels are first imported
pytest.importorskip("triton")

from builders import camera_looking_at_origin, random_frame  # noqa: E402
from k4d_viewer.colour import ColourSettings, evaluate_colour  # noqa: E402
from k4d_viewer.model import ColourModel, Frame  # noqa: E402
from k4d_viewer.render import RasterSettings, TorchRasterizer  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def frame_from(raw) -> Frame:
    return Frame(xyz=torch.from_numpy(raw["pcds"]), radius=torch.from_numpy(raw["rads"][:, 0]),
                 alpha=torch.from_numpy(raw["occs"][:, 0]), sh=torch.from_numpy(raw["shs"]),
                 rgbw=torch.from_numpy(raw["rgbws"]), cents=torch.from_numpy(raw["cents"])).to(DEVICE)


@pytest.fixture(scope="module")
def cuda():
    return CudaRasterizer()


@pytest.mark.parametrize("settings", [ColourSettings(), ColourSettings(skip_sh=True), ColourSettings(skip_base=True),
                                      ColourSettings(n_srcs=2, sh_degree=1, sh_limit=0.25)])
def test_fused_colour_matches_reference(cuda, settings):
    frame = frame_from(random_frame(200, views=7, seed=3))
    centre = torch.tensor([0.4, -2.5, 0.6], device=DEVICE)
    fused = cuda.evaluate_colour(frame, ColourModel.IBR, centre, settings)
    reference = evaluate_colour(frame, ColourModel.IBR, centre, settings)
    torch.testing.assert_close(fused, reference, atol=1e-5, rtol=0)


@pytest.mark.parametrize("views, n_srcs", [(3, 4), (60, 4), (33, 8)])
def test_fused_colour_picks_the_nearest_views_itself(cuda, views, n_srcs):
    """The kernel chooses the source views (fewer views than n_srcs: all of them), as nearest_sources does."""
    frame = frame_from(random_frame(150, views=views, seed=views))
    settings = ColourSettings(n_srcs=n_srcs)
    for centre in ([0.4, -2.5, 0.6], [-1.7, 0.3, 2.2]):
        c = torch.tensor(centre, device=DEVICE)
        torch.testing.assert_close(cuda.evaluate_colour(frame, ColourModel.IBR, c, settings),
                                   evaluate_colour(frame, ColourModel.IBR, c, settings), atol=1e-5, rtol=0)


@pytest.mark.parametrize("seed, layers, solid, size", [(1, 11, False, (48, 40)), (2, 2, False, (37, 29)),
                                                        (3, 1, True, (40, 32))])
def test_rasterizer_matches_reference(cuda, seed, layers, solid, size):
    frame = frame_from(random_frame(300, seed=seed, spread=0.3, radius=(0.02, 0.08)))
    camera = camera_looking_at_origin(*size)
    rgb = torch.rand(frame.n_points, 3, generator=torch.Generator().manual_seed(seed)).to(DEVICE)
    settings = RasterSettings(layers=layers, solid=solid, background=(0.2, 0.1, 0.0))
    args = (frame.xyz, rgb, frame.radius, frame.alpha, camera, settings)
    a, b = cuda.rasterize(*args), TorchRasterizer().rasterize(*args)
    for name in ("rgb", "alpha"):
        assert float((getattr(a, name) - getattr(b, name)).abs().max()) <= 2 / 255
    torch.testing.assert_close(a.depth, b.depth, atol=1e-5, rtol=0)


@pytest.mark.parametrize("tile", [8, 16])
def test_full_scene_matches_reference(tile):
    """The full-scene benchmark case in miniature: a figure in a room whose discs cover every pixel several
    times over (many tiles reach K layers or opacity early), with both tile sizes the backend uses."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from scene import full_scene_frame, reference_camera

    frame = full_scene_frame(64, 36, figure_points=1500, room=1200, views=6, device=DEVICE)
    figure = frame.xyz[:1500].float().cpu()
    bounds = (figure.amin(0).numpy(), figure.amax(0).numpy())
    camera = reference_camera(64, 36, bounds, yaw_deg=7)
    rgb = evaluate_colour(frame, ColourModel.IBR, torch.tensor(camera.centre, dtype=torch.float32, device=DEVICE))
    settings = RasterSettings(layers=5)
    args = (frame.xyz.float(), rgb, frame.radius.float(), frame.alpha.float(), camera, settings)
    a, b = CudaRasterizer(tile=tile).rasterize(*args), TorchRasterizer().rasterize(*args)
    assert float(b.alpha.mean()) > 0.8  # the room really covers the frame
    for name in ("rgb", "alpha"):
        assert float((getattr(a, name) - getattr(b, name)).abs().max()) <= 2 / 255


def test_empty_and_fully_culled_scenes(cuda):
    camera = camera_looking_at_origin(20, 16)
    none = torch.zeros(0, 3, device=DEVICE)
    out = cuda.rasterize(none, none, torch.zeros(0, device=DEVICE), torch.zeros(0, device=DEVICE), camera,
                         RasterSettings(background=(0.5, 0.5, 0.5)))
    assert torch.all(out.rgb == 0.5) and torch.all(out.alpha == 0)
    behind = torch.tensor([[0.0, -10.0, 0.0]], device=DEVICE)  # behind the camera (it sits at y = -2.5)
    out = cuda.rasterize(behind, torch.ones(1, 3, device=DEVICE), torch.ones(1, device=DEVICE),
                         torch.ones(1, device=DEVICE), camera, RasterSettings())
    assert torch.all(out.alpha == 0)


def test_exact_depth_ties_follow_the_peel_rule(cuda):
    """Many points at exactly equal depths (an axis-aligned camera): only the first of a tie takes a layer."""
    import numpy as np
    from k4d_viewer.camera import Camera

    generator = torch.Generator().manual_seed(7)
    n = 400
    xy = (torch.rand(n, 2, generator=generator) - 0.5) * 0.6
    z = torch.tensor([2.0, 2.25, 2.5])[torch.randint(0, 3, (n,), generator=generator)]
    xyz = torch.cat([xy, z[:, None]], 1).to(DEVICE)
    camera = Camera(K=np.array([[60.0, 0, 24], [0, 60, 20], [0, 0, 1]]), R=np.eye(3), T=np.zeros(3), width=48,
                    height=40)
    rgb = torch.rand(n, 3, generator=generator).to(DEVICE)
    radius = torch.full((n,), 0.08, device=DEVICE)
    alpha = (torch.rand(n, generator=generator) * 0.8 + 0.1).to(DEVICE)
    for layers in (11, 2):
        args = (xyz, rgb, radius, alpha, camera, RasterSettings(layers=layers))
        a, b = cuda.rasterize(*args), TorchRasterizer().rasterize(*args)
        assert float((a.rgb - b.rgb).abs().max()) <= 2 / 255
        assert float((a.alpha - b.alpha).abs().max()) <= 2 / 255


def test_padded_pair_buffers_give_the_same_image():
    """Recorded frames (cuda_graphs.py) size the pair buffers before the pair count is known: the padding
    sorts past every tile and the image is the exact path's, bit for bit."""
    from k4d_viewer.kernels import triton_raster as tr

    frame = frame_from(random_frame(300, seed=5, spread=0.3, radius=(0.02, 0.08)))
    camera = camera_looking_at_origin(45, 37)
    rgb = torch.rand(frame.n_points, 3, generator=torch.Generator().manual_seed(5)).to(DEVICE)
    settings = RasterSettings(layers=4)
    params = torch.from_numpy(CudaRasterizer.params(camera, settings)).to(DEVICE)
    tile = 8
    tiles_x, n_tiles = -(-45 // tile), -(-45 // tile) * -(-37 // tile)
    record, z, rect, counts = tr.project(frame.xyz, rgb, frame.radius, frame.alpha, params, 45, 37, tile)
    order, ends = tr.depth_order(z, counts)
    total = tr.pair_count(ends)
    assert total > 0
    images = []
    for capacity, padded in ((total, False), (total + 77, True)):
        ids, starts = tr.bin_pairs(order, rect, counts, ends, record, capacity, tiles_x, n_tiles, tile,
                                   padded=padded)
        assert int(starts[-1]) == total
        images.append(tr.composite(ids, starts, record, 45, 37, tiles_x, 4, False, tile, 16))
    for exact, padded in zip(*images):
        assert torch.equal(exact, padded)


@pytest.mark.parametrize("tile", [8, 16])
def test_pairs_for_the_tiles_a_disc_reaches_give_the_same_image(tile):
    """Emitting pairs only for the tiles a disc reaches (not its whole bounding box) drops no covered pixel:
    the image equals the bounding-box one bit for bit, with fewer pairs."""
    from k4d_viewer.kernels import triton_raster as tr

    frame = frame_from(random_frame(400, seed=6, spread=0.3, radius=(0.01, 0.12)))
    camera = camera_looking_at_origin(70, 53)
    rgb = torch.rand(frame.n_points, 3, generator=torch.Generator().manual_seed(6)).to(DEVICE)
    params = torch.from_numpy(CudaRasterizer.params(camera, RasterSettings())).to(DEVICE)
    tiles_x, n_tiles = -(-70 // tile), -(-70 // tile) * -(-53 // tile)
    images, totals = [], []
    for tight in (False, True):
        record, z, rect, counts = tr.project(frame.xyz, rgb, frame.radius, frame.alpha, params, 70, 53, tile,
                                             tight=tight)
        order, ends = tr.depth_order(z, counts)
        totals.append(tr.pair_count(ends))
        ids, starts = tr.bin_pairs(order, rect, counts, ends, record, totals[-1], tiles_x, n_tiles, tile,
                                   tight=tight)
        images.append(tr.composite(ids, starts, record, 70, 53, tiles_x, 11, False, tile, 16))
    assert totals[1] < totals[0]
    for box, tight in zip(*images):
        assert torch.equal(box, tight)


def test_pairs_past_the_buffers_are_dropped_not_written_out_of_bounds():
    """Recorded frames replay with pair buffers sized for an earlier frame: pairs past them are dropped (the
    count, compared when the image is used, says to draw again), and nothing is written beyond the buffers."""
    from k4d_viewer.kernels import triton_raster as tr

    frame = frame_from(random_frame(300, seed=8, spread=0.3, radius=(0.02, 0.08)))
    camera = camera_looking_at_origin(40, 30)
    rgb = torch.rand(frame.n_points, 3, generator=torch.Generator().manual_seed(8)).to(DEVICE)
    params = torch.from_numpy(CudaRasterizer.params(camera, RasterSettings())).to(DEVICE)
    tiles_x, n_tiles = 5, 5 * 4
    record, z, rect, counts = tr.project(frame.xyz, rgb, frame.radius, frame.alpha, params, 40, 30, 8)
    order, ends = tr.depth_order(z, counts)
    total = tr.pair_count(ends)
    capacity = total // 2
    guard = torch.full((3 * total,), -7, dtype=torch.int32, device=DEVICE)  # buffers inside a larger block
    tiles, ids = guard[total:total + capacity].fill_(n_tiles), guard[2 * total:2 * total + capacity]
    tr._emit_kernel[(-(-frame.n_points // 256),)](order, rect, counts, ends, record, frame.n_points, tiles_x, tiles,
                                                 ids, capacity, TILE=8, TIGHT=True, BLOCK=256)
    assert bool((guard[:total] == -7).all()) and bool((guard[total + capacity:2 * total] == -7).all())
    assert bool((guard[2 * total + capacity:] == -7).all())
    assert int((tiles < n_tiles).sum()) == capacity  # every slot holds a real pair: the first ``capacity``
