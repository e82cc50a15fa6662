"""Successes that need a word: the command goes on, and one warning line says what was guessed or ignored."""

from __future__ import annotations

import json

import numpy as np
from k4d_viewer.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_clipped_range_camera_facing_away_and_unused_rig(tmp_path, capsys, shared_data):
    code, _, err = run(capsys, "render", "--frames", "45:60", "-o", tmp_path / "f.png", "--size", "32x24")
    assert code == 0 and "--frames 45:60: the model has frames 0..49; rendering 45..49" in err
    away = tmp_path / "away.json"
    away.write_text(json.dumps({"H": 24, "W": 32, "K": np.diag([30.0, 30.0, 1.0]).tolist(),
                                "R": np.eye(3).tolist(), "T": [0, 0, -50], "n": 0.1, "f": 10}))
    code, _, err = run(capsys, "render", "--camera", away, "-o", tmp_path / "a.png")
    assert code == 0 and "show none of the model" in err and len(err.splitlines()) == 1
    rig = shared_data / "cameras" / "zju-mocap-23"
    code, _, err = run(capsys, "render", "--cameras", rig, "-o", tmp_path / "c.png", "--size", "32x24")
    assert code == 0 and "--cameras is used with --view" in err
    code, _, err = run(capsys, "render", "--view", "0", "--cameras", rig, "-o", tmp_path / "v.png", "--size", "32x24")
    assert code == 0 and "guessed as 2·cx × 2·cy" in err and "distortion of 23 camera(s) is not applied" in err


def test_info_check_json_reports_the_check(capsys):
    code, out, _ = run(capsys, "info", "--check", "--json")
    assert code == 0 and json.loads(out)["check"] == {"frames_read": 50, "valid": True}
