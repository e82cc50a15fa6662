"""`k4d-viewer render` of 4K4D runtime files from a camera JSON against the independent oracle."""

from __future__ import annotations

import json

import numpy as np
import oracle
import pytest
from builders import camera_looking_at_origin, random_frame, write_runtime_npz
from k4d_viewer.cli import main
from PIL import Image


def render_cli(tmp_path, model, camera, *extra):
    cam_path = tmp_path / "cam.json"
    cam_path.write_text(json.dumps(camera.to_json_dict()))
    out = tmp_path / "out.png"
    assert main(["render", str(model), "--camera", str(cam_path), "-o", str(out), "--device", "cpu", *extra]) == 0
    return np.asarray(Image.open(out)).astype(np.float64)


def oracle_image(frame, camera, layers=11, n_srcs=4, limit=1.0):
    centre = camera.centre
    rgb = oracle.colours(frame["pcds"], frame["rgbws"], frame["cents"], frame["shs"], centre, n_srcs, limit)
    image, _ = oracle.rasterize(frame["pcds"], rgb, frame["rads"], frame["occs"], camera.K, camera.R, camera.T,
                                camera.width, camera.height, camera.near, camera.far, layers)
    return image * 255


def assert_matches(rendered, expected):
    error = np.abs(rendered - expected)
    assert rendered.shape == expected.shape
    assert np.percentile(error, 99.5) <= 3, f"99.5th percentile error {np.percentile(error, 99.5):.2f}/255"
    assert expected.max() > 100  # the scene is actually visible


@pytest.mark.parametrize("layers", [11, 3])
def test_runtime_file_matches_oracle(tmp_path, layers):
    frames = {0: random_frame(400, seed=1, spread=0.3, radius=(0.02, 0.08)),
              2: random_frame(450, seed=2, spread=0.3, radius=(0.02, 0.08))}
    model = write_runtime_npz(tmp_path / "model.npz", frames, none_slots=(1,))
    camera = camera_looking_at_origin(96, 72)
    rendered = render_cli(tmp_path, model, camera, "--frame", "1", "--layers", str(layers))
    assert_matches(rendered, oracle_image(frames[2], camera, layers=layers))


def test_foreground_background_file_matches_oracle(tmp_path):
    fg = {slot: random_frame(300, seed=10 + slot, spread=0.25, radius=(0.02, 0.06)) for slot in (0, 1)}
    bg = {slot: random_frame(200, seed=20 + slot, spread=0.5, radius=(0.02, 0.06), centre=(0, 0.6, 0))
          for slot in (0, 1)}
    for slot in (0, 1):  # both samplers see the same capture cameras
        bg[slot]["cents"] = fg[slot]["cents"]
    # background geometry exists for slot 0 only; its colours (rgbws, cents) for every frame
    bg_stored = {0: bg[0], 1: {"rgbws": bg[1]["rgbws"], "cents": bg[1]["cents"]}}
    path = tmp_path / "fgbg.npz"
    arrays = {}
    for prefix, frames in (("sampler.fg_sampler.", fg), ("sampler.bg_sampler.", bg_stored)):
        for slot, frame in frames.items():
            arrays.update({f"{prefix}{k}.{slot}": v for k, v in frame.items()})
    np.savez_compressed(path, **arrays)
    camera = camera_looking_at_origin(96, 72)
    rendered = render_cli(tmp_path, path, camera, "--frame", "1")
    combined = {k: np.concatenate([fg[1][k], bg[0][k]], axis=0) for k in ("pcds", "rads", "occs", "shs")}
    combined["rgbws"] = np.concatenate([fg[1]["rgbws"], bg[1]["rgbws"]], axis=1)
    combined["cents"] = fg[1]["cents"]
    assert_matches(rendered, oracle_image(combined, camera))


def test_n_srcs_and_limit_settings_reach_the_colour(tmp_path):
    frames = {0: random_frame(300, seed=4, spread=0.3, radius=(0.02, 0.08))}
    model = write_runtime_npz(tmp_path / "model.npz", frames)
    camera = camera_looking_at_origin(80, 60)
    rendered = render_cli(tmp_path, model, camera, "--n-srcs", "2", "--sh-limit", "0.25")
    assert_matches(rendered, oracle_image(frames[0], camera, n_srcs=2, limit=0.25))
