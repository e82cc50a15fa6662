"""The frame cache: asynchronous reads, prefetch in the playback direction, bounded memory, failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from builders import canonical_arrays, write_canonical
from k4d_viewer.frame_cache import FrameCache, parse_bytes
from k4d_viewer.model import Frame, open_model


def test_parse_bytes():
    assert parse_bytes("512M") == 512 << 20 and parse_bytes("1.5G") == 3 << 29 and parse_bytes("2GiB") == 2 << 30
    assert parse_bytes("1000") == 1000
    with pytest.raises(ValueError):
        parse_bytes("lots")


def test_get_is_asynchronous_and_wait_blocks(tmp_path):
    model = open_model(write_canonical(tmp_path / "m.npz", count=4))
    cache = FrameCache(model, torch.device("cpu"), host_budget=1 << 30)
    first = cache.get(2)
    frame = cache.wait(2)
    assert frame.n_points == model.info.points_per_frame[2]
    assert first is None or first is frame
    assert cache.status(2) == "host" and cache.status(3) == "none"
    cache.close()


def test_prefetch_reads_ahead_in_the_playback_direction(tmp_path):
    model = open_model(write_canonical(tmp_path / "m.npz", count=8))
    cache = FrameCache(model, torch.device("cpu"), host_budget=1 << 30, lookahead=3)
    cache.wait(4)
    for _ in range(200):
        cache.prefetch(4, -1)
        if all(cache.status(i) == "host" for i in (1, 2, 3)):
            break
        __import__("time").sleep(0.005)
    assert [cache.status(i) for i in (1, 2, 3)] == ["host"] * 3
    assert cache.status(5) == "none" and cache.status(6) == "none"
    cache.close()


def test_memory_stays_within_budget_while_scrubbing_a_larger_model(tmp_path):
    model = open_model(write_canonical(tmp_path / "m.npz", count=20))
    sizes = model.info.bytes_per_frame
    budget = 2 * max(sizes)
    assert (tmp_path / "m.npz").stat().st_size > 5 * budget  # the model is much larger than the cache
    cache = FrameCache(model, torch.device("cpu"), host_budget=budget, lookahead=4)
    rng = np.random.default_rng(0)
    for index in rng.integers(0, 20, 60):
        cache.wait(int(index))
        cache.prefetch(int(index), 1)
        assert cache.stats.host_bytes <= budget
    for index in range(20):  # and playing straight through
        cache.wait(index)
        cache.prefetch(index, 1)
    assert cache.stats.host_peak <= budget
    assert cache.stats.host_bytes == sum(frame.nbytes() for frame in cache._host.values())
    cache.close()


def test_a_bad_frame_is_reported_not_skipped(tmp_path):
    arrays = canonical_arrays(count=3)
    arrays["frame.1.xyz"] = arrays["frame.1.xyz"].astype(np.float32)
    arrays["frame.1.xyz"][0, 0] = np.nan
    np.savez(tmp_path / "bad.npz", **arrays)
    cache = FrameCache(open_model(tmp_path / "bad.npz"), torch.device("cpu"), host_budget=1 << 30)
    with pytest.raises(Exception, match="NaN"):
        cache.wait(1)
    assert cache.status(1) == "failed" and "frame.1.xyz" in cache.error(1)
    assert cache.wait(2) is not None
    cache.close()


@pytest.mark.parametrize("compact", [False, True])
def test_reads_only_the_views_a_camera_blends_and_rereads_when_it_moves(tmp_path, compact):
    """With 40 source views, a camera's n_srcs = 4 nearest (+ VIEW_MARGIN) are read from disk, the colour
    equals the one from the whole frame, and a camera on the other side triggers a read of its own views."""
    from builders import random_frame
    from k4d_viewer.colour import evaluate_colour
    from k4d_viewer.frame_cache import VIEW_MARGIN
    from k4d_viewer.model import ColourModel, save_canonical
    from k4d_viewer.model.compact import compact_frame

    raw = random_frame(3000, views=40, seed=5)
    arrays = {"xyz": raw["pcds"], "radius": raw["rads"][:, 0], "alpha": raw["occs"][:, 0], "rgbw": raw["rgbws"],
              "cents": raw["cents"], "sh": raw["shs"]}
    save_canonical(tmp_path / "m.npz", [compact_frame(arrays) if compact else arrays] * 2, colour="ibr")
    model = open_model(tmp_path / "m.npz")
    cache = FrameCache(model, torch.device("cpu"), host_budget=1 << 30)
    full = model.read_frame(0)
    for step, centre in enumerate((raw["cents"][3] * 1.2, raw["cents"][23] * 1.2)):
        frame = cache.wait(0, centre, 4)
        assert frame.rgbw.shape[0] == 4 + VIEW_MARGIN
        c = torch.tensor(centre, dtype=torch.float32)
        torch.testing.assert_close(evaluate_colour(frame, ColourModel.IBR, c),
                                   evaluate_colour(full, ColourModel.IBR, c), atol=1e-6, rtol=0)
        assert cache.stats.disk_reads == step + 1  # the second camera needs other views: one more read
    assert cache.stats.disk_bytes == 2 * model.stored_bytes(0, list(range(4 + VIEW_MARGIN)))
    assert cache.stats.disk_bytes / 2 < model.stored_bytes(0) / 2  # per read: under half the frame
    cache.wait(0, raw["cents"][23] * 1.21, 4)  # a small move: the views held still cover it
    assert cache.stats.disk_reads == 2
    cache.close()


def _frame_of(raw: dict) -> Frame:
    return Frame(xyz=torch.from_numpy(raw["pcds"]), radius=torch.from_numpy(raw["rads"][:, 0]),
                 alpha=torch.from_numpy(raw["occs"][:, 0]), sh=torch.from_numpy(raw["shs"]),
                 rgbw=torch.from_numpy(raw["rgbws"]), cents=torch.from_numpy(raw["cents"]))


def test_uploads_copy_the_frame_or_its_chosen_views_through_reused_buffers():
    """Each upload equals its host frame (or those rows of rgbw and cents, in the order asked), no result
    shares memory with the staging buffers (a later upload leaves earlier results alone), and the buffers are
    reused, and grown only for a larger frame."""
    from builders import random_frame
    from k4d_viewer.frame_upload import SLOTS, FrameUploader, upload_bytes

    small, large = _frame_of(random_frame(500, views=9, seed=1)), _frame_of(random_frame(2000, views=9, seed=2))
    uploader = FrameUploader(torch.device("cpu"))
    results = []
    every_view_reversed = list(range(8, -1, -1))
    for host, rows in [(small, None), (small, [7, 2, 3]), (small, None), (large, [0, 8]), (small, [4]),
                       (small, every_view_reversed)]:
        moved, done = uploader.submit(host, rows).result()
        assert done.query()
        assert moved.nbytes() == upload_bytes(host, rows)
        results.append((host, rows, moved, {k: v.clone() for k, v in moved.__dict__.items() if v is not None}))
    buffers = [slot.buffer for slot in uploader._slots]
    assert len(buffers) == SLOTS
    for host, rows, moved, copy in results:
        for name, value in moved.__dict__.items():
            expected = getattr(host, name)
            if expected is None:
                assert value is None
                continue
            if rows is not None and name in ("rgbw", "cents"):
                expected = expected[rows]
            assert torch.equal(value, expected) and torch.equal(value, copy[name]), name
            for buffer in buffers:  # results live in memory of their own
                start, end = buffer.data_ptr(), buffer.data_ptr() + buffer.numel()
                assert not start <= value.data_ptr() < end
    # six uploads through two buffers: the one that took the large frame grew, the other kept its first size
    sizes = sorted(buffer.numel() for buffer in buffers)
    assert sizes[0] >= upload_bytes(small, None) and sizes[1] >= upload_bytes(large, [0, 8]) > sizes[0]
    uploader.close()


def test_the_device_tier_holds_the_blended_views_within_its_budget(tmp_path):
    """The device tier (run on the CPU here, with copies that finish at once): a frame comes back with only the
    n_srcs views a camera blends, its colour equals the whole frame's, the device cache stays within its budget
    while playing through, and frames already there are returned without another copy."""
    from builders import random_frame
    from k4d_viewer.colour import evaluate_colour
    from k4d_viewer.model import ColourModel, save_canonical

    frames = []
    for seed in range(6):
        raw = random_frame(2000, views=24, seed=seed)
        frames.append({"xyz": raw["pcds"], "radius": raw["rads"][:, 0], "alpha": raw["occs"][:, 0],
                       "rgbw": raw["rgbws"], "cents": raw["cents"], "sh": raw["shs"]})
    save_canonical(tmp_path / "m.npz", frames, colour="ibr")
    model = open_model(tmp_path / "m.npz")
    centre = frames[0]["cents"][5].astype(np.float32) * 1.3
    one = model.read_frame(0)
    blended_bytes = one.nbytes() - (one.rgbw.numel() + one.cents.numel()) * 2 * (24 - 4) // 24
    budget = 3 * blended_bytes
    cache = FrameCache(model, torch.device("cpu"), host_budget=1 << 30, device_budget=budget, lookahead=2,
                       device_tier=True)
    c = torch.tensor(centre)
    for index in list(range(6)) * 2:
        frame = cache.wait(index, centre, 4)
        cache.prefetch(index, 1, centre, 4)
        assert frame.rgbw.shape[0] == 4 and frame.cents.shape[0] == 4
        assert cache.stats.device_bytes <= budget
        full = model.read_frame(index)
        torch.testing.assert_close(evaluate_colour(frame, ColourModel.IBR, c),
                                   evaluate_colour(full, ColourModel.IBR, c), atol=1e-6, rtol=0)
        assert cache.status(index) == "device"
        assert cache.wait(index, centre, 4) is frame  # held: no second copy
    assert cache.stats.device_peak <= budget
    assert len(cache._device) <= 3
    cache._account()  # the running sizes agree with the frames held
    assert cache.stats.device_bytes == sum(frame.nbytes() for frame, _ in cache._device.values())
    assert cache.stats.host_bytes == sum(frame.nbytes() for frame in cache._host.values())
    cache.close()


def test_uploads_fall_back_to_ordinary_memory_when_pinning_fails(monkeypatch, caplog):
    """Page-locking can fail when little RAM is left: uploads then go through ordinary buffers, with one
    warning, and still copy the frame exactly."""
    from builders import random_frame
    from k4d_viewer.frame_upload import FrameUploader

    real_empty = torch.empty

    def empty(*args, pin_memory=False, **kwargs):
        if pin_memory:
            raise RuntimeError("CUDA error: out of memory (page-locked)")
        return real_empty(*args, **kwargs)

    uploader = FrameUploader(torch.device("cpu"))
    uploader._pinned = True  # as on a CUDA device
    monkeypatch.setattr(torch, "empty", empty)
    host = _frame_of(random_frame(400, views=5, seed=3))
    with caplog.at_level("WARNING"):
        for rows in (None, [4, 0]):
            moved, _ = uploader.submit(host, rows).result()
            assert torch.equal(moved.rgbw, host.rgbw if rows is None else host.rgbw[rows])
    monkeypatch.setattr(torch, "empty", real_empty)
    warnings = [r for r in caplog.records if "ordinary memory" in r.getMessage()]
    assert len(warnings) == 1 and "page-locked" in warnings[0].getMessage()
    uploader.close()


def test_statuses_of_every_frame_at_once_equal_asking_frame_by_frame(tmp_path):
    """The timeline asks for every frame's status each UI frame: ``statuses()`` gives them in one pass and
    equals ``status(i)`` for frames on the device, in host memory, loading, failed and not loaded."""
    arrays = canonical_arrays(count=8)
    arrays["frame.5.xyz"] = arrays["frame.5.xyz"].astype(np.float32)
    arrays["frame.5.xyz"][0, 0] = np.nan
    np.savez(tmp_path / "m.npz", **arrays)
    cache = FrameCache(open_model(tmp_path / "m.npz"), torch.device("cpu"), host_budget=1 << 30,
                       device_budget=1 << 30, device_tier=True, lookahead=2)
    for index in (0, 1):
        cache.wait(index)
    cache.prefetch(1, 1)  # frames 2 and 3 start loading; 2 will go on to the device once it is in memory
    with pytest.raises(Exception, match="NaN"):
        cache.wait(5)
    seen = set()
    for _ in range(50):
        statuses = cache.statuses()
        assert statuses == [cache.status(i) for i in range(8)]
        seen.update(statuses)
        cache.get(1)
        cache.prefetch(1, 1)
    assert statuses[0] == statuses[1] == "device" and statuses[5] == "failed" and statuses[7] == "none"
    assert {"device", "failed", "none"} <= seen and seen & {"host", "loading"}
    cache.close()


def test_the_cache_strip_merges_runs_only_where_frames_are_narrow():
    from k4d_viewer.app.timeline_panel import strip_cells

    statuses = ["device"] * 3 + ["host"] * 2 + ["none"] * 4 + ["failed"]
    assert strip_cells(statuses, 10.0) == [(i, i, s) for i, s in enumerate(statuses)]  # wide: a cell each
    merged = strip_cells(statuses, 0.5)
    assert merged == [(0, 2, "device"), (3, 4, "host"), (5, 8, "none"), (9, 9, "failed")]
    long = (["device"] * 40 + ["none"] * 60) * 30  # 3,000 frames: a handful of rectangles, covering every frame
    cells = strip_cells(long, 0.6)
    assert len(cells) == 60 and [s for first, last, s in cells for _ in range(first, last + 1)] == long
    assert all(b[0] == a[1] + 1 for a, b in zip(cells, cells[1:]))
