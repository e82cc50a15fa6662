"""The command line as a user runs it: info and render on the demo and on 4K4D runtime files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from builders import random_frame, write_runtime_npz
from k4d_viewer.cli import main
from PIL import Image


def test_demo_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "k4d-viewer canonical" in out and "ibr" in out and "SH residual degree 3" in out
    assert "cameras    8" in out


def test_demo_info_json(capsys):
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frames"] >= 40 and data["source_views"] == 8 and data["colour"] == "ibr"


def test_render_demo_default_camera_shows_the_figure(tmp_path):
    out = tmp_path / "demo.png"
    assert main(["render", "-o", str(out), "--size", "240x160"]) == 0
    image = np.asarray(Image.open(out))
    assert image.shape == (160, 240, 3)
    covered = image.max(-1) > 10
    rows = np.nonzero(covered.any(1))[0]
    assert covered.mean() > 0.03 and rows.max() - rows.min() > 0.6 * 160  # a tall figure, framed
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 200  # textured, not flat


def test_render_range_and_modes(tmp_path):
    out = tmp_path / "seq.png"
    assert main(["render", "--frames", "0:30:", "-o", str(out)]) == 2  # malformed range is an error
    assert main(["render", "--frames", "10:13", "-o", str(out), "--size", "96x64"]) == 0
    names = sorted(p.name for p in tmp_path.glob("seq_*.png"))
    assert names == ["seq_0010.png", "seq_0011.png", "seq_0012.png"]
    first, last = (np.asarray(Image.open(tmp_path / n)) for n in (names[0], names[-1]))
    assert not np.array_equal(first, last)  # the figure moves
    for mode in ("alpha", "depth"):
        path = tmp_path / f"{mode}.png"
        assert main(["render", "--mode", mode, "-o", str(path), "--size", "96x64", "--rgba"]) == 0
    assert np.asarray(Image.open(tmp_path / "alpha.png")).shape == (64, 96, 4)


def test_render_capture_view_and_debug_views(tmp_path):
    images = {}
    for name, flags in {"view": [], "skip_sh": ["--skip-sh"], "skip_base": ["--skip-base"]}.items():
        path = tmp_path / f"{name}.png"
        assert main(["render", "--view", "3", "-o", str(path), "--size", "96x128", *flags]) == 0
        images[name] = np.asarray(Image.open(path)).astype(int)
    assert images["view"].shape == (128, 96, 3)
    assert np.abs(images["view"] - images["skip_sh"]).max() > 20     # the SH sheen is visible
    assert images["skip_base"].mean() < images["view"].mean()         # residual only is darker


def test_render_runtime_file_with_rig_and_numbered_template(tmp_path, shared_data):
    frames = {0: random_frame(500, seed=1), 1: random_frame(500, seed=2)}
    model = write_runtime_npz(tmp_path / "rt.npz", frames)
    template = tmp_path / "v{frame:02d}.png"
    rig = shared_data / "cameras" / "zju-mocap-23"
    assert main(["render", str(model), "--frames", "0:2", "--view", "5", "--cameras", str(rig),
                 "-o", str(template), "--size", "64x64"]) == 0
    assert (tmp_path / "v00.png").exists() and (tmp_path / "v01.png").exists()


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "k4d_viewer.cli", "render", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and "--camera" in result.stdout and "examples:" in result.stdout


def test_example_camera_file_renders(tmp_path):
    """The camera JSON the README points to is valid and renders."""
    from pathlib import Path

    example = Path(__file__).parents[1] / "docs" / "examples" / "camera.json"
    out = tmp_path / "view.png"
    assert main(["render", "--camera", str(example), "--size", "96x54", "-o", str(out)]) == 0
    assert out.exists()
