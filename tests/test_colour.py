"""Colour evaluation (reference §2): SH basis, nearest views, blend, residual, debug views."""

from __future__ import annotations

import numpy as np
import oracle
import torch
from builders import random_frame
from k4d_viewer.colour import ColourSettings, evaluate_colour, nearest_sources, sh_basis
from k4d_viewer.model import ColourModel, Frame


def frame_from(raw) -> Frame:
    return Frame(xyz=torch.from_numpy(raw["pcds"]), radius=torch.from_numpy(raw["rads"][:, 0]),
                 alpha=torch.from_numpy(raw["occs"][:, 0]), sh=torch.from_numpy(raw["shs"]),
                 rgbw=torch.from_numpy(raw["rgbws"]), cents=torch.from_numpy(raw["cents"]))


def test_sh_basis_is_orthonormal_on_the_sphere():
    dirs = torch.nn.functional.normalize(torch.randn(400_000, 3, dtype=torch.float64,
                                                     generator=torch.Generator().manual_seed(0)), dim=-1)
    basis = sh_basis(dirs, 3)
    gram = basis.T @ basis * (4 * np.pi / len(dirs))
    torch.testing.assert_close(gram, torch.eye(16, dtype=torch.float64), atol=0.02, rtol=0)


def test_colour_matches_the_oracle_for_each_setting():
    raw = random_frame(200, views=7, seed=5)
    frame = frame_from(raw)
    centre = np.array([1.0, -2.5, 0.7])
    for n_srcs, limit in ((4, 1.0), (8, 0.25), (1, 1.0)):
        got = evaluate_colour(frame, ColourModel.IBR, torch.tensor(centre), ColourSettings(n_srcs=n_srcs,
                                                                                           sh_limit=limit))
        want = oracle.colours(raw["pcds"], raw["rgbws"], raw["cents"], raw["shs"], centre, n_srcs, limit)
        np.testing.assert_allclose(got.numpy(), want, atol=2e-5)


def test_nearest_sources_picks_the_closest_centres():
    cents = torch.tensor([[5.0, 0, 0], [0, 1, 0], [0, 0, 9], [1, 1, 0], [0, -1, 0]])
    chosen = set(nearest_sources(cents, torch.zeros(3), 3).tolist())
    assert chosen == {1, 3, 4}
    assert len(nearest_sources(cents, torch.zeros(3), 10)) == 5  # fewer views than n_srcs: all of them


def test_debug_views_and_degree_clamp():
    raw = random_frame(100, seed=6)
    frame = frame_from(raw)
    centre = torch.tensor([0.0, -3.0, 0.5])
    zero_sh = Frame(**{**frame.__dict__, "sh": torch.zeros_like(frame.sh)})
    base_only = evaluate_colour(frame, ColourModel.IBR, centre, ColourSettings(skip_sh=True))
    torch.testing.assert_close(base_only, evaluate_colour(zero_sh, ColourModel.IBR, centre))
    sh_only = evaluate_colour(frame, ColourModel.IBR, centre, ColourSettings(skip_base=True))
    no_base = Frame(**{**frame.__dict__, "rgbw": torch.zeros_like(frame.rgbw), "sh": frame.sh.abs()})
    torch.testing.assert_close(sh_only, evaluate_colour(no_base, ColourModel.IBR, centre))
    degree0 = evaluate_colour(frame, ColourModel.IBR, centre, ColourSettings(sh_degree=0))
    truncated = Frame(**{**frame.__dict__, "sh": frame.sh[..., :1]})
    torch.testing.assert_close(degree0, evaluate_colour(truncated, ColourModel.IBR, centre))
    assert base_only.min() >= 0 and base_only.max() <= 1


def test_other_colour_models():
    xyz = torch.tensor([[0.0, 0, 1], [1, 0, 0]])
    rgb = torch.tensor([[0.2, 0.4, 1.3], [0.0, 0.5, 0.5]])
    frame = Frame(xyz=xyz, radius=torch.ones(2), alpha=torch.ones(2), rgb=rgb,
                  sh=torch.zeros(2, 3, 1))
    torch.testing.assert_close(evaluate_colour(frame, ColourModel.RGB, torch.zeros(3)), rgb.clamp(0, 1))
    torch.testing.assert_close(evaluate_colour(frame, ColourModel.SH, torch.zeros(3)), torch.full((2, 3), 0.5))
    assert torch.all(evaluate_colour(frame, ColourModel.NONE, torch.zeros(3)) == 0.7)


def test_host_view_choice_matches_the_reference_rule():
    """The frame cache chooses views to read and copy with numpy; it picks what nearest_sources picks."""
    import numpy as np
    from k4d_viewer.colour import nearest_source_indices, nearest_sources

    rng = np.random.default_rng(2)
    for _ in range(50):
        cents = rng.normal(size=(rng.integers(1, 70), 3)).astype(np.float32) * 3
        centre = rng.normal(size=3).astype(np.float32) * 3
        k = int(rng.integers(1, 9))
        expected = nearest_sources(torch.from_numpy(cents), torch.from_numpy(centre), k).tolist()
        assert nearest_source_indices(cents, centre, k) == expected
