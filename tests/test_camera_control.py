"""The interactive camera operations (pure logic, no window)."""

from __future__ import annotations

import numpy as np
import pytest
from k4d_viewer.app.camera_control import CameraState
from k4d_viewer.camera import Camera


@pytest.fixture
def state():
    return CameraState.framing(np.array([-0.3, 0.0, -0.2]), np.array([0.3, 1.8, 0.2]), "+y", 16 / 9)


def test_framing_looks_at_the_centre(state):
    cam = state.to_camera(1600, 900)
    centre = cam.R @ np.array([0.0, 0.9, 0.0]) + cam.T
    assert centre[2] > 0
    np.testing.assert_allclose(cam.K[:2, :2] @ (centre[:2] / centre[2]) + cam.K[:2, 2], [800, 450], atol=1e-6)
    np.testing.assert_allclose(state.pivot, [0.0, 0.9, 0.0], atol=1e-9)


def test_orbit_keeps_pivot_and_distance(state):
    moved = state.orbit(0.4, 0.2)
    np.testing.assert_allclose(moved.pivot, state.pivot, atol=1e-9)
    assert np.linalg.norm(moved.eye - moved.pivot) == pytest.approx(state.distance)
    assert not np.allclose(moved.eye, state.eye)
    np.testing.assert_allclose(moved.R @ moved.R.T, np.eye(3), atol=1e-9)
    # the image stays upright: the camera's x axis stays horizontal
    assert abs(moved.R[0] @ np.array([0, 1.0, 0])) < 1e-9


def test_orbit_never_flips_over_the_pole(state):
    moved = state
    for _ in range(50):
        moved = moved.orbit(0.0, 0.3)
    assert abs(moved.forward @ np.array([0, 1.0, 0])) <= 0.996


def test_look_keeps_the_eye(state):
    moved = state.look(0.3, -0.1)
    np.testing.assert_allclose(moved.eye, state.eye)
    assert not np.allclose(moved.pivot, state.pivot)


def test_pan_dolly_zoom_fly(state):
    panned = state.pan(0.1, 0.0)
    np.testing.assert_allclose(panned.pivot - state.pivot, panned.eye - state.eye)
    closer = state.dolly(0.5)
    assert closer.distance == pytest.approx(state.distance / 2)
    np.testing.assert_allclose(closer.pivot, state.pivot, atol=1e-9)
    zoomed = state.zoom(0.5)
    assert zoomed.to_camera(100, 100).K[1, 1] > state.to_camera(100, 100).K[1, 1]
    flown = state.fly(1.0, 0.0, 0.0)
    np.testing.assert_allclose(flown.eye - state.eye, state.forward)


def test_snapping_reproduces_a_capture_camera_at_any_size():
    K = np.array([[1100.0, 0, 560], [0, 1110, 510], [0, 0, 1]])
    R = Camera.look_at(np.array([2.0, 0.5, 1.0]), np.zeros(3), np.array([0, 0, 1.0]), 10, 10).R
    capture = Camera(K=K, R=R, T=-R @ np.array([2.0, 0.5, 1.0]), width=1024, height=1024, name="cam3")
    state = CameraState.from_camera(capture, "+z", 2.0)
    again = state.to_camera(1024, 1024)
    np.testing.assert_allclose(again.K, capture.K)
    np.testing.assert_allclose(again.T, capture.T, atol=1e-12)
    half = state.to_camera(512, 512)
    np.testing.assert_allclose(half.K[:2], capture.K[:2] / 2)
    assert state.source == "cam3" and state.orbit(0.1, 0).source == ""
