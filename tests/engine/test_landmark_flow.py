"""engine.landmark_flow: the motion of a geometric edit read from dlib's landmarks on the decodes,
and flow_composite.motion using it where the landmarks reach."""

from __future__ import annotations

import numpy as np
import pytest

from engine import flow_composite as fc
from engine import landmark_flow as lf
from engine.data import align

skimage_data = pytest.importorskip("skimage.data")
pytestmark = pytest.mark.skipif(not align.dlib_available(), reason="needs dlib")

SHIFT = np.array([1.5, -1.0])  # (x, y) crop px the edited face moves by


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A real face at the model's framing (the astronaut, aligned to 64 px) and the same face moved by SHIFT."""
    crop = align.align_face(skimage_data.astronaut(), 64).crop.astype(np.float32)
    moved = fc.resample(crop, np.broadcast_to(-SHIFT, (64, 64, 2)).astype(np.float32))  # moved(u) = crop(u − SHIFT)
    return crop, moved


def test_the_landmark_flow_carries_a_moved_face(face):
    crop, moved = face
    flow, cover = lf.landmark_flow(crop, moved)
    near = cover > 0.9  # where the landmarks decide: eyes, brows, nose, mouth, jaw
    assert 300 < near.sum() < 64 * 64 * 0.8 and cover.min() >= 0.0 and cover.max() <= 1.0
    # the convention of flow_composite: moved(u) ≈ crop(u + F(u)), so F ≈ −SHIFT on the face
    assert np.allclose(np.median(flow[near], 0), -SHIFT, atol=0.35)
    err = lambda f: np.abs(fc.resample(crop, f) - moved)[near].mean()  # noqa: E731
    assert err(flow) < 0.5 * err(np.zeros_like(flow))


def test_no_move_and_no_face_give_no_landmark_flow(face):
    crop, _ = face
    assert lf.landmark_flow(crop, crop) is None  # the landmarks did not move: the optical flow alone
    noise = np.random.default_rng(0).uniform(0, 255, (64, 64, 3)).astype(np.float32)
    assert lf.landmark_flow(noise, noise[::-1].copy()) is None  # dlib finds no face


def test_motion_uses_the_landmarks_where_they_reach_and_the_optical_flow_elsewhere(face):
    crop, moved = face
    mask = np.ones((64, 64), np.float32)
    with_landmarks = fc.motion(crop, moved, mask)
    optical = fc.motion(crop, moved, mask, landmarks=False)
    _, cover = lf.landmark_flow(crop, moved)
    far = cover < 1e-6
    assert far.sum() > 100 and np.allclose(with_landmarks.flow[far], optical.flow[far], atol=1e-4)
    assert not np.array_equal(with_landmarks.flow, optical.flow)
    assert np.allclose(np.median(with_landmarks.flow[cover > 0.9], 0), -SHIFT, atol=0.35)
