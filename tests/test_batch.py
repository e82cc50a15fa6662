"""Batch rendering: a local Ray cluster (2 CPU workers) renders two jobs identically to single-process
``render``; a run killed mid-way resumes and re-renders only unfinished segments; bad job files are one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from k4d_viewer.assets import DEMO_MODEL
from k4d_viewer.cli import main

JOBS = """
[[job]]
model = "demo.npz"
output = "orbit.mkv"
preset = "orbit"
size = "96x64"
seconds = 2
fps = 10
codec = "ffv1"
play = true

[[job]]
model = "demo.npz"
output = "frames/bt.png"
preset = "bullet-time"
frame = 10
size = "96x64"
seconds = 1.2
fps = 10
layers = 5
"""


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


@pytest.fixture
def workdir(tmp_path):
    shutil.copy(DEMO_MODEL, tmp_path / "demo.npz")
    (tmp_path / "frames").mkdir()
    (tmp_path / "jobs.toml").write_text(JOBS)
    return tmp_path


def batch(workdir: Path, *flags: str, wait: bool = True):
    command = [sys.executable, "-m", "k4d_viewer.cli", "batch", "jobs.toml", *flags]
    if not wait:
        return subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def single_renders(workdir: Path) -> None:
    assert main(["render", str(workdir / "demo.npz"), "--orbit", "--play", "--size", "96x64", "--seconds", "2",
                 "--fps", "10", "--codec", "ffv1", "-o", str(workdir / "single.mkv")]) == 0
    (workdir / "single").mkdir()
    assert main(["render", str(workdir / "demo.npz"), "--bullet-time", "10", "--size", "96x64", "--seconds", "1.2",
                 "--fps", "10", "--layers", "5", "-o", str(workdir / "single" / "bt.png")]) == 0


def assert_identical(workdir: Path) -> None:
    batch_frames, single_frames = decode(workdir / "orbit.mkv"), decode(workdir / "single.mkv")
    assert len(batch_frames) == len(single_frames) == 20
    assert all(np.array_equal(a, b) for a, b in zip(batch_frames, single_frames))
    names = sorted(p.name for p in (workdir / "frames").glob("bt_*.png"))
    assert names == [f"bt_{i:04d}.png" for i in range(12)]
    for name in names:
        assert (workdir / "frames" / name).read_bytes() == (workdir / "single" / name).read_bytes()


def test_ray_batch_matches_single_renders(workdir):
    pytest.importorskip("ray")
    result = batch(workdir, "--workers", "2", "--segment-frames", "4")
    assert "job 0" in result.stdout and "5 segments joined" in result.stdout, result.stdout
    single_renders(workdir)
    assert_identical(workdir)
    assert not (workdir / "orbit.mkv.parts").exists()
    assert json.loads((workdir / "orbit.mkv.k4d-batch.json").read_text())["complete"]


def test_killed_batch_resumes_with_only_unfinished_segments(workdir):
    process = batch(workdir, "--workers", "1", "--no-ray", "--segment-frames", "2", wait=False)
    manifest = workdir / "orbit.mkv.k4d-batch.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            done = len(json.loads(manifest.read_text())["segments"])
        except (OSError, ValueError, KeyError):
            done = 0
        if done >= 2:
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its workers, mid-run
    process.wait()
    finished = len(json.loads(manifest.read_text())["segments"])
    assert 2 <= finished < 10 and not (workdir / "orbit.mkv").exists()
    result = batch(workdir, "--workers", "2", "--no-ray", "--segment-frames", "2", "--resume")
    assert f"{10 - finished} rendered now" in result.stdout, result.stdout  # only the unfinished segments
    single_renders(workdir)
    assert_identical(workdir)


@pytest.mark.parametrize("content, problem", [
    ("[[job]]\nmodel = 'demo.npz'\n", "job 0: 'output' must be a file name"),
    ("[[job]]\nmodel = 'nope.npz'\noutput = 'a.mp4'\npreset = 'orbit'\n", "nope.npz: no such file"),
    ("[[job]]\nmodel = 'demo.npz'\noutput = 'a.mp4'\npreset = 'twirl'\n", "unknown preset 'twirl'"),
    ("[[job]]\nmodel = 'demo.npz'\noutput = 'a.mp4'\npreset = 'orbit'\ncolour = 3\n", "unknown key 'colour'"),
    ("[[job]]\nmodel = 'demo.npz'\noutput = 'a.mp4'\npreset = 'orbit'\nlayers = 99\n", "--layers: 99 is outside"),
    ("[[job]]\nmodel = 'demo.npz'\noutput = 'a.mp4'\npath = 'p.json'\n", "p.json: no such file"),
    ("[[job]]\nmodel = 'demo.npz'\noutput = 'a.webm'\npreset = 'orbit'\ncodec = 'h264'\n", "does not go in a .webm"),
    ("[[job]\n", "not valid TOML"),
    ("title = 'x'\n", "needs one or more [[job]] tables"),
])
def test_bad_job_files(workdir, capsys, content, problem):
    (workdir / "bad.toml").write_text(content)
    code = main(["batch", str(workdir / "bad.toml"), "--no-ray"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and problem in err, err


def test_render_workers_is_one_parallel_job(workdir):
    command = [sys.executable, "-m", "k4d_viewer.cli", "render", "demo.npz", "--orbit", "--play", "--size", "96x64",
               "--seconds", "2", "--fps", "10", "--codec", "ffv1", "-o", "parallel.mkv", "--workers", "2"]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    single_renders(workdir)
    assert all(np.array_equal(a, b) for a, b in zip(decode(workdir / "parallel.mkv"), decode(workdir / "single.mkv")))
    assert len(decode(workdir / "parallel.mkv")) == 20


def test_unreachable_cluster(workdir, capsys):
    pytest.importorskip("ray")
    code = main(["batch", str(workdir / "jobs.toml"), "--ray", "127.0.0.1:1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--ray" in err and len(err.splitlines()) == 1, err
