"""Opening models: the canonical format, 4K4D runtime files (plain, fg/bg, sparse), weights files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from builders import canonical_frames, random_frame, write_canonical, write_runtime_npz
from k4d_viewer.camera import Camera
from k4d_viewer.model import ColourModel, open_model, save_canonical
from k4d_viewer.model.npz import NpzArchive


def test_canonical_round_trip_with_varying_point_counts(tmp_path):
    frames = canonical_frames(3)
    cams = [Camera.look_at(np.array([2.0, 0, 1]), np.zeros(3), np.array([0, 0, 1.0]), 64, 48)]
    path = tmp_path / "m.npz"
    save_canonical(path, frames, colour="ibr", fps=25, up="z", sh_limit=0.25, n_srcs=8, cameras=cams,
                   bounds=(np.full(3, -1.0), np.ones(3)))
    model = open_model(path)
    info = model.info
    assert info.n_frames == 3 and info.points_per_frame == [200, 217, 234]
    assert (info.colour, info.n_views, info.sh_degree, info.fps, info.up) == (ColourModel.IBR, 6, 3, 25, "+z")
    assert (info.sh_limit, info.n_srcs) == (0.25, 8)
    assert len(info.cameras) == 1 and info.cameras[0].width == 64
    np.testing.assert_allclose(info.cameras[0].R, cams[0].R, atol=1e-6)
    frame = model.read_frame(2)
    assert frame.xyz.dtype == torch.float16 and frame.radius.shape == (234,)
    np.testing.assert_array_equal(frame.rgbw.numpy(), frames[2]["rgbw"])
    np.testing.assert_array_equal(frame.sh.numpy(), frames[2]["sh"])


@pytest.mark.parametrize("colour, keys", [("rgb", {"rgb"}), ("sh", {"sh"}), ("none", set())])
def test_canonical_other_colour_models(tmp_path, colour, keys):
    n = 30
    rng = np.random.default_rng(0)
    frame = {"xyz": rng.normal(size=(n, 3)).astype(np.float32), "radius": np.full(n, 0.01, np.float32),
             "alpha": np.ones(n, np.float32), "rgb": rng.integers(0, 255, (n, 3), dtype=np.uint8),
             "sh": rng.normal(size=(n, 3, 4)).astype(np.float16)}
    path = tmp_path / "m.npz"
    save_canonical(path, [{k: v for k, v in frame.items() if k in keys | {"xyz", "radius", "alpha"}}],
                   colour=colour)
    model = open_model(path)
    loaded = model.read_frame(0)
    assert model.info.colour.value == colour
    if colour == "rgb":
        np.testing.assert_allclose(loaded.rgb.numpy(), frame["rgb"] / 255.0, atol=1e-6)
    if colour == "sh":
        assert model.info.sh_degree == 1


def test_opening_reads_only_the_index(tmp_path, monkeypatch):
    path = write_canonical(tmp_path / "m.npz", count=4)
    reads = []
    original = NpzArchive.read
    monkeypatch.setattr(NpzArchive, "read", lambda self, key: reads.append(key) or original(self, key))
    model = open_model(path)
    assert all(not key.startswith("frame.") for key in reads)  # only meta (and cameras) were read
    model.read_frame(3)
    assert all(key.startswith(("frame.3.", "meta")) for key in reads)


def test_runtime_file_with_sparse_slots_and_none_placeholders(tmp_path):
    frames = {3: random_frame(40, seed=3), 7: random_frame(55, seed=7)}
    path = write_runtime_npz(tmp_path / "rt.npz", frames, none_slots=(0, 5))
    model = open_model(path)
    info = model.info
    assert info.kind == "4K4D runtime" and info.frame_labels == [3, 7] and info.points_per_frame == [40, 55]
    assert (info.colour, info.n_views, info.sh_degree, info.up) == (ColourModel.IBR, 6, 3, "+z")
    frame = model.read_frame(1)
    np.testing.assert_array_equal(frame.xyz.numpy(), frames[7]["pcds"])
    assert frame.radius.shape == (55,) and frame.rgbw.shape == (6, 55, 4)


def test_uncompressed_runtime_file(tmp_path):
    path = write_runtime_npz(tmp_path / "rt.npz", {0: random_frame(40)}, compressed=False)
    model = open_model(path)
    assert not model.info.compressed and model.read_frame(0).n_points == 40


def test_foreground_background_frames_concatenate(tmp_path):
    fg = {s: random_frame(30, seed=s) for s in (0, 1)}
    bg0 = random_frame(20, seed=9)
    arrays = {f"sampler.fg_sampler.{k}.{s}": v for s, f in fg.items() for k, v in f.items()}
    arrays.update({f"sampler.bg_sampler.{k}.0": v for k, v in bg0.items() if k != "cents"})
    for s in (0, 1):
        arrays[f"sampler.bg_sampler.cents.{s}"] = fg[s]["cents"]
        arrays[f"sampler.bg_sampler.rgbws.{s}"] = random_frame(20, seed=20 + s)["rgbws"]
    path = tmp_path / "fgbg.npz"
    np.savez(path, **arrays)
    model = open_model(path)
    assert model.info.points_per_frame == [50, 50] and "foreground + background" in model.info.kind
    frame = model.read_frame(1)
    np.testing.assert_array_equal(frame.xyz[30:].numpy(), bg0["pcds"])
    np.testing.assert_array_equal(frame.rgbw[:, 30:].numpy(), arrays["sampler.bg_sampler.rgbws.1"])


def test_weights_file_is_recognised_and_shown_as_bare_points(tmp_path, capsys):
    from k4d_viewer.cli import main

    arrays = {"sampler.pcds.0": random_frame(40)["pcds"], "sampler.pcds.1": random_frame(41)["pcds"],
              "sampler.xyz_embedder.spatial_embedding.0.params": np.zeros(8, np.float32),
              "sampler.ibr_regressor.rgb_mlp.linears.0.weight": np.zeros((4, 4), np.float32),
              "epoch": np.array(1599)}
    path = tmp_path / "1599.npz"
    np.savez(path, **arrays)
    model = open_model(path)
    assert model.info.colour is ColourModel.NONE and model.info.n_frames == 2
    assert any("network weights" in note and "k4d-viewer bake" in note for note in model.info.notes)
    assert main(["info", str(path)]) == 0
    assert "network weights" in capsys.readouterr().out
    out = tmp_path / "points.png"
    assert main(["render", str(path), "-o", str(out), "--size", "64x48"]) == 0 and out.exists()


@pytest.mark.parametrize("compressed", [True, False])
def test_opening_a_runtime_file_reads_no_frame_data(tmp_path, monkeypatch, compressed):
    monkeypatch.setattr("k4d_viewer.model.frame.COMPRESSED_NOTE_BYTES", 1)  # these frames count as large
    path = write_runtime_npz(tmp_path / "rt.npz", {s: random_frame(100, seed=s) for s in range(5)},
                             compressed=compressed)
    reads = []
    original = NpzArchive.read
    monkeypatch.setattr(NpzArchive, "read", lambda self, key: reads.append(key) or original(self, key))
    model = open_model(path)
    assert reads == [] and model.info.n_frames == 5 and model.info.compressed == compressed
    assert any("decompression" in note for note in model.info.notes) == compressed
    model.read_frame(4)
    assert reads and all(key.endswith(".4") for key in reads)


def test_small_compressed_models_open_without_a_warning():
    from k4d_viewer.assets import DEMO_MODEL

    model = open_model(DEMO_MODEL)  # compressed, but frames of a few hundred kB decompress faster than they play
    assert model.info.compressed and not any("decompression" in note for note in model.info.notes)


@pytest.mark.parametrize("compressed", [False, True])
def test_rows_read_alone_equal_rows_of_the_whole_array(tmp_path, compressed):
    """read_rows (the source views a camera blends): any order, neighbours merged into one read, repeats."""
    block = np.arange(9 * 5 * 4, dtype=np.float16).reshape(9, 5, 4)
    path = tmp_path / "rows.npz"
    (np.savez_compressed if compressed else np.savez)(path, block=block)
    with NpzArchive(path) as archive:
        for rows in ([3], [0, 1, 2], [8, 7, 0, 1], [5, 2, 6, 4], [4, 4, 3], list(range(9))[::-1]):
            np.testing.assert_array_equal(archive.read_rows("block", rows), block[rows])


@pytest.mark.parametrize("views", [None, [4, 1]])
def test_a_frame_announces_the_byte_ranges_it_reads(tmp_path, monkeypatch, views):
    """read_frame tells the OS every range it will read (so they are in flight together), and only those."""
    import os

    path = write_canonical(tmp_path / "m.npz", count=2)
    announced, read = [], []
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, start, length, advice: announced.append((start, length)),
                        raising=False)
    original = NpzArchive._read_at
    monkeypatch.setattr(NpzArchive, "_read_at", lambda self, key, start, buffer: (
        read.append((start, len(buffer))), original(self, key, start, buffer))[1])
    model = open_model(path)
    try:
        announced.clear(), read.clear()  # opening read the index
        frame = model.read_frame(1, views)
        assert sorted(announced) == sorted(read) and len(read) >= 6
    finally:
        model.close()
    whole = open_model(path).read_frame(1)
    expected = whole.rgbw if views is None else whole.rgbw[views]
    assert torch.equal(frame.rgbw, expected)
