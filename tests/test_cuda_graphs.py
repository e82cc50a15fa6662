"""When the cuda backend records a frame as CUDA graphs, and how it sizes the pair buffers, without a GPU:
stand-in plans for the recording policy, and FramePlan itself with a stand-in recorder and the real kernels
(interpreted). tests/test_cuda_gpu.py replays real graphs against the eager path."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is first imported (as test_cuda_kernels)
pytest.importorskip("triton")

from builders import camera_looking_at_origin, random_frame  # noqa: E402
from k4d_viewer.colour import ColourSettings  # noqa: E402
from k4d_viewer.model import ColourModel, Frame  # noqa: E402
from k4d_viewer.render import RasterSettings, cuda_graphs  # noqa: E402
from k4d_viewer.render.cuda_backend import CudaRasterizer  # noqa: E402
from k4d_viewer.render.cuda_graphs import FrameGraphs, keeps_capacity, pair_capacity  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def small_frame(n: int, seed: int, views: int = 3) -> Frame:
    raw = random_frame(n, views=views, seed=seed, spread=0.3, radius=(0.02, 0.06))
    return Frame(xyz=torch.from_numpy(raw["pcds"]), radius=torch.from_numpy(raw["rads"][:, 0]),
                 alpha=torch.from_numpy(raw["occs"][:, 0]), sh=torch.from_numpy(raw["shs"]),
                 rgbw=torch.from_numpy(raw["rgbws"]), cents=torch.from_numpy(raw["cents"])).to(DEVICE)


class StandIn:
    """A plan that returns its name and the first parameter, or fails where told."""

    def __init__(self, name, fail=False, fail_settle=False):
        self.name, self.fail, self.fail_settle, self.runs = name, fail, fail_settle, 0

    def run(self, params):
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing\nmore detail")
        self.runs += 1
        return self.name, float(params[0])

    def settle(self):
        if self.fail_settle:
            raise torch.OutOfMemoryError("CUDA out of memory recording the pair buffers")
        return None


def eager():
    return "eager", 0.0


def test_a_frame_is_recorded_once_drawn_often_enough():
    graphs, made = FrameGraphs(), []

    def make(name):
        return lambda: made.append(name) or StandIn(name)

    needed = cuda_graphs.RENDERS_BEFORE_RECORDING
    for _ in range(needed - 1):  # A/B compare: two frames in turn, both recorded on their third draw
        assert graphs.render("a", make("a"), np.ones(1), eager) is None
        assert graphs.render("b", make("b"), np.ones(1), eager) is None
    assert graphs.render("a", make("a"), np.full(1, 2.0), eager)[:2] == ("a", 2.0)
    assert graphs.render("b", make("b"), np.full(1, 2.0), eager)[:2] == ("b", 2.0)
    accum, depth, settle = graphs.render("a", make("a"), np.full(1, 3.0), eager)  # replayed, not made again
    assert (accum, depth) == ("a", 3.0) and settle() is None
    assert made == ["a", "b"]


def test_playback_stays_eager():
    """A new frame every draw (playback) is never recorded, and the keys it leaves are forgotten."""
    graphs = FrameGraphs()
    for index in range(100):
        for _ in range(cuda_graphs.RENDERS_BEFORE_RECORDING - 1):
            assert graphs.render(index, lambda: StandIn("x"), np.ones(1), eager) is None
    assert not graphs._plans and len(graphs._seen) <= cuda_graphs.KEYS_COUNTED


def test_only_the_latest_plans_are_kept():
    graphs = FrameGraphs()
    for name in ("a", "b", "c"):
        for _ in range(cuda_graphs.RENDERS_BEFORE_RECORDING):
            graphs.render(name, lambda n=name: StandIn(n), np.zeros(1), eager)
    assert list(graphs._plans) == ["b", "c"][-cuda_graphs.PLANS_KEPT:]


def test_a_failed_recording_is_logged_once_and_the_frame_stays_eager(caplog):
    graphs = FrameGraphs()
    with caplog.at_level(logging.WARNING):
        results = [graphs.render("a", lambda: StandIn("a", fail=True), np.zeros(1), eager) for _ in range(10)]
    assert results == [None] * 10
    warnings = [r for r in caplog.records if "without CUDA graphs" in r.getMessage()]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()


def test_a_failed_check_draws_the_frame_eagerly(caplog):
    """The pair count is checked when the image is used; if recording bigger buffers fails then, the frame is
    drawn eagerly and the key stays eager."""
    graphs = FrameGraphs()
    for _ in range(cuda_graphs.RENDERS_BEFORE_RECORDING - 1):
        graphs.render("a", lambda: StandIn("a", fail_settle=True), np.zeros(1), eager)
    with caplog.at_level(logging.WARNING):
        _, _, settle = graphs.render("a", lambda: StandIn("a", fail_settle=True), np.zeros(1), eager)
        assert settle() == ("eager", 0.0)
    assert "out of memory" in caplog.text
    assert all(graphs.render("a", lambda: StandIn("a"), np.zeros(1), eager) is None for _ in range(5))


@pytest.mark.parametrize("total", [0, 1, 1000, 1023, 1024, 4097, 123_457, 9_121_919])
def test_pair_capacity_holds_the_pairs_with_little_padding(total):
    capacity = pair_capacity(total)
    assert capacity >= total + total // 8
    assert capacity <= max(1.3 * total, 2048)
    assert keeps_capacity(total, capacity)
    assert keeps_capacity(total * 3 // 4, capacity)  # a camera moving away keeps the buffers a while
    assert not keeps_capacity(capacity + 1, capacity)
    assert not keeps_capacity(total // 3, capacity) or capacity <= 2 * pair_capacity(0)


def test_out_of_memory_drops_the_recorded_frames_and_draws_again(monkeypatch):
    """Recorded frames keep their buffers; when an eager frame runs out of GPU memory, the backend lets them go
    and draws once more before giving up."""
    from builders import camera_looking_at_origin
    from k4d_viewer.colour import ColourSettings
    from k4d_viewer.model import ColourModel
    from k4d_viewer.render import RasterSettings
    from k4d_viewer.render.cuda_backend import CudaRasterizer

    frame = small_frame(50, seed=1)
    cuda = CudaRasterizer(graphs=False)
    graphs = cuda._graphs = FrameGraphs()
    graphs._plans["held"] = StandIn("held")
    eager, failures = cuda._eager, []

    def short_of_memory(*args):
        if not failures:
            failures.append(1)
            raise torch.OutOfMemoryError("CUDA out of memory")
        return eager(*args)

    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(cuda, "_eager", short_of_memory)
    image = cuda.render(frame, ColourModel.SH, camera_looking_at_origin(16, 12), ColourSettings(), RasterSettings())
    assert image.readback().rgb.shape == (12, 16, 3) and failures == [1] and not graphs._plans
    failures.clear()
    with pytest.raises(torch.OutOfMemoryError):  # nothing left to let go: the error stands
        cuda.render(frame, ColourModel.SH, camera_looking_at_origin(16, 12), ColourSettings(), RasterSettings())


class RunAgain:
    """Records a stage by running it, and replays it by running it again into the same output tensors: what a
    CUDA graph does, without CUDA (so FramePlan's sizing runs here with the real kernels, interpreted)."""

    def __init__(self, fn, stream, pool) -> None:
        self._fn = fn
        self.outputs = fn()
        self.graph = self

    def replay(self) -> None:
        for static, fresh in zip(self.outputs, self._fn(), strict=True):
            static.copy_(fresh)

    def pool(self) -> None:
        return None


def test_recorded_frames_equal_the_eager_path_as_the_pair_count_changes(monkeypatch):
    """A recorded frame while the discs grow and shrink: pair buffers sized for an earlier frame, a frame whose
    pairs outgrow them found by ready() and drawn again, buffers shrunk later; every image equals the eager
    path's exactly."""
    monkeypatch.setattr(cuda_graphs.FramePlan, "recorder", RunAgain)
    replaced = []
    settle = cuda_graphs.FramePlan.settle
    monkeypatch.setattr(cuda_graphs.FramePlan, "settle", lambda plan: replaced.append(settle(plan)) or replaced[-1])
    graphed, eager = CudaRasterizer(graphs=False), CudaRasterizer(graphs=False)
    graphed._graphs = FrameGraphs()
    frame = small_frame(400, seed=2)
    camera = camera_looking_at_origin(96, 72)
    capacities = []
    for scale in (1.0, 1.0, 1.0, 5.0, 0.4, 0.4):
        settings = RasterSettings(radius_scale=scale, layers=5)
        a = eager.render(frame, ColourModel.IBR, camera, ColourSettings(), settings).readback()
        b = graphed.render(frame, ColourModel.IBR, camera, ColourSettings(), settings).readback()
        for name in ("rgb", "alpha", "depth"):
            assert torch.equal(getattr(a, name), getattr(b, name)), (scale, name)
        capacities += [plan.capacity for plan in graphed._graphs._plans.values()]
    assert len(graphed._graphs._plans) == 1
    assert any(result is not None for result in replaced)  # the frame at 5x outgrew the buffers
    assert capacities[0] < max(capacities) and capacities[-1] < max(capacities)  # grown, then shrunk again
